"""The reward engine on a real database: orders go through growth's own services, and the events they
publish are handed to the reward handlers the way the outbox does."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.models import GiftPack, Shipment
from campaigns.gift_pack.rules import ShipmentStatus
from campaigns.reward import service as reward_service
from campaigns.reward.errors import (
    CouponNotFound,
    InvalidRewardRule,
    NoShareReward,
    NoWelcomeReward,
    RewardNotAwaitingAddress,
    RewardNotFound,
    WelcomeNotAllowed,
)
from campaigns.reward.models import Reward, RewardRule
from campaigns.reward.rules import OutOfStock, RewardType, RuleSpec, Side
from growth.app import build_subscriptions
from growth.attribution.service import Hints
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.events.service import DomainEvent, Subscriptions
from growth.core.ports import no_leads
from growth.customer.models import Customer
from growth.ledger import service as ledger_service
from growth.ledger.models import LedgerEntry, LedgerLine
from growth.order import service as order_service
from growth.order.models import Order
from growth.order.rules import OrderEventType
from growth.referral_code.models import ReferralCode
from growth.settings import Settings
from tests.factories import create_campaign, create_customer, issue_code

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
HOLD = 14
ADDRESS = {
    "name": "王小美",
    "line1": "南京西路 1266 号",
    "city": "上海",
    "postal_code": "200040",
    "country": "CN",
    "phone": "+86 138 0013 8000",
}
_seq = itertools.count(1)

# ------------------------------------------------------------------------------------------ helpers


class Outbox:
    """Hands every event published so far to the reward handlers, once each, as the outbox worker does."""

    def __init__(self, session: AsyncSession, subscriptions: Subscriptions) -> None:
        self.session, self.subscriptions = session, subscriptions
        self.delivered: list[DomainEvent] = []

    async def deliver(self) -> list[str]:
        rows = await self.session.scalars(
            select(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).order_by(OutboxEvent.id)
        )
        names = []
        for row in list(rows):
            row.processed_at = row.occurred_at
            event = DomainEvent(row.id, row.name, dict(row.payload), row.occurred_at)
            if (handler := self.subscriptions.handlers_for(row.name).get("campaigns.rewards")) is not None:
                await handler(self.session, event)
                self.delivered.append(event)
                names.append(row.name)
        await self.session.flush()
        return names

    async def replay(self) -> None:
        """Deliver every event handled so far once more (a redelivery after a crash)."""
        for event in self.delivered:
            await self.subscriptions.handlers_for(event.name)["campaigns.rewards"](self.session, event)
        await self.session.flush()


@pytest.fixture
def outbox(session: AsyncSession, settings: Settings) -> Outbox:
    return Outbox(session, build_subscriptions(settings=settings))


async def add_rule(
    session: AsyncSession, campaign: Campaign, side: str, reward_type: str, **kw: Any
) -> RewardRule:
    return await reward_service.add_rule(
        session, campaign.id, RuleSpec(Side(side), RewardType(reward_type), **kw)
    )


async def referral_campaign(session: AsyncSession, **fields: Any) -> Campaign:
    """A running referral campaign whose referrers earn 1000 of store credit per referred order."""
    fields.setdefault("hold_days", HOLD)
    campaign = await create_campaign(session, kind="referral", **fields)
    await add_rule(session, campaign, "referrer", "store_credit", amount=1000)
    return campaign


async def referrer(session: AsyncSession, campaign: Campaign) -> tuple[Customer, ReferralCode]:
    customer = await create_customer(session)
    return customer, await issue_code(session, campaign=campaign, customer=customer)


async def place(
    session: AsyncSession,
    outbox: Outbox,
    code: ReferralCode | None,
    *,
    friend: str | None = None,
    amount: int = 19900,
    coupon: str | None = None,
) -> Order:
    """A friend's order through ``code`` (or a coupon), taken in and attributed by growth."""
    intake = order_service.OrderIntake(
        external_id=f"o-{next(_seq)}",
        customer_external_id=friend or f"friend-{next(_seq)}",
        amount=amount,
        currency="CNY",
        placed_at=NOW,
        source="api",
        hints=Hints(referral_code=code.code if code else None, coupon_code=coupon),
    )
    ingested = await order_service.ingest_order(
        session, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=NOW
    )
    assert await outbox.deliver() == ["order.attributed"]
    return ingested.order


async def event(
    session: AsyncSession,
    outbox: Outbox,
    order: Order,
    *types: str,
    amount: int | None = None,
    at: datetime = NOW,
) -> None:
    for type_ in types:
        await order_service.apply_event(
            session,
            order,
            order_service.OrderEventIn(
                OrderEventType(type_), at, "api", amount, f"{order.external_id}-{type_}-{amount}"
            ),
            now=at,
        )
    await outbox.deliver()


async def close(session: AsyncSession, outbox: Outbox, order: Order) -> None:
    await event(session, outbox, order, "paid", "closed")


async def rewards(session: AsyncSession, campaign: Campaign, side: str | None = None) -> list[Reward]:
    query = select(Reward).where(Reward.campaign_id == campaign.id)
    if side is not None:
        query = query.where(Reward.side == side)
    return list(await session.scalars(query.order_by(Reward.created_at, Reward.id)))


async def one(session: AsyncSession, campaign: Campaign, side: str = "referrer") -> Reward:
    found = await rewards(session, campaign, side)
    assert len(found) == 1, found
    return found[0]


async def of_order(session: AsyncSession, order: Order) -> list[Reward]:
    return list(await session.scalars(select(Reward).where(Reward.order_id == order.id).order_by(Reward.id)))


async def spent(session: AsyncSession, campaign: Campaign) -> int:
    return await session.scalar(select(Campaign.budget_spent).where(Campaign.id == campaign.id)) or 0


async def pack_stock(session: AsyncSession, sku: str) -> tuple[int, int]:
    pack = await session.scalar(select(GiftPack).where(GiftPack.sku == sku))
    assert pack is not None
    await session.refresh(pack)
    return pack.stock_on_hand, pack.stock_reserved


async def credit_owed(session: AsyncSession, customer_id: UUID, bucket: str = "store_credit") -> int:
    return await ledger_service.liability(session, f"customer:{customer_id}:{bucket}", "CNY")


def status(reward: Reward) -> tuple[str, bool, str | None]:
    return reward.status, reward.is_granted, reward.reason


# ------------------------------------------------------------------------------- referred orders


class TestReferredOrder:
    async def test_pending_at_attribution_granted_at_close_approved_after_the_hold(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session)
        alice, code = await referrer(session, campaign)

        order = await place(session, outbox, code)

        reward = await one(session, campaign)
        assert status(reward) == ("pending", False, None)
        assert (reward.customer_id, reward.order_id, reward.referral_code_id) == (alice.id, order.id, code.id)
        assert reward.referee_customer_id == order.customer_id and reward.amount == 1000
        assert reward.approve_after is None
        assert await spent(session, campaign) == 0

        await close(session, outbox, order)

        assert status(reward) == ("pending", True, None)
        assert reward.order_closed_at == NOW and reward.approve_after == NOW + timedelta(days=HOLD)
        assert await spent(session, campaign) == 1000
        assert await credit_owed(session, alice.id) == 0

        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD, seconds=-1)) == 0
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD)) == 1

        assert reward.status == "issued" and reward.approved_at and reward.issued_at
        assert await credit_owed(session, alice.id) == 1000
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=60)) == 0

    async def test_referee_rule_that_is_not_a_coupon_rewards_the_friend_too(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session)
        await add_rule(session, campaign, "referee", "store_credit", amount=500)
        _, code = await referrer(session, campaign)

        order = await place(session, outbox, code)

        friend = await one(session, campaign, "referee")
        assert (friend.customer_id, friend.amount, friend.status) == (order.customer_id, 500, "pending")

    async def test_order_below_the_minimum_is_not_granted(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session, min_order_amount=10000)
        _, code = await referrer(session, campaign)

        order = await place(session, outbox, code, amount=9999)
        await close(session, outbox, order)

        reward = await one(session, campaign)
        assert status(reward) == (
            "not_granted",
            False,
            "not granted: order below the campaign's minimum amount",
        )
        assert await spent(session, campaign) == 0
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=60)) == 0

    async def test_order_of_exactly_the_minimum_earns(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await referral_campaign(session, min_order_amount=10000)
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code, amount=10000))

        assert status(await one(session, campaign)) == ("pending", True, None)

    async def test_only_the_referees_first_qualifying_order_earns(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session, min_order_amount=10000, new_customers_only=False)
        _, code = await referrer(session, campaign)

        small = await place(session, outbox, code, friend="bob", amount=5000)
        first = await place(session, outbox, code, friend="bob")
        second = await place(session, outbox, code, friend="bob")

        assert [r.status for r in await of_order(session, small)] == ["not_granted"]
        assert [r.status for r in await of_order(session, first)] == ["pending"]
        assert await of_order(session, second) == []

    async def test_replayed_events_change_nothing(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await referral_campaign(session)
        _, code = await referrer(session, campaign)
        order = await place(session, outbox, code)
        await close(session, outbox, order)

        await outbox.replay()

        reward = await one(session, campaign)
        assert status(reward) == ("pending", True, None) and reward.approve_after == NOW + timedelta(
            days=HOLD
        )
        assert await spent(session, campaign) == 1000

    async def test_per_referrer_cap(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await referral_campaign(session, per_referrer_cap=2)
        _, code = await referrer(session, campaign)
        _, other_code = await referrer(session, campaign)

        for _ in range(3):
            await close(session, outbox, await place(session, outbox, code))
        await close(session, outbox, await place(session, outbox, other_code))

        found = await rewards(session, campaign)
        assert [status(r) for r in found] == [
            ("pending", True, None),
            ("pending", True, None),
            ("not_granted", False, "not granted: referrer cap reached"),
            ("pending", True, None),  # the cap is per referrer
        ]
        assert await spent(session, campaign) == 3000

    async def test_a_voided_reward_frees_its_place_under_the_cap(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session, per_referrer_cap=1)
        _, code = await referrer(session, campaign)
        first = await place(session, outbox, code)
        await close(session, outbox, first)
        await event(session, outbox, first, "refunded")

        await close(session, outbox, await place(session, outbox, code))

        assert [r.status for r in await rewards(session, campaign)] == ["voided", "pending"]
        assert await spent(session, campaign) == 1000

    async def test_order_of_another_kind_of_campaign_earns_nothing(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session)
        _, code = await referrer(session, campaign)
        await campaign_service.update_campaign(session, campaign.id, kind="partner")

        await place(session, outbox, code)

        assert await rewards(session, campaign) == []


class TestMilestones:
    @pytest.fixture
    async def campaign(self, session: AsyncSession) -> Campaign:
        campaign = await referral_campaign(session)
        await add_rule(session, campaign, "milestone", "store_credit", amount=500, threshold=1)
        await add_rule(session, campaign, "milestone", "fixed_discount", amount=3000, threshold=3)
        return campaign

    async def test_each_tier_is_granted_once_when_reached(
        self, session: AsyncSession, outbox: Outbox, campaign: Campaign
    ) -> None:
        alice, code = await referrer(session, campaign)
        orders = [await place(session, outbox, code) for _ in range(4)]
        reached = []

        for order in orders:
            await close(session, outbox, order)
            reached.append([r.amount for r in await rewards(session, campaign, "milestone")])

        assert reached == [[500], [500], [500, 3000], [500, 3000]]
        first, third = await rewards(session, campaign, "milestone")
        assert (first.order_id, third.order_id) == (orders[0].id, orders[2].id)
        assert {first.customer_id, third.customer_id} == {alice.id}
        assert status(first) == status(third) == ("pending", True, None)
        assert third.approve_after == NOW + timedelta(days=HOLD)
        assert await spent(session, campaign) == 4 * 1000 + 500 + 3000

        await outbox.replay()
        assert len(await rewards(session, campaign, "milestone")) == 2

    async def test_milestones_are_approved_with_the_referral_that_crossed_them(
        self, session: AsyncSession, outbox: Outbox, campaign: Campaign
    ) -> None:
        _, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))

        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD)) == 2

        assert {(r.side, r.status) for r in await rewards(session, campaign)} == {
            ("referrer", "issued"),
            ("milestone", "issued"),
        }

    async def test_voiding_the_crossing_order_voids_its_milestone(
        self, session: AsyncSession, outbox: Outbox, campaign: Campaign
    ) -> None:
        _, code = await referrer(session, campaign)
        orders = [await place(session, outbox, code) for _ in range(3)]
        for order in orders:
            await close(session, outbox, order)

        await event(session, outbox, orders[2], "refunded")

        first, third = await rewards(session, campaign, "milestone")
        assert status(first) == ("pending", True, None)
        assert (third.status, third.reason) == ("voided", "order refunded")
        assert [r.status for r in await of_order(session, orders[2])] == ["voided", "voided"]
        assert await spent(session, campaign) == 2 * 1000 + 500

        # A new third successful referral reaches the tier again.
        await close(session, outbox, await place(session, outbox, code))
        tiers = [(r.amount, r.status) for r in await rewards(session, campaign, "milestone")]
        assert tiers == [(500, "pending"), (3000, "voided"), (3000, "pending")]


# ---------------------------------------------------------------------------------------- gift packs


async def pack(session: AsyncSession, sku: str, *, stock: int, value: int = 3500) -> GiftPack:
    return await gift_pack_service.create_pack(
        session, sku=sku, name=f"Pack {sku}", value_amount=value, currency="CNY", stock_on_hand=stock
    )


async def pack_campaign(session: AsyncSession, out_of_stock: OutOfStock, **rule: Any) -> Campaign:
    campaign = await create_campaign(session, kind="referral", hold_days=HOLD, **rule.pop("campaign", {}))
    await add_rule(
        session, campaign, "referrer", "gift_pack", sku="TEA-01", out_of_stock=out_of_stock, **rule
    )
    return campaign


class TestGiftPackRewards:
    async def test_in_stock_pack_is_reserved_at_close(self, session: AsyncSession, outbox: Outbox) -> None:
        await pack(session, "TEA-01", stock=2)
        campaign = await pack_campaign(session, OutOfStock.none)
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        reward = await one(session, campaign)
        assert status(reward) == ("pending", True, None)
        assert (reward.sku, reward.amount, reward.is_stock_reserved) == ("TEA-01", 3500, True)
        assert await pack_stock(session, "TEA-01") == (2, 1)
        assert await spent(session, campaign) == 3500

    async def test_wait_keeps_it_pending_until_the_restock(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        await pack(session, "TEA-01", stock=0)
        campaign = await pack_campaign(session, OutOfStock.wait)
        _, code = await referrer(session, campaign)
        first, second = await place(session, outbox, code), await place(session, outbox, code)
        await close(session, outbox, first)
        await close(session, outbox, second)

        waiting = await rewards(session, campaign)
        assert [status(r) for r in waiting] == [
            ("pending", False, "waiting for restock of gift pack TEA-01")
        ] * 2
        assert all(r.is_waiting_for_stock for r in waiting)
        assert await spent(session, campaign) == 0
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD)) == 0

        await gift_pack_service.restock(session, "TEA-01", quantity=1, now=NOW)
        assert await outbox.deliver() == ["gift_pack.restocked"]

        granted, still = waiting
        assert status(granted) == ("pending", True, None) and granted.is_stock_reserved
        assert not granted.is_waiting_for_stock
        assert status(still) == ("pending", False, "waiting for restock of gift pack TEA-01")
        assert still.is_waiting_for_stock
        assert await pack_stock(session, "TEA-01") == (1, 1)
        assert await spent(session, campaign) == 3500
        # The hold started at the close: the reward is due as any other.
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD)) == 1
        assert granted.status == "approved"  # a pack waits for the address

    async def test_restock_event_built_by_hand_grants_too(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        await pack(session, "TEA-01", stock=0)
        campaign = await pack_campaign(session, OutOfStock.wait)
        _, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))
        await gift_pack_service.set_stock(session, "TEA-01", stock_on_hand=1, now=NOW)

        await reward_service.on_gift_pack_restocked(
            session, DomainEvent(uuid4(), "gift_pack.restocked", {"sku": "TEA-01"}, NOW)
        )

        assert status(await one(session, campaign)) == ("pending", True, None)

    async def test_store_credit_instead(self, session: AsyncSession, outbox: Outbox) -> None:
        await pack(session, "TEA-01", stock=0)
        campaign = await pack_campaign(session, OutOfStock.store_credit, alternative_amount=800)
        alice, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        reward = await one(session, campaign)
        assert status(reward) == ("pending", True, "gift pack TEA-01 out of stock: store credit instead")
        assert (reward.reward_type, reward.sku, reward.amount) == ("store_credit", None, 800)
        assert await spent(session, campaign) == 800
        await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD))
        assert reward.status == "issued" and await credit_owed(session, alice.id) == 800

    async def test_alternative_pack_instead(self, session: AsyncSession, outbox: Outbox) -> None:
        await pack(session, "TEA-01", stock=0)
        await pack(session, "TEA-02", stock=1, value=2000)
        campaign = await pack_campaign(session, OutOfStock.gift_pack, alternative_sku="TEA-02")
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        reward = await one(session, campaign)
        assert status(reward) == ("pending", True, "gift pack TEA-01 out of stock: TEA-02 instead")
        assert (reward.reward_type, reward.sku, reward.amount) == ("gift_pack", "TEA-02", 2000)
        assert await pack_stock(session, "TEA-02") == (1, 1)
        assert await spent(session, campaign) == 2000

    async def test_alternative_pack_out_of_stock_too_is_not_granted(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        await pack(session, "TEA-01", stock=0)
        await pack(session, "TEA-02", stock=0)
        campaign = await pack_campaign(session, OutOfStock.gift_pack, alternative_sku="TEA-02")
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        assert status(await one(session, campaign)) == (
            "not_granted",
            False,
            "not granted: gift pack TEA-01 out of stock",
        )

    async def test_none_is_not_granted(self, session: AsyncSession, outbox: Outbox) -> None:
        await pack(session, "TEA-01", stock=0)
        campaign = await pack_campaign(session, OutOfStock.none)
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        reward = await one(session, campaign)
        assert status(reward) == ("not_granted", False, "not granted: gift pack TEA-01 out of stock")
        assert not reward.is_waiting_for_stock
        assert await spent(session, campaign) == 0

    async def test_pack_over_budget_is_not_reserved(self, session: AsyncSession, outbox: Outbox) -> None:
        await pack(session, "TEA-01", stock=5)
        campaign = await pack_campaign(session, OutOfStock.none, campaign={"budget_amount": 3000})
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        assert status(await one(session, campaign)) == ("not_granted", False, "not granted: budget exhausted")
        assert await pack_stock(session, "TEA-01") == (5, 0)
        assert await spent(session, campaign) == 0

    async def test_alternative_pack_over_budget_gives_its_reservation_back(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        await pack(session, "TEA-01", stock=0, value=1000)
        await pack(session, "TEA-02", stock=3, value=5000)
        campaign = await pack_campaign(
            session, OutOfStock.gift_pack, alternative_sku="TEA-02", campaign={"budget_amount": 3000}
        )
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        assert status(await one(session, campaign)) == ("not_granted", False, "not granted: budget exhausted")
        assert await pack_stock(session, "TEA-02") == (3, 0)
        assert await spent(session, campaign) == 0

    async def test_refund_before_shipping_releases_the_pack(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        await pack(session, "TEA-01", stock=1)
        campaign = await pack_campaign(session, OutOfStock.none)
        _, code = await referrer(session, campaign)
        order = await place(session, outbox, code)
        await close(session, outbox, order)

        await event(session, outbox, order, "refunded")

        reward = await one(session, campaign)
        assert (reward.status, reward.is_stock_reserved) == ("voided", False)
        assert await pack_stock(session, "TEA-01") == (1, 0)
        assert await spent(session, campaign) == 0


# -------------------------------------------------------------------------------- budget and disputes


class TestBudget:
    async def test_never_exceeded(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await referral_campaign(session, budget_amount=2500)
        _, code = await referrer(session, campaign)

        orders = [await place(session, outbox, code) for _ in range(3)]
        for order in orders:
            await close(session, outbox, order)

        assert [status(r) for r in await rewards(session, campaign)] == [
            ("pending", True, None),
            ("pending", True, None),
            ("not_granted", False, "not granted: budget exhausted"),
        ]
        assert await spent(session, campaign) == 2000

        await event(session, outbox, orders[0], "refunded")
        assert await spent(session, campaign) == 1000

    async def test_exact_fit_is_granted(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await referral_campaign(session, budget_amount=2000)
        _, code = await referrer(session, campaign)

        for _ in range(2):
            await close(session, outbox, await place(session, outbox, code))

        assert [r.is_granted for r in await rewards(session, campaign)] == [True, True]
        assert await spent(session, campaign) == 2000


class TestOrderEvents:
    @pytest.fixture
    async def closed(self, session: AsyncSession, outbox: Outbox) -> tuple[Campaign, Order]:
        campaign = await referral_campaign(session, min_order_amount=10000)
        _, code = await referrer(session, campaign)
        order = await place(session, outbox, code)
        await close(session, outbox, order)
        return campaign, order

    async def test_disputed_order_waits_for_the_dispute(
        self, session: AsyncSession, outbox: Outbox, closed: tuple[Campaign, Order]
    ) -> None:
        campaign, order = closed
        later = NOW + timedelta(days=HOLD + 1)

        await event(session, outbox, order, "disputed")
        assert (await one(session, campaign)).is_order_disputed
        assert await reward_service.approve_due(session, now=later) == 0

        await event(session, outbox, order, "dispute_won")
        assert await reward_service.approve_due(session, now=later) == 1
        assert (await one(session, campaign)).status == "issued"

    async def test_dispute_lost_voids(
        self, session: AsyncSession, outbox: Outbox, closed: tuple[Campaign, Order]
    ) -> None:
        campaign, order = closed

        await event(session, outbox, order, "disputed")
        await event(session, outbox, order, "dispute_lost")

        assert status(await one(session, campaign)) == ("voided", True, "order refunded")
        assert await spent(session, campaign) == 0
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=60)) == 0

    async def test_partly_lost_dispute_that_keeps_the_minimum_is_approved(
        self, session: AsyncSession, outbox: Outbox, closed: tuple[Campaign, Order]
    ) -> None:
        campaign, order = closed

        await event(session, outbox, order, "disputed")
        await event(session, outbox, order, "dispute_lost", amount=1000)

        assert (await one(session, campaign)).status == "pending"
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD)) == 1

    @pytest.mark.parametrize(
        ("refund", "expected"),
        [
            (9900, ("pending", True, None)),  # 10000 kept: the minimum
            (9901, ("voided", True, "order partly refunded below the campaign's minimum amount")),
            (None, ("voided", True, "order refunded")),
        ],
    )
    async def test_refunds(
        self,
        session: AsyncSession,
        outbox: Outbox,
        closed: tuple[Campaign, Order],
        refund: int | None,
        expected: tuple[str, bool, str | None],
    ) -> None:
        campaign, order = closed

        await event(session, outbox, order, "refunded", amount=refund)

        assert status(await one(session, campaign)) == expected
        assert await spent(session, campaign) == (1000 if expected[0] == "pending" else 0)

    async def test_cancelled_before_payment_voids_the_pending_reward(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session)
        _, code = await referrer(session, campaign)
        order = await place(session, outbox, code)

        await event(session, outbox, order, "cancelled")

        assert status(await one(session, campaign)) == ("voided", False, "order cancelled")
        assert await spent(session, campaign) == 0


# ---------------------------------------------------------------------------------------- the ledger


class TestLedger:
    @pytest.mark.parametrize(
        ("reward_type", "bucket"), [("store_credit", "store_credit"), ("cash", "cash_payable")]
    )
    async def test_issue_posts_a_balanced_entry_and_voiding_reverses_it(
        self, session: AsyncSession, outbox: Outbox, reward_type: str, bucket: str
    ) -> None:
        campaign = await create_campaign(session, kind="referral", hold_days=0)
        await add_rule(session, campaign, "referrer", reward_type, amount=2000)
        alice, code = await referrer(session, campaign)
        order = await place(session, outbox, code)

        await close(session, outbox, order)

        reward = await one(session, campaign)
        assert reward.status == "issued"  # no hold: approved and issued at the close
        issued = await session.scalar(
            select(LedgerEntry).where(LedgerEntry.reference == f"reward:{reward.id}:issued")
        )
        assert (
            issued is not None and issued.kind == f"reward_{'credit' if bucket == 'store_credit' else 'cash'}"
        )
        lines = await session.scalars(select(LedgerLine).where(LedgerLine.entry_id == issued.id))
        assert sorted((x.account, x.amount, x.currency) for x in lines) == [
            (f"campaign:{campaign.id}:reward_expense", 2000, "CNY"),
            (f"customer:{alice.id}:{bucket}", -2000, "CNY"),
        ]
        assert await credit_owed(session, alice.id, bucket) == 2000
        assert await ledger_service.unbalanced_entries(session) == []

        await event(session, outbox, order, "refunded")

        assert (reward.status, reward.reason) == ("voided", "order refunded")
        reversal = await session.scalar(
            select(LedgerEntry).where(LedgerEntry.reference == f"reward:{reward.id}:voided")
        )
        assert (
            reversal is not None and reversal.reverses_id == issued.id and reversal.memo == "order refunded"
        )
        assert await credit_owed(session, alice.id, bucket) == 0
        assert await ledger_service.balances(session, f"campaign:{campaign.id}:") == [
            (f"campaign:{campaign.id}:reward_expense", "CNY", 0)
        ]
        assert await ledger_service.unbalanced_entries(session) == []
        assert await spent(session, campaign) == 0

        await outbox.replay()
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 2

    async def test_coupon_rewards_post_nothing(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await create_campaign(session, kind="referral", hold_days=0)
        await add_rule(session, campaign, "referrer", "fixed_discount", amount=2000)
        _, code = await referrer(session, campaign)

        await close(session, outbox, await place(session, outbox, code))

        reward = await one(session, campaign)
        assert reward.status == "issued" and reward.coupon_code and len(reward.coupon_code) == 10
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


# ------------------------------------------------------------------------------------- share rewards


@pytest.fixture
async def share_campaign(session: AsyncSession) -> Campaign:
    await pack(session, "SAMPLE-01", stock=5, value=1200)
    campaign = await create_campaign(session, kind="social_share", hold_days=HOLD)
    await add_rule(session, campaign, "share", "free_sample", sku="SAMPLE-01")
    return campaign


async def grant_share(
    session: AsyncSession, campaign: Campaign, customer: Customer, submission: UUID
) -> Reward:
    return await reward_service.grant_share_reward(
        session, campaign_id=campaign.id, customer_id=customer.id, submission_id=submission, now=NOW
    )


class TestShareReward:
    async def test_granted_and_approved_at_once_awaiting_the_address(
        self, session: AsyncSession, share_campaign: Campaign
    ) -> None:
        mei, submission = await create_customer(session), uuid4()

        reward = await grant_share(session, share_campaign, mei, submission)

        assert status(reward) == ("approved", True, None)
        assert (reward.side, reward.sku, reward.amount, reward.order_id) == ("share", "SAMPLE-01", 1200, None)
        assert reward.share_submission_id == submission and reward.is_stock_reserved
        assert reward.approved_at == NOW and reward.issued_at is None
        assert await pack_stock(session, "SAMPLE-01") == (5, 1)
        assert await spent(session, share_campaign) == 1200
        again = await grant_share(session, share_campaign, mei, submission)
        assert again.id == reward.id and await spent(session, share_campaign) == 1200

    async def test_campaign_without_a_share_rule(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session, kind="social_share")

        with pytest.raises(NoShareReward):
            await grant_share(session, campaign, await create_customer(session), uuid4())

    async def test_confirm_address_requests_the_shipment_once(
        self, session: AsyncSession, share_campaign: Campaign
    ) -> None:
        mei = await create_customer(session)
        reward = await grant_share(session, share_campaign, mei, uuid4())

        confirmed = await reward_service.confirm_address(
            session, reward_id=reward.id, customer_id=mei.id, address=ADDRESS, now=NOW
        )
        again = await reward_service.confirm_address(
            session, reward_id=reward.id, customer_id=mei.id, address=ADDRESS, now=NOW + timedelta(hours=1)
        )

        assert confirmed.id == again.id == reward.id
        assert (reward.status, reward.issued_at) == ("issued", NOW)
        shipments = list(await session.scalars(select(Shipment).where(Shipment.reward_id == reward.id)))
        assert [(s.sku, s.status) for s in shipments] == [("SAMPLE-01", "requested")]
        requested = await session.scalar(
            select(func.count()).where(OutboxEvent.name == gift_pack_service.SHIPMENT_REQUESTED)
        )
        assert requested == 1

    async def test_confirm_address_of_someone_elses_reward_is_not_found(
        self, session: AsyncSession, share_campaign: Campaign
    ) -> None:
        mei, other = await create_customer(session), await create_customer(session)
        reward = await grant_share(session, share_campaign, mei, uuid4())

        with pytest.raises(RewardNotFound) as raised:
            await reward_service.confirm_address(
                session, reward_id=reward.id, customer_id=other.id, address=ADDRESS, now=NOW
            )

        assert raised.value.status_code == 404
        assert reward.status == "approved"
        assert await session.scalar(select(func.count()).select_from(Shipment)) == 0

    async def test_confirm_address_of_a_reward_that_does_not_ship(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session, hold_days=0)
        alice, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))

        with pytest.raises(RewardNotAwaitingAddress):
            await reward_service.confirm_address(
                session,
                reward_id=(await one(session, campaign)).id,
                customer_id=alice.id,
                address=ADDRESS,
                now=NOW,
            )

    async def test_delivered_shipment_fulfils_the_reward(
        self, session: AsyncSession, outbox: Outbox, share_campaign: Campaign
    ) -> None:
        mei = await create_customer(session)
        reward = await grant_share(session, share_campaign, mei, uuid4())
        await reward_service.confirm_address(
            session, reward_id=reward.id, customer_id=mei.id, address=ADDRESS, now=NOW
        )
        shipment = await session.scalar(select(Shipment).where(Shipment.reward_id == reward.id))
        assert shipment is not None

        await gift_pack_service.update_shipment(
            session, shipment.id, status=ShipmentStatus.shipped, tracking_number="SF123", now=NOW
        )
        await outbox.deliver()
        assert (reward.status, reward.is_stock_reserved) == ("issued", False)
        assert await pack_stock(session, "SAMPLE-01") == (4, 0)

        later = NOW + timedelta(days=2)
        await gift_pack_service.update_shipment(
            session, shipment.id, status=ShipmentStatus.delivered, now=later
        )
        assert await outbox.deliver() == ["gift_pack.shipment_delivered"]

        assert (reward.status, reward.fulfilled_at) == ("fulfilled", later)

    async def test_out_of_stock_share_reward_waits_and_is_approved_on_restock(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        await pack(session, "SAMPLE-02", stock=0, value=1200)
        campaign = await create_campaign(session, kind="social_share")
        await add_rule(session, campaign, "share", "free_sample", sku="SAMPLE-02")
        reward = await grant_share(session, campaign, await create_customer(session), uuid4())
        assert (reward.status, reward.is_waiting_for_stock) == ("pending", True)

        await gift_pack_service.restock(session, "SAMPLE-02", quantity=3, now=NOW)
        await outbox.deliver()

        assert status(reward) == ("approved", True, None)


# ----------------------------------------------------------------------------------- welcome coupons


class TestClaimWelcome:
    @pytest.fixture
    async def welcome(self, session: AsyncSession) -> tuple[Campaign, Customer, ReferralCode]:
        campaign = await referral_campaign(session)
        await add_rule(session, campaign, "referee", "fixed_discount", amount=1500)
        alice, code = await referrer(session, campaign)
        return campaign, alice, code

    async def claim(
        self, session: AsyncSession, code: ReferralCode, customer: str, email: str | None = None
    ) -> Reward:
        return await reward_service.claim_welcome(
            session, code=code.code, customer_external_id=customer, email=email, now=NOW
        )

    async def test_issued_once_and_returned_again(
        self, session: AsyncSession, welcome: tuple[Campaign, Customer, ReferralCode]
    ) -> None:
        campaign, _, code = welcome

        coupon = await self.claim(session, code, "bob", "bob@example.com")
        again = await self.claim(session, code, "bob")

        assert again.id == coupon.id and again.coupon_code == coupon.coupon_code
        assert coupon.coupon_code is not None and coupon.coupon_code.startswith(f"{code.code.upper()}-")
        assert (coupon.status, coupon.is_granted, coupon.amount, coupon.order_id) == (
            "issued",
            True,
            1500,
            None,
        )
        assert await spent(session, campaign) == 1500
        assert (await reward_service.get_coupon(session, f" {coupon.coupon_code.lower()} ")).id == coupon.id

    async def test_own_code_is_refused(
        self, session: AsyncSession, welcome: tuple[Campaign, Customer, ReferralCode]
    ) -> None:
        campaign, alice, code = welcome

        with pytest.raises(WelcomeNotAllowed, match="own code"):
            await self.claim(session, code, alice.external_id)
        with pytest.raises(WelcomeNotAllowed, match="own code"):
            await self.claim(session, code, "alice-second-account", alice.email)

        assert await rewards(session, campaign, "referee") == []

    async def test_customer_who_paid_before_is_refused(
        self, session: AsyncSession, outbox: Outbox, welcome: tuple[Campaign, Customer, ReferralCode]
    ) -> None:
        campaign, _, code = welcome
        order = await place(session, outbox, None, friend="bob")
        await event(session, outbox, order, "paid")

        with pytest.raises(WelcomeNotAllowed, match="new customers"):
            await self.claim(session, code, "bob")

        await campaign_service.update_campaign(session, campaign.id, new_customers_only=False)
        assert (await self.claim(session, code, "bob")).status == "issued"

    async def test_budget_exhausted_is_refused(self, session: AsyncSession) -> None:
        campaign = await referral_campaign(session, budget_amount=2000)
        await add_rule(session, campaign, "referee", "fixed_discount", amount=1500)
        _, code = await referrer(session, campaign)
        await self.claim(session, code, "bob")

        with pytest.raises(WelcomeNotAllowed, match="budget exhausted"):
            await self.claim(session, code, "carol")

        assert await spent(session, campaign) == 1500

    async def test_campaign_without_a_welcome_coupon(self, session: AsyncSession) -> None:
        campaign = await referral_campaign(session)
        _, code = await referrer(session, campaign)

        with pytest.raises(NoWelcomeReward):
            await self.claim(session, code, "bob")

    async def test_unknown_coupon(self, session: AsyncSession) -> None:
        with pytest.raises(CouponNotFound):
            await reward_service.get_coupon(session, "NOPE-123456")

    async def test_used_by_its_holder_it_is_tied_to_the_order_and_fulfilled_after_the_hold(
        self, session: AsyncSession, outbox: Outbox, welcome: tuple[Campaign, Customer, ReferralCode]
    ) -> None:
        campaign, _, code = welcome
        coupon = await self.claim(session, code, "bob")

        order = await place(session, outbox, None, friend="bob", coupon=coupon.coupon_code)
        await close(session, outbox, order)

        assert (coupon.order_id, coupon.status) == (order.id, "issued")
        assert (await one(session, campaign)).order_id == order.id  # the referrer earns through the coupon
        assert await reward_service.approve_due(session, now=NOW + timedelta(days=HOLD)) == 2
        assert coupon.status == "fulfilled"

    async def test_used_by_someone_else_it_is_not_tied(
        self, session: AsyncSession, outbox: Outbox, welcome: tuple[Campaign, Customer, ReferralCode]
    ) -> None:
        campaign, _, code = welcome
        coupon = await self.claim(session, code, "bob")

        order = await place(session, outbox, None, friend="carol", coupon=coupon.coupon_code)

        assert (coupon.order_id, coupon.status) == (None, "issued")
        assert (await one(session, campaign)).order_id == order.id

    async def test_percent_coupon_counts_what_it_really_took_off(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign = await create_campaign(session, kind="referral", hold_days=HOLD)
        await add_rule(session, campaign, "referee", "percent_discount", rate_bps=1250, max_amount=3000)
        _, code = await referrer(session, campaign)
        coupon = await self.claim(session, code, "bob")
        assert (coupon.amount, await spent(session, campaign)) == (3000, 3000)

        await place(session, outbox, None, friend="bob", amount=12340, coupon=coupon.coupon_code)

        assert (coupon.amount, await spent(session, campaign)) == (1543, 1543)  # 1542.5 rounded half up


class TestRules:
    async def test_rule_must_suit_the_campaign(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session, kind="referral")

        with pytest.raises(InvalidRewardRule, match="share rewards belong"):
            await add_rule(session, campaign, "share", "free_sample", sku="TEA-01")

    async def test_pack_in_another_currency_is_refused(self, session: AsyncSession) -> None:
        await gift_pack_service.create_pack(session, sku="USD-01", name="x", value_amount=100, currency="USD")
        campaign = await create_campaign(session, kind="referral")

        with pytest.raises(InvalidRewardRule, match="valued in USD"):
            await add_rule(session, campaign, "referrer", "gift_pack", sku="USD-01")

    async def test_one_milestone_per_threshold(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session, kind="referral")
        await add_rule(session, campaign, "milestone", "store_credit", amount=500, threshold=3)

        with pytest.raises(InvalidRewardRule, match="already has a milestone at 3"):
            await add_rule(session, campaign, "milestone", "cash", amount=500, threshold=3)

    async def test_retired_rule_grants_nothing_new(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign = await referral_campaign(session)
        _, code = await referrer(session, campaign)
        await place(session, outbox, code)
        (rule,) = await reward_service.list_rules(session, campaign.id)

        await reward_service.retire_rule(session, campaign.id, rule.id)
        await place(session, outbox, code)

        assert len(await rewards(session, campaign)) == 1


# -------------------------------------------------------------------------------------- concurrency


async def _retrying(session_maker: SessionMaker, event: DomainEvent, attempts: list[int]) -> None:
    """Run the close handler in its own transaction; a lock failure is retried, as the outbox would."""
    for attempt in range(10):
        try:
            async with session_maker() as s, s.begin():
                await reward_service.on_order_event(s, event)
            attempts.append(attempt)
            return
        except DBAPIError:
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("the close handler kept failing")


class TestConcurrentCloses:
    async def test_twenty_closes_at_once_grant_exactly_the_budget(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker, outbox: Outbox
    ) -> None:
        campaign = await referral_campaign(session, budget_amount=5000)
        orders = []
        for _ in range(20):
            _, code = await referrer(session, campaign)
            orders.append(await place(session, outbox, code))
        for order in orders:
            await order_service.apply_event(
                session, order, order_service.OrderEventIn(OrderEventType.paid, NOW, "api"), now=NOW
            )
            await order_service.apply_event(
                session, order, order_service.OrderEventIn(OrderEventType.closed, NOW, "api"), now=NOW
            )
        closes = [
            DomainEvent(row.id, row.name, dict(row.payload), row.occurred_at)
            for row in await session.scalars(select(OutboxEvent).where(OutboxEvent.name == "order.closed"))
        ]
        await session.commit()
        assert len(closes) == 20
        attempts: list[int] = []

        await asyncio.gather(*[_retrying(session_maker, e, attempts) for e in closes])

        async with session_maker() as s:
            found = list(await s.scalars(select(Reward).where(Reward.campaign_id == campaign.id)))
            budget_spent = await s.scalar(select(Campaign.budget_spent).where(Campaign.id == campaign.id))
        assert len(found) == 20 and len(attempts) == 20
        assert sum(r.is_granted for r in found) == 5
        assert sorted(r.status for r in found) == ["not_granted"] * 15 + ["pending"] * 5
        assert {r.reason for r in found if not r.is_granted} == {"not granted: budget exhausted"}
        assert budget_spent == 5000


class TestWelcomeConcurrency:
    async def test_ten_claims_at_once_issue_one_coupon_and_charge_the_budget_once(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        # Claims of one customer serialise on the customer's and the campaign's row locks.
        campaign = await create_campaign(session, kind="referral", budget_amount=100_000)
        await add_rule(session, campaign, "referee", "fixed_discount", amount=1500)
        _, code = await referrer(session, campaign)
        await session.commit()

        async def claim() -> str:
            async with session_maker() as s, s.begin():
                reward = await reward_service.claim_welcome(
                    s, code=code.code, customer_external_id="same-friend", email=None, now=NOW
                )
                return reward.coupon_code or ""

        coupons = await asyncio.gather(*[claim() for _ in range(10)])

        assert len(set(coupons)) == 1
        async with session_maker() as s:
            rewards = list(await s.scalars(select(Reward).where(Reward.campaign_id == campaign.id)))
            spent = await s.scalar(select(Campaign.budget_spent).where(Campaign.id == campaign.id))
        assert len(rewards) == 1 and spent == 1500

"""Commissions obey the risk firewall's review of the order: a held order's commission stays pending
whatever its hold says, a person's approval lets it go on, and a rejection (by the rules, at
attribution or on a later re-score) or a decline reverses it to 0 with the reason, clawing back what
was already approved. Orders go through growth's own services; the events reach the commission
handlers the way the outbox hands them over, in order, late, or twice, and the ledger balances."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from growth.app import build_subscriptions
from growth.attribution.service import Hints
from growth.core.audit_port import Actor
from growth.core.events.models import OutboxEvent
from growth.core.events.service import DomainEvent, Subscriptions
from growth.core.ports import no_leads
from growth.ledger import service as ledger_service
from growth.ledger.models import LedgerEntry
from growth.order import service as order_service
from growth.order.models import Order
from growth.order.rules import OrderEventType
from growth.risk import service as risk_service
from growth.risk.rules import Thresholds
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.commission.controllers import commission_read
from payouts.commission.models import Commission
from payouts.commission.rules import PlanKind, PlanSpec
from payouts.partner import service as partner_service
from tests.factories import create_campaign, create_partner

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
FAR = NOW + timedelta(days=400)
"""Past any hold: the plan's and the partner's credit tier's."""
AMOUNT, COMMISSION = 19900, 1990  # 10%
REVIEWER = Actor.cli("mei.marketing")
SUBSCRIBER = "payouts.commissions"
_seq = itertools.count(1)


class Outbox:
    """Hands the events published so far to the commission handlers, once each, as the outbox worker does."""

    def __init__(self, session: AsyncSession, subscriptions: Subscriptions) -> None:
        self.session, self.subscriptions = session, subscriptions
        self.delivered: list[DomainEvent] = []

    async def deliver(self, name: str | None = None) -> list[str]:
        """Every pending event (or only those called ``name``: the others wait, handled late)."""
        query = select(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).order_by(OutboxEvent.id)
        if name is not None:
            query = query.where(OutboxEvent.name == name)
        names = []
        for row in list(await self.session.scalars(query)):
            row.processed_at = row.occurred_at
            event = DomainEvent(row.id, row.name, dict(row.payload), row.occurred_at)
            if (handler := self.subscriptions.handlers_for(row.name).get(SUBSCRIBER)) is not None:
                await handler(self.session, event)
                self.delivered.append(event)
                names.append(row.name)
        await self.session.flush()
        return names

    async def replay(self) -> None:
        """Deliver every event handled so far once more (a redelivery after a crash)."""
        for event in self.delivered:
            await self.subscriptions.handlers_for(event.name)[SUBSCRIBER](self.session, event)
        await self.session.flush()


@pytest.fixture
def outbox(session: AsyncSession, settings: Settings) -> Outbox:
    return Outbox(session, build_subscriptions(settings=settings))


@dataclass
class Partner:
    id: UUID
    code: str


@pytest.fixture
async def partner(session: AsyncSession) -> Partner:
    """A partner on a 10% plan with a 30-day hold, with a code of a partner campaign."""
    campaign = await create_campaign(session, kind="partner", currency="CNY", hashtag=None)
    spec = PlanSpec(kind=PlanKind.percent, currency="CNY", rate_bps=1000, hold_days=30)
    plan = await commission_service.create_plan(session, name="Standard", spec=spec)
    created = await create_partner(session)
    issued = await partner_service.issue_partner_code(
        session, partner_id=created.id, campaign_id=campaign.id, terms_lookup=campaign_service.get_terms
    )
    await commission_service.assign_plan(
        session, partner_id=created.id, plan_id=plan.id, now=NOW - timedelta(days=1)
    )
    return Partner(created.id, issued.referral_code.code)


def policy(**overrides: object) -> risk_service.RiskPolicy:
    return risk_service.RiskPolicy(program=Thresholds.from_overrides(overrides))


async def place(
    session: AsyncSession,
    outbox: Outbox,
    partner: Partner,
    *,
    email: str | None = None,
    risk_policy: risk_service.RiskPolicy | None = None,
    deliver: bool = True,
) -> Order:
    n = next(_seq)
    intake = order_service.OrderIntake(
        external_id=f"o-{n}",
        customer_external_id=f"client-{n}",
        customer_email=email or f"client{n}@client.example",
        amount=AMOUNT,
        currency="CNY",
        placed_at=NOW,
        source="api",
        hints=Hints(referral_code=partner.code),
    )
    ingested = await order_service.ingest_order(
        session,
        intake,
        terms_lookup=campaign_service.get_terms,
        lead_lookup=no_leads,
        risk_policy=risk_policy,
        now=NOW,
    )
    assert ingested.attribution is not None and ingested.attribution.partner_id == partner.id
    if deliver:
        assert await outbox.deliver() == ["order.attributed"]
    return ingested.order


async def held_order(session: AsyncSession, outbox: Outbox, partner: Partner, **kw: object) -> Order:
    order = await place(session, outbox, partner, email=f"client{next(_seq)}@mailinator.com", **kw)  # type: ignore[arg-type]
    assert await review_status(session, order) == "held"
    return order


async def review_status(session: AsyncSession, order: Order) -> str | None:
    review = await risk_service.get_review(session, order.id)
    return review.status if review else None


async def events(
    session: AsyncSession, outbox: Outbox | None, order: Order, *types: str, at: datetime = NOW
) -> None:
    for type_ in types:
        await order_service.apply_event(
            session,
            order,
            order_service.OrderEventIn(
                OrderEventType(type_), at, "api", None, f"{order.external_id}-{type_}"
            ),
            now=at,
        )
    if outbox is not None:
        await outbox.deliver()


async def close(session: AsyncSession, outbox: Outbox | None, order: Order) -> None:
    await events(session, outbox, order, "paid", "closed")


async def decide(
    session: AsyncSession,
    outbox: Outbox | None,
    order: Order,
    *,
    approve: bool,
    note: str | None = None,
    at: datetime,
) -> None:
    """A person's decision in the review queue; delivered at once unless ``outbox`` is None."""
    await risk_service.decide(session, order_id=order.id, approve=approve, note=note, actor=REVIEWER, now=at)
    if outbox is not None:
        assert await outbox.deliver() == ["order.review_decided"]


async def commission_of(session: AsyncSession, order: Order) -> Commission:
    found = list(await session.scalars(select(Commission).where(Commission.order_id == order.id)))
    assert len(found) == 1, found
    await session.refresh(found[0])
    return found[0]


async def balances(session: AsyncSession, partner: Partner) -> dict[str, int]:
    return {b.state: b.amount.amount for b in await commission_service.partner_balances(session, partner.id)}


async def entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def ledger_is_sound(session: AsyncSession) -> None:
    assert await ledger_service.unbalanced_entries(session) == []


def state(c: Commission) -> tuple[str, int, bool, str | None]:
    return c.status, c.reversed_amount, c.is_order_held, c.reason


# ------------------------------------------------------------------------------------------- holding


async def test_a_held_order_closes_and_passes_its_hold_but_is_never_approved(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    order = await held_order(session, outbox, partner)
    await close(session, outbox, order)
    c = await commission_of(session, order)
    assert state(c) == ("pending", 0, True, "held for review by the risk check: disposable_email")
    assert c.approve_after is not None and c.approve_after <= NOW + timedelta(days=365)

    assert await commission_service.approve_due(session, now=FAR) == 0
    assert (await commission_of(session, order)).status == "pending"
    assert await balances(session, partner) == {"pending": COMMISSION}
    read = commission_read(c)
    assert (read.is_order_held, read.reason) == (True, "held for review by the risk check: disposable_email")


# ------------------------------------------------------------------------------------------ approving


async def test_an_approved_order_proceeds_and_is_approved_when_due(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    order = await held_order(session, outbox, partner)
    await close(session, outbox, order)
    await decide(session, outbox, order, approve=True, at=NOW + timedelta(days=1))
    assert state(await commission_of(session, order)) == ("pending", 0, False, None)

    assert await commission_service.approve_due(session, now=NOW + timedelta(days=29)) == 0  # in its hold
    assert await commission_service.approve_due(session, now=FAR) == 1
    assert (await commission_of(session, order)).status == "approved"
    assert await balances(session, partner) == {"pending": 0, "payable": COMMISSION}
    await ledger_is_sound(session)


# -------------------------------------------------------------------------------- rejecting, declining


async def test_an_order_rejected_at_attribution_is_reversed_with_the_reason(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    strict = policy(disposable_email="reject")
    order = await place(session, outbox, partner, email="x@mailinator.com", risk_policy=strict)
    assert await review_status(session, order) == "rejected"
    c = await commission_of(session, order)
    assert state(c) == ("reversed", COMMISSION, False, "rejected by the risk check: disposable_email")
    assert c.amount == COMMISSION  # the row stays, so marketing sees what it would have earned and why

    await close(session, outbox, order)
    assert await commission_service.approve_due(session, now=FAR) == 0
    assert await balances(session, partner) == {"pending": 0}
    await ledger_is_sound(session)


async def test_an_order_declined_after_its_hold_is_reversed_with_the_note(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    order = await held_order(session, outbox, partner)
    await close(session, outbox, order)
    assert await commission_service.approve_due(session, now=FAR) == 0
    await decide(session, outbox, order, approve=False, note="the client is the partner's own firm", at=FAR)
    c = await commission_of(session, order)
    assert state(c) == (
        "reversed",
        COMMISSION,
        False,
        "declined in review: the client is the partner's own firm",
    )
    assert await commission_service.approve_due(session, now=FAR + timedelta(days=1)) == 0
    assert await balances(session, partner) == {"pending": 0}
    await ledger_is_sound(session)


async def test_a_partly_refunded_order_declined_reverses_what_is_left(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    order = await held_order(session, outbox, partner)
    await events(session, outbox, order, "paid")
    await order_service.apply_event(
        session,
        order,
        order_service.OrderEventIn(OrderEventType.refunded, NOW, "api", AMOUNT // 2, "half"),
        now=NOW,
    )
    await outbox.deliver()
    assert await balances(session, partner) == {"pending": COMMISSION - 995}
    await decide(session, outbox, order, approve=False, note="fake client", at=NOW + timedelta(days=2))
    c = await commission_of(session, order)
    assert (c.status, c.reversed_amount) == ("reversed", COMMISSION)
    assert await balances(session, partner) == {"pending": 0}
    await ledger_is_sound(session)


async def test_an_approved_commission_rejected_by_a_later_rescore_is_clawed_back(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    first = await place(session, outbox, partner)
    await place(session, outbox, partner)  # a second order in the same day
    assert await review_status(session, first) == "allowed"
    await close(session, outbox, first)
    assert await commission_service.approve_due(session, now=FAR) == 1
    assert await balances(session, partner) == {"pending": COMMISSION, "payable": COMMISSION}

    # Scored again under a stricter program: two orders a day is too many for this partner.
    strict = policy(velocity_partner="reject", partner_velocity_max_orders=1)
    later = FAR + timedelta(days=1)
    rescored = await risk_service.rescore_order(
        session, first, terms_lookup=campaign_service.get_terms, policy=strict, now=later
    )
    assert rescored is not None and rescored.status == "rejected"
    assert await outbox.deliver() == ["order.review_decided"]
    c = await commission_of(session, first)
    assert state(c) == ("approved", COMMISSION, False, "rejected by the risk check: velocity_partner")
    assert await balances(session, partner) == {"pending": COMMISSION, "payable": 0}
    await ledger_is_sound(session)


# ------------------------------------------------------------------------------ replays and late events


async def test_replaying_attribution_events_and_decisions_changes_nothing(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    kept = await held_order(session, outbox, partner)
    dropped = await held_order(session, outbox, partner)
    for order in (kept, dropped):
        await close(session, outbox, order)
    await decide(session, outbox, kept, approve=True, at=NOW + timedelta(days=1))
    await decide(
        session, outbox, dropped, approve=False, note="a ring of fake clients", at=NOW + timedelta(days=1)
    )
    assert await commission_service.approve_due(session, now=FAR) == 1
    before = [state(await commission_of(session, o)) for o in (kept, dropped)]
    assert before == [
        ("approved", 0, False, None),
        ("reversed", COMMISSION, False, "declined in review: a ring of fake clients"),
    ]
    counted = (await entries(session), await balances(session, partner))

    await outbox.replay()
    await outbox.replay()

    assert [state(await commission_of(session, o)) for o in (kept, dropped)] == before
    assert (await entries(session), await balances(session, partner)) == counted
    assert counted[1] == {"pending": 0, "payable": COMMISSION}
    assert await session.scalar(select(func.count()).select_from(Commission)) == 2
    await ledger_is_sound(session)


async def test_a_decline_handled_before_the_attribution_ends_reversed(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    order = await place(session, outbox, partner, email="late@mailinator.com", deliver=False)
    await decide(session, None, order, approve=False, note="throwaway address", at=NOW + timedelta(minutes=5))

    assert await outbox.deliver("order.review_decided") == ["order.review_decided"]  # no commission yet
    assert await session.scalar(select(func.count()).select_from(Commission)) == 0
    assert await outbox.deliver("order.attributed") == ["order.attributed"]
    c = await commission_of(session, order)
    assert state(c) == ("reversed", COMMISSION, False, "declined in review: throwaway address")
    await close(session, outbox, order)
    assert await commission_service.approve_due(session, now=FAR) == 0
    assert await balances(session, partner) == {"pending": 0}
    await ledger_is_sound(session)


async def test_an_approval_handled_before_the_attribution_lets_it_proceed(
    session: AsyncSession, outbox: Outbox, partner: Partner
) -> None:
    order = await place(session, outbox, partner, email="late@mailinator.com", deliver=False)
    await decide(session, None, order, approve=True, at=NOW + timedelta(minutes=5))
    await outbox.deliver("order.review_decided")
    await outbox.deliver("order.attributed")
    assert state(await commission_of(session, order)) == ("pending", 0, False, None)
    await close(session, outbox, order)
    assert await commission_service.approve_due(session, now=FAR) == 1
    assert await balances(session, partner) == {"pending": 0, "payable": COMMISSION}

"""Rewards obey the risk firewall's review of the order that earns them: a held order's rewards stay
pending whatever the hold period says, a person's approval lets them go on, and a rejection (by the
rules, at attribution or on a later re-score) or a decline voids them with the reason, reversing what
was already issued. Orders go through growth's own services; the events reach the reward handlers the
way the outbox hands them over, in order, late, or twice."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.reward import service as reward_service
from campaigns.reward.models import Reward
from growth.attribution.service import Hints
from growth.core.audit_port import Actor
from growth.core.events.models import OutboxEvent
from growth.core.events.service import DomainEvent
from growth.core.ports import no_leads
from growth.customer.models import Customer
from growth.ledger import service as ledger_service
from growth.ledger.models import LedgerEntry
from growth.order import service as order_service
from growth.order.models import Order
from growth.order.rules import OrderEventType
from growth.referral_code.models import ReferralCode
from growth.risk import service as risk_service
from tests.campaigns.reward.test_service import (
    NOW,
    Outbox,
    close,
    credit_owed,
    outbox,
    referral_campaign,
    referrer,
    spent,
)

__all__ = ["outbox"]  # the fixture, shared with the reward service tests

HELD_EMAIL = "friend{n}@mailinator.com"
"""A disposable e-mail domain: the firewall holds the order by default."""
REVIEWER = Actor.cli("mei.marketing")
_seq = itertools.count(1)


async def place(
    session: AsyncSession,
    outbox: Outbox,
    code: ReferralCode | None,
    *,
    email: str | None = None,
    customer: str | None = None,
    fingerprint: str | None = None,
    deliver: bool = True,
) -> Order:
    """An order through ``code`` with the identity facts the firewall looks at."""
    n = next(_seq)
    intake = order_service.OrderIntake(
        external_id=f"o-{n}",
        customer_external_id=customer or f"friend-{n}",
        customer_email=email or f"friend{n}@example.com",
        amount=19900,
        currency="CNY",
        placed_at=NOW,
        source="api",
        hints=Hints(referral_code=code.code if code else None),
        payment_fingerprint=fingerprint,
    )
    ingested = await order_service.ingest_order(
        session, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=NOW
    )
    if deliver:
        assert await outbox.deliver() == ["order.attributed"]
    return ingested.order


async def held_order(session: AsyncSession, outbox: Outbox, code: ReferralCode, **kw: Any) -> Order:
    order = await place(session, outbox, code, email=HELD_EMAIL.format(n=next(_seq)), **kw)
    assert await review_status(session, order) == "held"
    return order


async def review_status(session: AsyncSession, order: Order) -> str | None:
    review = await risk_service.get_review(session, order.id)
    return review.status if review else None


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


async def deliver_only(outbox: Outbox, name: str) -> None:
    """Hand over only the pending events called ``name`` (the others wait: handled late)."""
    rows = await outbox.session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.processed_at.is_(None), OutboxEvent.name == name)
        .order_by(OutboxEvent.id)
    )
    for row in list(rows):
        row.processed_at = row.occurred_at
        event = DomainEvent(row.id, row.name, dict(row.payload), row.occurred_at)
        await outbox.subscriptions.handlers_for(name)["campaigns.rewards"](outbox.session, event)
        outbox.delivered.append(event)
    await outbox.session.flush()


async def reward_of(session: AsyncSession, order: Order) -> Reward:
    found = list(await session.scalars(select(Reward).where(Reward.order_id == order.id)))
    assert len(found) == 1, found
    await session.refresh(found[0])
    return found[0]


async def own_card(session: AsyncSession, outbox: Outbox, customer: Customer, fingerprint: str) -> None:
    """The referrer's own order, paid with their card: a friend's order on that card is a self-referral."""
    await place(
        session, outbox, None, customer=customer.external_id, email=customer.email, fingerprint=fingerprint
    )


async def ledger_is_sound(session: AsyncSession) -> None:
    assert await ledger_service.unbalanced_entries(session) == []


async def entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def approve_due(session: AsyncSession, at: datetime) -> int:
    return await reward_service.approve_due(session, now=at)


# ------------------------------------------------------------------------------------------- holding


async def test_a_held_order_closes_and_passes_its_hold_but_is_never_approved(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_order_held) == ("pending", True)

    await close(session, outbox, order)
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_granted, reward.is_order_held) == ("pending", True, True)
    assert reward.approve_after == NOW + timedelta(days=campaign.hold_days)
    assert await approve_due(session, NOW + timedelta(days=365)) == 0
    assert (await reward_of(session, order)).status == "pending"
    assert await credit_owed(session, mei.id) == 0


async def test_without_a_hold_period_a_held_order_is_not_approved_at_close(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, hold_days=0)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    await close(session, outbox, order)
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_granted) == ("pending", True)
    assert await credit_owed(session, mei.id) == 0


# ------------------------------------------------------------------------------------------ approving


async def test_an_approved_order_proceeds_and_is_approved_when_its_hold_ends(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    await close(session, outbox, order)
    await decide(session, outbox, order, approve=True, at=NOW + timedelta(days=1))
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_order_held) == ("pending", False)

    assert await approve_due(session, NOW + timedelta(days=campaign.hold_days - 1)) == 0
    assert await approve_due(session, NOW + timedelta(days=campaign.hold_days)) == 1
    assert (await reward_of(session, order)).status == "issued"
    assert await credit_owed(session, mei.id) == 1000
    await ledger_is_sound(session)


async def test_without_a_hold_period_an_approval_after_the_close_approves_at_once(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, hold_days=0)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    await close(session, outbox, order)
    await decide(session, outbox, order, approve=True, at=NOW + timedelta(hours=2))
    reward = await reward_of(session, order)
    assert (reward.status, reward.approved_at) == ("issued", NOW + timedelta(hours=2))
    assert await credit_owed(session, mei.id) == 1000


async def test_without_a_hold_period_an_approval_before_the_close_approves_at_the_close(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, hold_days=0)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    await decide(session, outbox, order, approve=True, at=NOW)
    assert (await reward_of(session, order)).status == "pending"  # the order is not closed yet
    await close(session, outbox, order)
    assert (await reward_of(session, order)).status == "issued"
    assert await credit_owed(session, mei.id) == 1000


# -------------------------------------------------------------------------------- rejecting, declining


async def test_an_order_rejected_at_attribution_voids_its_rewards_with_the_reason(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, hold_days=0)
    mei, code = await referrer(session, campaign)
    await own_card(session, outbox, mei, "FP-MEI")
    order = await place(session, outbox, code, fingerprint="FP-MEI")
    assert await review_status(session, order) == "rejected"
    reward = await reward_of(session, order)
    assert (reward.status, reward.reason) == (
        "voided",
        "rejected by the risk check: self_referral_same_payment",
    )

    await close(session, outbox, order)
    assert await approve_due(session, NOW + timedelta(days=30)) == 0
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_granted) == ("voided", False)
    assert await spent(session, campaign) == 0
    assert await credit_owed(session, mei.id) == 0
    await ledger_is_sound(session)


async def test_an_order_declined_after_its_hold_voids_its_rewards_and_frees_the_budget(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, budget_amount=50000)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    await close(session, outbox, order)
    assert await spent(session, campaign) == 1000  # granted at close, waiting for the decision
    assert await approve_due(session, NOW + timedelta(days=campaign.hold_days + 3)) == 0

    await decide(
        session, outbox, order, approve=False, note="same person as the referrer", at=NOW + timedelta(days=20)
    )
    reward = await reward_of(session, order)
    assert (reward.status, reward.reason) == ("voided", "declined in review: same person as the referrer")
    assert reward.voided_at == NOW + timedelta(days=20)
    assert await spent(session, campaign) == 0
    assert await approve_due(session, NOW + timedelta(days=60)) == 0
    assert await credit_owed(session, mei.id) == 0


async def test_an_issued_reward_rejected_by_a_later_rescore_is_reversed_in_the_ledger(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session)
    mei, code = await referrer(session, campaign)
    await own_card(session, outbox, mei, "FP-MEI")
    order = await place(session, outbox, code)  # no card fingerprint yet: allowed
    assert await review_status(session, order) == "allowed"
    await close(session, outbox, order)
    assert await approve_due(session, NOW + timedelta(days=campaign.hold_days)) == 1
    assert await credit_owed(session, mei.id) == 1000

    # Stripe tells the card later: it is the referrer's own.
    order.payment_fingerprint = "FP-MEI"
    later = NOW + timedelta(days=campaign.hold_days + 1)
    rescored = await risk_service.rescore_order(
        session, order, terms_lookup=campaign_service.get_terms, policy=risk_service.RiskPolicy(), now=later
    )
    assert rescored is not None and rescored.status == "rejected"
    assert await outbox.deliver() == ["order.review_decided"]
    reward = await reward_of(session, order)
    assert (reward.status, reward.reason) == (
        "voided",
        "rejected by the risk check: self_referral_same_payment",
    )
    assert await credit_owed(session, mei.id) == 0
    assert await spent(session, campaign) == 0
    await ledger_is_sound(session)


# ------------------------------------------------------------------------------ replays and late events


async def test_replaying_attribution_close_and_decisions_changes_nothing(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session)
    mei, code = await referrer(session, campaign)
    kept = await held_order(session, outbox, code)
    dropped = await held_order(session, outbox, code)
    for order in (kept, dropped):
        await close(session, outbox, order)
    await decide(session, outbox, kept, approve=True, at=NOW + timedelta(days=1))
    await decide(
        session, outbox, dropped, approve=False, note="a ring of fake friends", at=NOW + timedelta(days=1)
    )
    assert await approve_due(session, NOW + timedelta(days=campaign.hold_days)) == 1
    before = [
        (r.status, r.reason, r.is_order_held, r.is_granted)
        for r in (await reward_of(session, kept), await reward_of(session, dropped))
    ]
    assert before == [
        ("issued", None, False, True),
        ("voided", "declined in review: a ring of fake friends", False, True),
    ]
    counted = (await entries(session), await spent(session, campaign), await credit_owed(session, mei.id))

    await outbox.replay()
    await outbox.replay()

    after = [
        (r.status, r.reason, r.is_order_held, r.is_granted)
        for r in (await reward_of(session, kept), await reward_of(session, dropped))
    ]
    assert after == before
    assert (
        await entries(session),
        await spent(session, campaign),
        await credit_owed(session, mei.id),
    ) == counted
    assert counted[1:] == (1000, 1000)
    assert await session.scalar(select(func.count()).select_from(Reward)) == 2
    await ledger_is_sound(session)


async def test_a_replayed_hold_decision_does_not_hold_again_what_was_approved(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, hold_days=0)
    mei, code = await referrer(session, campaign)
    order = await held_order(session, outbox, code)
    await close(session, outbox, order)
    await decide(session, outbox, order, approve=True, at=NOW + timedelta(hours=1))
    # order.attributed said "held": replayed after the approval it still reads the review as it is now.
    await outbox.replay()
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_order_held) == ("issued", False)
    assert await credit_owed(session, mei.id) == 1000


async def test_a_decline_handled_before_the_attribution_ends_voided(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session)
    mei, code = await referrer(session, campaign)
    order = await place(session, outbox, code, email="late@mailinator.com", deliver=False)
    await decide(session, None, order, approve=False, note="throwaway address", at=NOW + timedelta(minutes=5))

    await deliver_only(outbox, "order.review_decided")  # nothing to change yet: no reward exists
    assert await session.scalar(select(func.count()).select_from(Reward)) == 0
    await deliver_only(outbox, "order.attributed")
    reward = await reward_of(session, order)
    assert (reward.status, reward.reason) == ("voided", "declined in review: throwaway address")
    await close(session, outbox, order)
    assert await approve_due(session, NOW + timedelta(days=60)) == 0
    assert await credit_owed(session, mei.id) == 0


async def test_an_approval_handled_before_the_attribution_of_a_closed_order_approves_it(
    session: AsyncSession, outbox: Outbox
) -> None:
    campaign = await referral_campaign(session, hold_days=0)
    mei, code = await referrer(session, campaign)
    order = await place(session, outbox, code, email="late@mailinator.com", deliver=False)
    await decide(session, None, order, approve=True, at=NOW + timedelta(minutes=5))
    for type_ in ("paid", "closed"):
        await order_service.apply_event(
            session,
            order,
            order_service.OrderEventIn(
                OrderEventType(type_), NOW, "api", None, f"{order.external_id}-{type_}"
            ),
            now=NOW,
        )

    await deliver_only(outbox, "order.review_decided")
    await deliver_only(outbox, "order.attributed")  # catches up with the close: no hold, approved
    reward = await reward_of(session, order)
    assert (reward.status, reward.is_order_held) == ("issued", False)
    assert await credit_owed(session, mei.id) == 1000
    await outbox.deliver()  # the close itself, late: nothing more
    assert await credit_owed(session, mei.id) == 1000
    await ledger_is_sound(session)

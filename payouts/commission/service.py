"""Commission use cases: plans, plan assignment, and the commission lifecycle driven by order events.

Every money movement is a ledger entry with a reference derived from the commission and the
event's state (``commission:<id>:accrued``, ``...:reversal:<refunded amount>``, ``...:approved``),
so a replayed event posts nothing new. A partner's pending and payable balances are sums over the
ledger; the ``reversed_amount`` kept on the commission only serves the next proportional step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.events.service import DomainEvent
from growth.core.money import Money
from growth.ledger import service as ledger_service
from growth.order import service as order_service
from growth.risk import service as risk_service
from payouts.commission import repository
from payouts.commission.errors import CommissionPlanNotFound, InvalidPlan, NoPlan
from payouts.commission.models import (
    Commission,
    CommissionPlan,
    CommissionPlanRate,
    CommissionPlanTier,
    PartnerPlan,
)
from payouts.commission.rules import (
    REVIEW_REASON_LENGTH,
    CommissionStatus,
    LineRate,
    OrderLineFacts,
    PlanKind,
    PlanSpec,
    Recurring,
    Tier,
    approve_after,
    base_rate,
    commission_for,
    is_due,
    plan_problem,
    remaining_after_refund,
    renewal_earns,
)
from payouts.partner import service as partner_service
from payouts.partner.rules import CAP_REASON_PREFIX, TierPolicy

log = structlog.get_logger()

ORDER_EVENTS = (
    "order.paid",
    "order.closed",
    "order.refunded",
    "order.cancelled",
    "order.disputed",
    "order.dispute_won",
    "order.dispute_lost",
)


# ------------------------------------------------------------------------------------------- plans


async def create_plan(session: AsyncSession, *, name: str, spec: PlanSpec) -> CommissionPlan:
    """A new plan (refused with the reason when a rate is negative, over 100%, or the currency unknown)."""
    if problem := plan_problem(spec):
        raise InvalidPlan(problem)
    plan = CommissionPlan(
        name=name.strip(),
        kind=spec.kind.value,
        rate_bps=spec.rate_bps,
        fixed_amount=spec.fixed_amount,
        currency=spec.currency,
        hold_days=spec.hold_days,
        recurring=spec.recurring.value,
        recurring_months=spec.recurring_months,
    )
    session.add(plan)
    await session.flush()
    session.add_all(
        CommissionPlanRate(plan_id=plan.id, category=r.category, sku=r.sku, rate_bps=r.rate_bps)
        for r in spec.line_rates
    )
    session.add_all(
        CommissionPlanTier(plan_id=plan.id, min_revenue=t.min_revenue, rate_bps=t.rate_bps)
        for t in spec.tiers
    )
    await session.flush()
    return plan


async def get_plan(session: AsyncSession, plan_id: UUID) -> tuple[CommissionPlan, PlanSpec]:
    """A plan with its rates and tiers, or ``CommissionPlanNotFound``."""
    plan = await session.get(CommissionPlan, plan_id)
    if plan is None:
        raise CommissionPlanNotFound(f"commission plan {plan_id} not found")
    return plan, await _spec(session, plan)


async def list_plans(session: AsyncSession) -> list[tuple[CommissionPlan, PlanSpec]]:
    """Every plan, newest first."""
    return [(plan, await _spec(session, plan)) for plan in await repository.plans(session)]


async def _spec(session: AsyncSession, plan: CommissionPlan) -> PlanSpec:
    rates, tiers = await repository.rates_and_tiers(session, plan.id)
    return PlanSpec(
        kind=PlanKind(plan.kind),
        currency=plan.currency,
        rate_bps=plan.rate_bps,
        fixed_amount=plan.fixed_amount,
        hold_days=plan.hold_days,
        recurring=Recurring(plan.recurring),
        recurring_months=plan.recurring_months,
        line_rates=tuple(LineRate(r.rate_bps, r.category, r.sku) for r in rates),
        tiers=tuple(Tier(t.min_revenue, t.rate_bps) for t in tiers),
    )


async def assign_plan(
    session: AsyncSession, *, partner_id: UUID, plan_id: UUID, now: datetime
) -> PartnerPlan:
    """Put a partner on a plan from now on: orders attributed before keep the plan they had."""
    await partner_service.get_partner(session, partner_id)
    await get_plan(session, plan_id)
    assignment = PartnerPlan(partner_id=partner_id, plan_id=plan_id, effective_at=now)
    session.add(assignment)
    await session.flush()
    return assignment


async def current_plan(session: AsyncSession, partner_id: UUID, at: datetime) -> PartnerPlan | None:
    """The partner's plan assignment in force at ``at``."""
    return await repository.plan_at(session, partner_id, at)


# -------------------------------------------------------------------------------------- accrual


def _lines(lines: Sequence[Any]) -> tuple[OrderLineFacts, ...]:
    return tuple(OrderLineFacts(line.sku, line.category, line.quantity * line.unit_amount) for line in lines)


async def _post(
    session: AsyncSession,
    reference: str,
    kind: str,
    debit: str,
    credit: str,
    c: Commission,
    amount: int,
    at: datetime,
) -> None:
    if amount == 0:
        return
    lines = [ledger_service.Line(debit, amount, c.currency), ledger_service.Line(credit, -amount, c.currency)]
    await ledger_service.post_entry(session, reference=reference, kind=kind, lines=lines, occurred_at=at)


def _pending(c: Commission) -> str:
    return ledger_service.partner_account(c.partner_id, "pending")


def _payable(c: Commission) -> str:
    return ledger_service.partner_account(c.partner_id, "payable")


async def on_order_attributed(session: AsyncSession, event: DomainEvent) -> None:
    """An order a partner brought: its commission accrues as pending under the plan in force now."""
    p = event.payload
    if not p.get("partner_id") or p.get("method") in (None, "none"):
        return
    partner_id, order_id = UUID(p["partner_id"]), UUID(p["order_id"])
    kind = "renewal" if p.get("method") == "subscription" else "initial"
    if await repository.get_commission(session, order_id, partner_id, kind) is None:
        await _accrue(session, event, partner_id=partner_id, order_id=order_id, kind=kind)
    # Also when replayed: the review is read as it stands now, and applying it twice changes nothing.
    await _apply_review(session, order_id, event)


async def _accrue(
    session: AsyncSession, event: DomainEvent, *, partner_id: UUID, order_id: UUID, kind: str
) -> None:
    """The commission of a newly attributed order, pending under the partner's plan (none without a plan)."""
    p = event.payload
    view = await order_service.order_view(session, p["external_id"])
    order = view.order
    assignment = await current_plan(session, partner_id, event.occurred_at)
    if assignment is None:
        log.warning("payouts.commission.no_plan", partner_id=str(partner_id), order_id=str(order_id))
        return
    plan, spec = await get_plan(session, assignment.plan_id)
    if spec.currency != order.currency:
        log.warning(
            "payouts.commission.currency_mismatch", partner_id=str(partner_id), order_id=str(order_id)
        )
        return
    if kind == "renewal" and order.subscription_id:
        first = await order_service.first_of_subscription(session, order.subscription_id)
        started = first.placed_at if first else order.placed_at
        if not renewal_earns(spec, first_order_at=started, renewal_at=order.placed_at):
            return
    revenue = await repository.closed_revenue(
        session, partner_id, order.currency, since=_month_start(order.placed_at)
    )
    amount = commission_for(spec, order_amount=order.amount, lines=_lines(view.lines), period_revenue=revenue)
    commission = Commission(
        order_id=order_id,
        order_external_id=order.external_id,
        partner_id=partner_id,
        plan_id=plan.id,
        kind=kind,
        base_amount=order.amount,
        amount=amount,
        currency=order.currency,
        rate_bps=None if spec.kind is PlanKind.fixed else base_rate(spec, revenue),
        accrued_at=event.occurred_at,
        order_paid_amount=order.paid_amount,
        order_refunded_amount=order.refunded_amount,
    )
    session.add(commission)
    await session.flush()
    await _post(
        session,
        f"commission:{commission.id}:accrued",
        "commission_accrued",
        ledger_service.COMMISSION_EXPENSE,
        _pending(commission),
        commission,
        amount,
        event.occurred_at,
    )
    log.info("payouts.commission.accrued", commission_id=str(commission.id), amount=amount)


async def _apply_review(session: AsyncSession, order_id: UUID, event: DomainEvent) -> None:
    """Hold, release or reverse the order's commissions as its review stands now (read, never taken
    from an event, which may be handled late or replayed)."""
    commissions = await repository.for_order(session, order_id)
    if not commissions:
        return
    review = await risk_service.get_review(session, order_id)
    outcome = risk_service.review_outcome(
        review.status if review else None,
        reasons=[r["code"] for r in review.reasons] if review else [],
        note=review.note if review else None,
        max_length=REVIEW_REASON_LENGTH,
    )
    for c in commissions:
        was_held, c.is_order_held = c.is_order_held, outcome.effect is risk_service.ReviewEffect.hold
        if outcome.reason is not None:
            c.reason = outcome.reason
        elif was_held:
            c.reason = None  # the hold's reason: the approval lifts it
        if outcome.effect is risk_service.ReviewEffect.void:
            await _reverse_to(session, c, 0, event)


async def on_order_review_decided(session: AsyncSession, event: DomainEvent) -> None:
    """The order's review changed (a person's decision, a re-score): its commissions follow the review."""
    await _apply_review(session, UUID(event.payload["order_id"]), event)
    await session.flush()


def _month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def on_order_event(
    session: AsyncSession, event: DomainEvent, *, tiers: TierPolicy | None = None
) -> None:
    """Paid and closed start the hold (the plan's, or the partner's credit tier's when longer); refunds
    reverse proportionally; cancellations reverse all."""
    p = event.payload
    for c in await repository.for_order(session, UUID(p["order_id"])):
        c.order_paid_amount, c.order_refunded_amount = int(p["paid_amount"]), int(p["refunded_amount"])
        if event.name == "order.closed" and not c.is_order_closed:
            plan = await session.get(CommissionPlan, c.plan_id)
            assert plan is not None
            c.is_order_closed, c.order_closed_at = True, event.occurred_at
            hold_days = await partner_service.commission_hold(
                session, c.partner_id, plan_hold_days=plan.hold_days, policy=tiers
            )
            c.approve_after = approve_after(event.occurred_at, hold_days)
        elif event.name in ("order.disputed", "order.dispute_won", "order.dispute_lost"):
            c.is_order_disputed = event.name == "order.disputed"
        if p["status"] == "cancelled":
            target = 0
        else:
            target = remaining_after_refund(
                c.amount, paid=c.order_paid_amount, refunded=c.order_refunded_amount
            )
        await _reverse_to(session, c, target, event)


async def _reverse_to(session: AsyncSession, c: Commission, target: int, event: DomainEvent) -> None:
    """Bring what is left of the commission down to ``target``: pending shrinks, approved is clawed back."""
    delta = (c.amount - c.reversed_amount) - target
    if delta <= 0:
        return
    reference = f"commission:{c.id}:reversal:{c.amount - target}"
    if c.status == CommissionStatus.approved:
        await _post(
            session,
            reference,
            "commission_clawback",
            _payable(c),
            ledger_service.COMMISSION_EXPENSE,
            c,
            delta,
            event.occurred_at,
        )
    else:
        await _post(
            session,
            reference,
            "commission_reversed",
            _pending(c),
            ledger_service.COMMISSION_EXPENSE,
            c,
            delta,
            event.occurred_at,
        )
        if target == 0:
            c.status = CommissionStatus.reversed.value
    c.reversed_amount += delta
    log.info("payouts.commission.reversed", commission_id=str(c.id), amount=delta, status=c.status)


async def approve_due(
    session: AsyncSession, *, now: datetime, limit: int = 500, tiers: TierPolicy | None = None
) -> int:
    """Move commissions paid in full, closed and past their hold from pending to payable, unless that
    would take the partner's payable over its credit tier's cap (then the commission says so and waits)."""
    moved = 0
    for c in await repository.due(session, now, limit):
        if not is_due(
            status=CommissionStatus(c.status),
            is_closed=c.is_order_closed,
            paid=c.order_paid_amount,
            order_amount=c.base_amount,
            refunded=c.order_refunded_amount,
            is_disputed=c.is_order_disputed,
            is_held=c.is_order_held,
            approve_at=c.approve_after,
            now=now,
        ):
            continue
        if await _waits_for_cap(session, c, tiers):
            continue
        await _post(
            session,
            f"commission:{c.id}:approved",
            "commission_approved",
            _pending(c),
            _payable(c),
            c,
            c.amount - c.reversed_amount,
            now,
        )
        c.status, c.approved_at = CommissionStatus.approved.value, now
        moved += 1
    return moved


async def _waits_for_cap(session: AsyncSession, c: Commission, tiers: TierPolicy | None) -> bool:
    """Whether the partner's tier cap keeps ``c`` pending now; its ``reason`` says so while it waits."""
    payable = await ledger_service.liability(session, _payable(c), c.currency) if tiers else 0
    problem = await partner_service.commission_cap_problem(
        session,
        c.partner_id,
        amount=c.amount - c.reversed_amount,
        currency=c.currency,
        payable=payable,
        policy=tiers,
    )
    if problem is not None and c.reason != problem:
        c.reason = problem
    elif problem is None and c.reason is not None and c.reason.startswith(CAP_REASON_PREFIX):
        c.reason = None
    return problem is not None


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class PartnerBalance:
    state: str
    """``pending`` (earned, in its hold) or ``payable`` (approved; negative after a clawback)."""
    amount: Money


async def partner_balances(session: AsyncSession, partner_id: UUID) -> list[PartnerBalance]:
    """A partner's commission by state and currency, summed from the ledger."""
    prefix = ledger_service.partner_account(partner_id, "")
    return [
        PartnerBalance(account.removeprefix(prefix), Money(owed, currency))
        for account, currency, owed in await ledger_service.balances(session, prefix)
    ]


async def commissions_of_orders(
    session: AsyncSession, partner_id: UUID, order_ids: list[UUID]
) -> dict[UUID, list[Commission]]:
    """The partner's commissions on these orders (only the partner's: another's never shows)."""
    found: dict[UUID, list[Commission]] = {}
    for commission in await repository.of_orders(session, partner_id, order_ids) if order_ids else []:
        found.setdefault(commission.order_id, []).append(commission)
    return found


@dataclass(frozen=True, slots=True)
class PendingOutlook:
    currency: str
    next_approval_at: datetime | None
    """The earliest moment a pending commission passes its hold (None: none has closed yet)."""
    awaiting_close: int
    """Pending commissions whose order is not yet paid in full and closed: no date can be given."""


async def pending_outlook(session: AsyncSession, partner_id: UUID) -> list[PendingOutlook]:
    """When the partner's pending commission can be expected to approve, per currency."""
    return [
        PendingOutlook(currency, first, waiting)
        for currency, first, waiting in await repository.next_approval(session, partner_id)
    ]


async def list_commissions(
    session: AsyncSession,
    *,
    partner_id: UUID | None = None,
    status: CommissionStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Commission]:
    """Commissions, newest first."""
    return await repository.search(
        session, partner_id=partner_id, status=status.value if status else None, limit=limit, offset=offset
    )


async def require_plan(session: AsyncSession, partner_id: UUID, at: datetime) -> PartnerPlan:
    """The partner's plan now, or ``NoPlan``."""
    if (assignment := await current_plan(session, partner_id, at)) is None:
        raise NoPlan("the partner has no commission plan")
    return assignment


# ------------------------------------------------------- read-only, added for payouts/statement


def _commission_id_of(reference: str) -> UUID | None:
    """The commission id in a reference this module posts (``commission:<id>:...``), else None."""
    prefix, _, rest = reference.partition(":")
    if prefix != "commission":
        return None
    try:
        return UUID(rest.partition(":")[0])
    except ValueError:
        return None


async def order_external_ids_for_entries(session: AsyncSession, references: Iterable[str]) -> dict[str, str]:
    """For the ledger entries this module posted, the shop's id of the order each is about, by reference."""
    ids = {ref: commission_id for ref in references if (commission_id := _commission_id_of(ref)) is not None}
    found = await repository.order_external_ids(session, sorted(set(ids.values())))
    return {ref: found[commission_id] for ref, commission_id in ids.items() if commission_id in found}


def order_external_id_of_reference(reference: Any, *, dialect_name: str) -> Any:
    """``order_external_ids_for_entries`` as a SQL expression over a column of entry references, for
    set-based statements: the shop's order id, or NULL for references this module did not post."""
    return repository.order_external_id_of_reference(reference, dialect_name)


async def estimate_commission(
    session: AsyncSession,
    *,
    partner_id: UUID,
    order_amount: int,
    currency: str,
    lines: Sequence[tuple[str, str | None, int]],
    at: datetime,
) -> int:
    """The commission an order of the partner would earn under the plan in force at ``at``, in minor
    units (0 without a plan in the order's currency); for the risk firewall's ``reward_above_margin``."""
    assignment = await current_plan(session, partner_id, at)
    if assignment is None:
        return 0
    _, spec = await get_plan(session, assignment.plan_id)
    if spec.currency != currency:
        return 0
    revenue = await repository.closed_revenue(session, partner_id, currency, since=_month_start(at))
    facts = tuple(OrderLineFacts(sku, category, amount) for sku, category, amount in lines)
    return commission_for(spec, order_amount=order_amount, lines=facts, period_revenue=revenue)


async def cost_by_currency(
    session: AsyncSession, *, since: datetime, until: datetime, order_ids: Any | None
) -> list[tuple[str, int]]:
    """``(currency, amount)`` of the commissions accrued in a range, net of reversals (the analytics)."""
    return await repository.cost_by_currency(session, since=since, until=until, order_ids=order_ids)

"""Pure commission rules: what a plan may say, what an order earns, and how refunds reverse it.

Rounding happens once per commission, half away from zero, over the exact sum of the order's
lines at their rates; a refund sets what is left of the commission to the same proportion of what
is left of the payment, so a full refund reverses exactly what was accrued.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from growth.core.money import BPS_PER_UNIT, is_known_currency, round_half_away_from_zero

MAX_FIXED_AMOUNT = 100_000_000_000


class PlanKind(StrEnum):
    percent = "percent"
    fixed = "fixed"


class Recurring(StrEnum):
    none = "none"
    """Renewals of a subscription earn nothing."""
    months = "months"
    """Renewals earn for ``recurring_months`` after the subscription's first order."""
    lifetime = "lifetime"
    """Every renewal earns, for as long as the customer pays."""


class CommissionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    reversed = "reversed"


@dataclass(frozen=True, slots=True)
class LineRate:
    """A rate for a category or a SKU instead of the base rate."""

    rate_bps: int
    category: str | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class Tier:
    min_revenue: int
    """Minor units of the plan's currency of the partner's closed revenue in the period."""
    rate_bps: int


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """A commission plan as finance writes it."""

    kind: PlanKind
    currency: str
    rate_bps: int | None = None
    fixed_amount: int | None = None
    hold_days: int = 30
    recurring: Recurring = Recurring.none
    recurring_months: int | None = None
    line_rates: tuple[LineRate, ...] = ()
    tiers: tuple[Tier, ...] = ()


def _bps_problem(rate: int | None, what: str) -> str | None:
    if rate is None or isinstance(rate, bool) or not isinstance(rate, int):
        return f"{what} must be a whole number of basis points"
    if rate < 0:
        return f"{what} cannot be negative"
    if rate > BPS_PER_UNIT:
        return f"{what} cannot be over 100% (10000 basis points)"
    return None


def plan_problem(spec: PlanSpec) -> str | None:
    """Why ``spec`` is not a usable plan, or None."""
    if not is_known_currency(spec.currency):
        return f"unknown currency {spec.currency!r} (ISO 4217 expected)"
    if not 0 <= spec.hold_days <= 365:
        return "hold_days must be between 0 and 365"
    if spec.kind is PlanKind.percent:
        if problem := _bps_problem(spec.rate_bps, "rate_bps"):
            return problem
        if spec.fixed_amount is not None:
            return "a percent plan takes rate_bps, not fixed_amount"
    else:
        if spec.fixed_amount is None or not 0 < spec.fixed_amount <= MAX_FIXED_AMOUNT:
            return "a fixed plan needs a positive fixed_amount (minor units)"
        if spec.rate_bps is not None or spec.line_rates or spec.tiers:
            return "rates and tiers belong to percent plans"
    if (spec.recurring is Recurring.months) != (spec.recurring_months is not None):
        return "recurring_months is required for recurring 'months', and only for it"
    if spec.recurring_months is not None and not 1 <= spec.recurring_months <= 120:
        return "recurring_months must be between 1 and 120"
    seen: set[tuple[str | None, str | None]] = set()
    for line in spec.line_rates:
        if (line.category is None) == (line.sku is None):
            return "a line rate names a category or a sku, not both"
        if problem := _bps_problem(line.rate_bps, f"the rate of {line.category or line.sku}"):
            return problem
        if (line.category, line.sku) in seen:
            return f"{line.category or line.sku} has two rates"
        seen.add((line.category, line.sku))
    thresholds = [t.min_revenue for t in spec.tiers]
    if len(set(thresholds)) != len(thresholds) or any(t <= 0 for t in thresholds):
        return "tier thresholds must be positive and different"
    for tier in spec.tiers:
        if problem := _bps_problem(tier.rate_bps, "a tier's rate"):
            return problem
    return None


@dataclass(frozen=True, slots=True)
class OrderLineFacts:
    sku: str
    category: str | None
    amount: int
    """quantity x unit amount, minor units."""


def base_rate(spec: PlanSpec, period_revenue: int) -> int:
    """The plan's rate for a partner with ``period_revenue`` already closed this period (tiers)."""
    rate = spec.rate_bps or 0
    for tier in sorted(spec.tiers, key=lambda t: t.min_revenue):
        if period_revenue >= tier.min_revenue:
            rate = tier.rate_bps
    return rate


def _line_rate(spec: PlanSpec, line: OrderLineFacts, default: int) -> int:
    for rate in spec.line_rates:
        if rate.sku is not None and rate.sku == line.sku:
            return rate.rate_bps
    for rate in spec.line_rates:
        if rate.category is not None and rate.category == line.category:
            return rate.rate_bps
    return default


def commission_for(
    spec: PlanSpec, *, order_amount: int, lines: tuple[OrderLineFacts, ...], period_revenue: int
) -> int:
    """The commission an order earns, in minor units of the order's currency, rounded once.

    Lines carry their own rates (SKU before category before the tier or base rate); the part of
    the order no line explains (shipping, or an order reported without lines) earns the base rate.
    Line totals above the order amount (discounts not itemised) are scaled down to it.
    """
    if spec.kind is PlanKind.fixed:
        return spec.fixed_amount or 0
    default = base_rate(spec, period_revenue)
    line_total = sum(line.amount for line in lines)
    weighted = sum(line.amount * _line_rate(spec, line, default) for line in lines)
    if line_total > order_amount and line_total > 0:
        return round_half_away_from_zero(weighted * order_amount, line_total * BPS_PER_UNIT)
    return round_half_away_from_zero(weighted + (order_amount - line_total) * default, BPS_PER_UNIT)


def remaining_after_refund(amount: int, *, paid: int, refunded: int) -> int:
    """What is left of a commission of ``amount`` once ``refunded`` of ``paid`` went back, rounded once."""
    if paid <= 0:
        return amount
    kept = max(paid - refunded, 0)
    return round_half_away_from_zero(amount * kept, paid)


def renewal_earns(spec: PlanSpec, *, first_order_at: datetime, renewal_at: datetime) -> bool:
    """Whether a subscription renewal placed at ``renewal_at`` earns under the plan."""
    if spec.recurring is Recurring.lifetime:
        return True
    if spec.recurring is Recurring.months and spec.recurring_months:
        return renewal_at < _add_months(first_order_at, spec.recurring_months)
    return False


def _add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months, on the same day or the month's last (Jan 31 + 1 -> Feb 28/29)."""
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def approve_after(closed_at: datetime, hold_days: int) -> datetime:
    """When the hold of an order closed at ``closed_at`` ends."""
    return closed_at + timedelta(days=hold_days)


def is_due(
    *,
    status: CommissionStatus,
    is_closed: bool,
    paid: int,
    order_amount: int,
    refunded: int,
    is_disputed: bool,
    is_held: bool,
    approve_at: datetime | None,
    now: datetime,
) -> bool:
    """Approve only what was paid in full, closed, past the hold, not in dispute and not held for review
    (a held order's commission waits for a person's decision, whatever the hold period says)."""
    return (
        status is CommissionStatus.pending
        and is_closed
        and paid >= order_amount
        and refunded < paid
        and not is_disputed
        and not is_held
        and approve_at is not None
        and approve_at <= now
    )


REVIEW_REASON_LENGTH = 500
"""The longest review reason kept on the row (its ``reason`` column)."""


def partner_reason(reason: str | None, *, is_order_held: bool, by_review: bool) -> str | None:
    """A commission's reason as its partner reads it: the risk review's own words (the rules that
    fired, a reviewer's note) are for staff, so the partner only learns that the order is or was in
    review. ``by_review``: the reason was written by the review."""
    if not by_review:
        return reason
    return "held for review" if is_order_held else "not accepted in review"

"""Commission rules, table-driven: plan validation, computing, tiers, refunds, renewals, approval."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payouts.commission.rules import (
    CommissionStatus,
    LineRate,
    OrderLineFacts,
    PlanKind,
    PlanSpec,
    Recurring,
    Tier,
    base_rate,
    commission_for,
    is_due,
    plan_problem,
    remaining_after_refund,
    renewal_earns,
)

PERCENT = PlanSpec(PlanKind.percent, "CNY", rate_bps=1000)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (PERCENT, None),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=0), None),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=10_000), None),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=-1), "negative"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=10_001), "over 100%"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=None), "whole number"),
        (PlanSpec(PlanKind.percent, "XYZ", rate_bps=100), "unknown currency"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, fixed_amount=5), "not fixed_amount"),
        (PlanSpec(PlanKind.fixed, "CNY", fixed_amount=500), None),
        (PlanSpec(PlanKind.fixed, "CNY", fixed_amount=0), "positive fixed_amount"),
        (PlanSpec(PlanKind.fixed, "CNY", fixed_amount=500, rate_bps=100), "percent plans"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, hold_days=-1), "hold_days"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, recurring=Recurring.months), "recurring_months"),
        (
            PlanSpec(PlanKind.percent, "CNY", rate_bps=100, recurring=Recurring.months, recurring_months=12),
            None,
        ),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, recurring_months=12), "recurring_months"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, line_rates=(LineRate(200, "a", "b"),)), "not both"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, line_rates=(LineRate(-2, "a"),)), "negative"),
        (
            PlanSpec(PlanKind.percent, "CNY", rate_bps=100, line_rates=(LineRate(2, "a"), LineRate(3, "a"))),
            "two",
        ),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, tiers=(Tier(0, 200),)), "positive"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, tiers=(Tier(10, 200), Tier(10, 300))), "different"),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=100, tiers=(Tier(10, 20_000),)), "over 100%"),
    ],
)
def test_plan_problem(spec: PlanSpec, words: str | None) -> None:
    problem = plan_problem(spec)
    assert (problem is None) if words is None else (problem is not None and words in problem)


def _line(sku: str, category: str | None, amount: int) -> OrderLineFacts:
    return OrderLineFacts(sku, category, amount)


@pytest.mark.parametrize(
    ("spec", "amount", "lines", "revenue", "expected"),
    [
        (PERCENT, 19900, (), 0, 1990),
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=1250), 12340, (), 0, 1543),  # 1542.5 -> 1543
        (PlanSpec(PlanKind.percent, "CNY", rate_bps=1250), 12300, (), 0, 1538),  # 1537.5 -> 1538
        (PlanSpec(PlanKind.percent, "JPY", rate_bps=333), 1000, (), 0, 33),
        (PlanSpec(PlanKind.fixed, "CNY", fixed_amount=8800), 1, (), 0, 8800),
        # SKU before category before base; the part of the order no line explains earns the base rate.
        (
            PlanSpec(
                PlanKind.percent,
                "CNY",
                rate_bps=1000,
                line_rates=(LineRate(2000, "svc"), LineRate(500, sku="X")),
            ),
            100000,
            (_line("X", "svc", 40000), _line("Y", "svc", 40000), _line("Z", None, 10000)),
            0,
            2000 + 8000 + 1000 + 1000,
        ),
        # Lines above the order total (an order discount): scaled down to the order, rounded once.
        (PERCENT, 9000, (_line("A", None, 10000),), 0, 900),
        # Tiers by closed revenue this period.
        (
            PlanSpec(
                PlanKind.percent, "CNY", rate_bps=1000, tiers=(Tier(100_000, 1500), Tier(500_000, 2000))
            ),
            10000,
            (),
            99_999,
            1000,
        ),
        (
            PlanSpec(
                PlanKind.percent, "CNY", rate_bps=1000, tiers=(Tier(100_000, 1500), Tier(500_000, 2000))
            ),
            10000,
            (),
            100_000,
            1500,
        ),
        (
            PlanSpec(
                PlanKind.percent, "CNY", rate_bps=1000, tiers=(Tier(500_000, 2000), Tier(100_000, 1500))
            ),
            10000,
            (),
            700_000,
            2000,
        ),
    ],
)
def test_commission_for(
    spec: PlanSpec, amount: int, lines: tuple[OrderLineFacts, ...], revenue: int, expected: int
) -> None:
    assert commission_for(spec, order_amount=amount, lines=lines, period_revenue=revenue) == expected


def test_base_rate_without_tiers_is_the_plan_rate() -> None:
    assert base_rate(PERCENT, 10**12) == 1000


@pytest.mark.parametrize(
    ("amount", "paid", "refunded", "left"),
    [
        (1000, 10000, 0, 1000),
        (1000, 10000, 2500, 750),
        (1001, 10000, 5000, 501),  # 500.5 -> 501 (half away from zero)
        (1000, 10000, 10000, 0),  # a full refund reverses exactly what was accrued
        (1000, 10000, 12000, 0),
        (1000, 0, 0, 1000),  # nothing paid yet: nothing to reverse proportionally
        (7, 3, 1, 5),  # 4.67 -> 5
    ],
)
def test_remaining_after_refund(amount: int, paid: int, refunded: int, left: int) -> None:
    assert remaining_after_refund(amount, paid=paid, refunded=refunded) == left


def test_successive_partial_refunds_end_exactly_at_zero() -> None:
    amount, paid, refunded, left = 1333, 9999, 0, 1333
    for step in (1234, 4321, 1, 4443):
        refunded += step
        new_left = remaining_after_refund(amount, paid=paid, refunded=refunded)
        assert 0 <= new_left <= left
        left = new_left
    assert refunded == paid and left == 0


FIRST = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("recurring", "months", "renewal", "earns"),
    [
        (Recurring.none, None, datetime(2026, 2, 28, tzinfo=UTC), False),
        (Recurring.lifetime, None, datetime(2036, 1, 1, tzinfo=UTC), True),
        (Recurring.months, 1, datetime(2026, 2, 28, 11, tzinfo=UTC), True),  # Jan 31 + 1 month = Feb 28
        (Recurring.months, 1, datetime(2026, 2, 28, 12, tzinfo=UTC), False),
        (Recurring.months, 12, datetime(2027, 1, 31, 11, tzinfo=UTC), True),
        (Recurring.months, 12, datetime(2027, 1, 31, 12, tzinfo=UTC), False),
    ],
)
def test_renewal_earns(recurring: Recurring, months: int | None, renewal: datetime, earns: bool) -> None:
    spec = PlanSpec(PlanKind.percent, "CNY", rate_bps=100, recurring=recurring, recurring_months=months)
    assert renewal_earns(spec, first_order_at=FIRST, renewal_at=renewal) is earns


NOW = datetime(2026, 3, 1, tzinfo=UTC)
DUE = {
    "status": CommissionStatus.pending,
    "is_closed": True,
    "paid": 100,
    "order_amount": 100,
    "refunded": 0,
    "is_disputed": False,
    "is_held": False,
    "approve_at": NOW,
    "now": NOW,
}


@pytest.mark.parametrize(
    ("change", "due"),
    [
        ({}, True),
        ({"status": CommissionStatus.approved}, False),
        ({"status": CommissionStatus.reversed}, False),
        ({"is_closed": False}, False),
        ({"paid": 99}, False),
        ({"refunded": 100}, False),
        ({"refunded": 40}, True),
        ({"is_disputed": True}, False),
        ({"is_held": True}, False),
        ({"is_held": True, "now": datetime(2027, 12, 31, tzinfo=UTC)}, False),
        ({"approve_at": None}, False),
        ({"now": datetime(2026, 2, 28, tzinfo=UTC)}, False),
    ],
)
def test_is_due(change: dict[str, object], due: bool) -> None:
    assert is_due(**(DUE | change)) is due  # type: ignore[arg-type]

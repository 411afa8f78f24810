from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from payouts.payout_run.rules import (
    Candidate,
    SkipReason,
    StatusTotal,
    hold_reason,
    minimum_for,
    parse_minimums,
    period_problem,
    run_totals,
    select,
)

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
OLD = NOW - timedelta(days=30)


def cand(n: int = 1, payable: int = 20_000, **over: object) -> Candidate:
    fields: dict[str, object] = {
        "partner_id": UUID(int=n),
        "payable": payable,
        "is_approved": True,
        "has_account": True,
        "has_tax_form": True,
        "account_changed_at": OLD,
        "is_identity_verified": True,
        "is_account_verified": True,
    }
    return Candidate(**(fields | over))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (cand(), None),
        (cand(payable=10_000), None),  # exactly the minimum is paid
        (cand(payable=9_999), SkipReason.below_minimum),
        (cand(is_approved=False), SkipReason.partner_not_approved),
        (cand(has_account=False, has_tax_form=False, account_changed_at=None), SkipReason.no_payout_account),
        (cand(has_tax_form=False), SkipReason.tax_form_missing),
        (cand(account_changed_at=NOW - timedelta(days=6, hours=23)), SkipReason.account_cooling_off),
        (cand(account_changed_at=NOW - timedelta(days=7)), None),  # the cooling-off is over at 7 days
        (cand(payable=5, is_approved=False), SkipReason.below_minimum),  # the first gate is named
    ],
)
def test_hold_reason(candidate: Candidate, reason: SkipReason | None) -> None:
    assert hold_reason(candidate, minimum=10_000, now=NOW, cooling_off_days=7) is reason


def test_select_splits_in_partner_order_and_ignores_empty_balances() -> None:
    got = select(
        [cand(3), cand(1, has_tax_form=False), cand(2, payable=0), cand(4, payable=-50)],
        minimum=100,
        now=NOW,
        cooling_off_days=7,
    )
    assert got.payouts == ((UUID(int=3), 20_000),)
    assert [(s.partner_id, s.reason) for s in got.skips] == [(UUID(int=1), SkipReason.tax_form_missing)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", {}), ("CNY:10000,USD:5000", {"CNY": 10000, "USD": 5000}), (" JPY:500 , ", {"JPY": 500})],
)
def test_parse_minimums(raw: str, expected: dict[str, int]) -> None:
    assert parse_minimums(raw) == expected


@pytest.mark.parametrize("raw", ["cny:100", "CNY:-1", "CNY", "CNY:1.5"])
def test_parse_minimums_refuses_garbage(raw: str) -> None:
    with pytest.raises(ValueError, match="CUR:amount"):
        parse_minimums(raw)


def test_minimum_for_an_unnamed_currency_is_any_positive_amount() -> None:
    assert minimum_for({"CNY": 10_000}, "CNY") == 10_000
    assert minimum_for({"CNY": 10_000}, "EUR") == 1


@pytest.mark.parametrize(
    ("period", "ok"), [("2026-11", True), ("2026-13", False), ("2026-1", False), ("", False)]
)
def test_period(period: str, ok: bool) -> None:
    assert (period_problem(period) is None) is ok


def test_run_totals_count_paid_with_sent_as_money_that_has_left() -> None:
    totals = {"sent": (2, 30_000), "paid": (1, 5_000), "pending": (4, 1_000), "failed": (1, 700)}
    assert run_totals(totals) == (StatusTotal(3, 35_000), StatusTotal(4, 1_000), StatusTotal(1, 700))


def test_run_totals_of_a_run_without_payouts_are_zero() -> None:
    assert run_totals({}) == (StatusTotal(), StatusTotal(), StatusTotal())

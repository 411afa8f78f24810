"""A commission's stage and expected payout date (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from payouts.portal.rules import CommissionStage, commission_stage, expected_payout_on, payout_period

S = CommissionStage
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
CAP = "waits for the partner's credit cap (new tier): 100 CNY payable plus 50 would exceed 120"


@pytest.mark.parametrize(
    ("status", "is_held", "reason", "payout_status", "expected"),
    [
        ("pending", False, None, None, S.pending),
        ("pending", True, "held for review: disposable_email", None, S.in_review),
        ("pending", False, CAP, None, S.waiting_for_cap),
        ("approved", False, None, None, S.payable),
        ("approved", False, None, "pending", S.in_payout),
        ("approved", False, None, "sent", S.paid),
        ("approved", False, None, "paid", S.paid),
        ("approved", False, None, "failed", S.payout_failed),
        ("reversed", False, "order refunded", None, S.reversed),
        ("reversed", False, None, "sent", S.reversed),
    ],
)
def test_stage(
    status: str, is_held: bool, reason: str | None, payout_status: str | None, expected: S
) -> None:
    assert (
        commission_stage(status=status, is_held=is_held, reason=reason, payout_status=payout_status)
        is expected
    )


def test_payout_period_is_the_local_month() -> None:
    # 31 Oct 20:00 UTC is 1 Nov in Shanghai: November's run pays it.
    assert payout_period(datetime(2026, 10, 31, 20, tzinfo=UTC), "Asia/Shanghai") == "2026-11"
    assert payout_period(datetime(2026, 10, 31, 20, tzinfo=UTC), "UTC") == "2026-10"


@pytest.mark.parametrize(
    ("stage", "approve_after", "approved_at", "passed_over", "expected"),
    [
        (S.pending, datetime(2026, 11, 25, tzinfo=UTC), None, False, date(2026, 12, 1)),
        (S.pending, datetime(2026, 12, 31, 23, tzinfo=UTC), None, False, date(2027, 1, 1)),
        (S.pending, None, None, False, None),  # order not closed: no date yet
        (S.in_review, datetime(2026, 11, 25, tzinfo=UTC), None, False, None),
        (S.waiting_for_cap, datetime(2026, 11, 1, tzinfo=UTC), None, False, None),
        (S.payable, None, datetime(2026, 10, 5, tzinfo=UTC), False, date(2026, 11, 1)),
        # Its month's run passed it by (below the minimum): the next run, after now.
        (S.payable, None, datetime(2026, 10, 5, tzinfo=UTC), True, date(2026, 12, 1)),
        (S.payout_failed, None, datetime(2026, 10, 5, tzinfo=UTC), False, date(2026, 12, 1)),
        (S.in_payout, None, datetime(2026, 10, 5, tzinfo=UTC), False, None),
        (S.paid, None, datetime(2026, 10, 5, tzinfo=UTC), False, None),
        (S.reversed, None, None, False, None),
    ],
)
def test_expected_payout_on(
    stage: S,
    approve_after: datetime | None,
    approved_at: datetime | None,
    passed_over: bool,
    expected: date | None,
) -> None:
    found = expected_payout_on(
        stage,
        approve_after=approve_after,
        approved_at=approved_at,
        is_passed_over=passed_over,
        now=NOW,
        tz="UTC",
    )
    assert found == expected

"""The payout-run pages' pure helpers: the default month, the form as the service takes it, notices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payouts.payout_run import forms


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (datetime(2026, 11, 27, 9, tzinfo=UTC), "UTC", "2026-10"),
        (datetime(2026, 1, 15, tzinfo=UTC), "UTC", "2025-12"),  # January: December of the year before
        # 31 Oct 17:00 UTC is already 1 November in Shanghai: October is over there, not in UTC.
        (datetime(2026, 10, 31, 17, tzinfo=UTC), "Asia/Shanghai", "2026-10"),
        (datetime(2026, 10, 31, 17, tzinfo=UTC), "UTC", "2026-09"),
        (datetime(2027, 1, 1, 4, tzinfo=UTC), "America/New_York", "2026-11"),  # still 31 December there
    ],
)
def test_previous_period_is_last_month_in_the_programs_zone(now: datetime, tz: str, expected: str) -> None:
    assert forms.previous_period(now, tz) == expected


def test_cleaned_trims_and_upper_cases_with_the_default_currency() -> None:
    assert forms.cleaned(forms.RunForm(period=" 2026-10 ", currency=" cny "), default_currency="USD") == (
        forms.RunForm(period="2026-10", currency="CNY")
    )
    assert forms.cleaned(forms.RunForm(period="2026-10"), default_currency="USD").currency == "USD"


@pytest.mark.parametrize(
    ("query", "expected"),
    [({"notice": "created"}, "created"), ({"notice": "<script>"}, None), ({}, None)],
)
def test_only_known_notices_are_read_back(query: dict[str, str], expected: str | None) -> None:
    assert forms.read_notice(query) == expected

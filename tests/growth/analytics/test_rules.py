"""The analytics' pure rules: ranges in a time zone, ratios, buckets folded into local days and hours."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from growth.analytics import rules
from growth.analytics.rules import BucketCount


def _bucket(at: datetime) -> int:
    return int(at.timestamp()) // rules.BUCKET_SECONDS


class TestDateRange:
    def test_local_days_become_utc_instants(self) -> None:
        r = rules.date_range("2026-11-02", "2026-11-08", timezone="Asia/Shanghai", today=date(2026, 11, 27))
        assert r.start == datetime(2026, 11, 1, 16, tzinfo=UTC)
        assert r.end == datetime(2026, 11, 8, 16, tzinfo=UTC)
        assert len(r.days) == 7

    def test_a_dst_change_makes_a_23_hour_day(self) -> None:
        r = rules.date_range("2026-03-08", "2026-03-08", timezone="America/New_York", today=date(2026, 3, 9))
        assert (r.end - r.start).total_seconds() == 23 * 3600

    def test_default_is_the_last_30_days(self) -> None:
        r = rules.date_range(None, None, timezone="UTC", today=date(2026, 11, 27))
        assert (r.first_on, r.last_on) == (date(2026, 10, 29), date(2026, 11, 27))

    @pytest.mark.parametrize(
        ("first", "last", "message"),
        [
            ("2026-02-30", "2026-03-01", "from must be a date"),
            ("2026-1-2", "2026-03-01", "from must be a date"),
            ("2026-03-01", "tomorrow", "to must be a date"),
            ("2026-03-02", "2026-03-01", "is after"),
            ("2025-01-01", "2026-01-02", "at most 366"),
        ],
    )
    def test_bad_ranges(self, first: str, last: str, message: str) -> None:
        with pytest.raises(rules.RangeError, match=message):
            rules.date_range(first, last, timezone="UTC", today=date(2026, 11, 27))

    def test_366_days_are_allowed(self) -> None:
        assert (
            len(rules.date_range("2024-01-01", "2024-12-31", timezone="UTC", today=date(2026, 1, 1)).days)
            == 366
        )


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(0, 0, None), (5, 0, None), (1, 3, 3333), (2, 3, 6667), (1, 20_000, 1), (1, 20_001, 0), (3, 2, 15_000)],
)
def test_ratio_bps_rounds_half_away_from_zero(part: int, whole: int, expected: int | None) -> None:
    assert rules.ratio_bps(part, whole) == expected


def test_per_unit_is_none_without_units() -> None:
    assert rules.per_unit(1000, 0) is None
    assert rules.per_unit(1001, 2) == 501


def test_amounts_never_add_currencies() -> None:
    got = rules.amounts([("USD", 5), ("CNY", 7), ("USD", 10)])
    assert got == [rules.Amount("CNY", 7), rules.Amount("USD", 15)]


def test_buckets_fold_into_local_days_and_hours_in_a_half_hour_zone() -> None:
    r = rules.date_range("2026-11-02", "2026-11-03", timezone="Asia/Kolkata", today=date(2026, 11, 27))
    # 18:29 UTC on the 1st is 23:59 on the 1st in Kolkata (outside); 18:30 is midnight of the 2nd.
    buckets = [
        BucketCount(_bucket(datetime(2026, 11, 1, 18, 15, tzinfo=UTC)), 4, 1),
        BucketCount(_bucket(datetime(2026, 11, 1, 18, 30, tzinfo=UTC)), 3, 2),
        BucketCount(_bucket(datetime(2026, 11, 3, 18, 15, tzinfo=UTC)), 2, 0),
    ]
    series = rules.daily_series(buckets, r)
    assert series.labels == ["2026-11-02", "2026-11-03"]
    assert series.orders == [0 + 3, 2]
    assert series.referred_orders == [2, 0]
    assert series.other_orders == [1, 2]
    grid = rules.heatmap(buckets[1:2], "Asia/Kolkata")
    assert grid[0][0] == 3  # Monday 2 November, 00:00
    assert sum(map(sum, grid)) == 3


def test_channel_costs_divide_per_currency() -> None:
    got = rules.channel_costs({"referral": 3}, [("referral", "CNY", 1000), ("partner", "USD", 50)])
    referral, social, partner = got
    assert referral.per_customer == [rules.Amount("CNY", 333)]
    assert social.costs == [] and social.per_customer == []
    assert partner.customers == 0 and partner.per_customer == [None]


def test_csv_cells_are_spreadsheet_safe() -> None:
    assert rules.csv_table(("a", "b"), [("=1+1", None)]) == [["a", "b"], ["'=1+1", ""]]


@pytest.mark.parametrize(
    "timezone",
    ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata"],
)
def test_a_year_of_buckets_folds_as_each_converted_on_its_own(timezone: str) -> None:
    # Every 15-minute bucket of a year that crosses DST changes (Lord Howe's are half an hour, Chatham's
    # offsets are +12:45/+13:45), against converting each bucket's instant with zoneinfo.
    r = rules.date_range("2025-11-28", "2026-11-27", timezone=timezone, today=date(2026, 11, 27))
    first, last = _bucket(r.start) - 200, _bucket(r.end) + 200
    buckets = [BucketCount(b, 1 + b % 5, b % 3) for b in range(first, last)]
    zone = ZoneInfo(timezone)
    index = {day: i for i, day in enumerate(r.days)}
    orders, referred = [0] * len(r.days), [0] * len(r.days)
    grid = [[0] * 24 for _ in range(7)]
    for b in buckets:
        local = datetime.fromtimestamp(b.bucket * rules.BUCKET_SECONDS, UTC).astimezone(zone)
        grid[local.weekday()][local.hour] += b.orders
        if (i := index.get(local.date())) is not None:
            orders[i] += b.orders
            referred[i] += b.referred
    series = rules.daily_series(buckets, r)
    assert series.orders == orders
    assert series.referred_orders == referred
    assert rules.heatmap(buckets, timezone) == grid

"""The clock and UTC <-> local conversions: aware datetimes only, half-open local periods in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from growth.core.time import ensure_utc, local_day_bounds, local_month_bounds, to_local, utc_now

SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: the datetime is as good as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


class TestUtcNow:
    def test_is_aware_utc(self) -> None:
        now = utc_now()
        assert now.tzinfo is not None
        assert now.utcoffset() == timedelta(0)

    def test_is_the_current_instant(self) -> None:
        before = datetime.now(UTC)
        now = utc_now()
        after = datetime.now(UTC)
        assert before <= now <= after


class TestEnsureUtc:
    @pytest.mark.parametrize(
        "value",
        [
            datetime(2026, 3, 14, 9, 30),  # noqa: DTZ001 - naive on purpose
            datetime(2026, 3, 14, 9, 30, tzinfo=_NoOffset()),
        ],
    )
    def test_refuses_naive(self, value: datetime) -> None:
        with pytest.raises(ValueError, match="naive"):
            ensure_utc(value)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (utc(2026, 3, 14, 9, 30), utc(2026, 3, 14, 9, 30)),
            (datetime(2026, 3, 14, 9, 30, tzinfo=ZoneInfo(SHANGHAI)), utc(2026, 3, 14, 1, 30)),
            (datetime(2026, 1, 1, 5, 0, tzinfo=ZoneInfo(SHANGHAI)), utc(2025, 12, 31, 21, 0)),
            (datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo(NEW_YORK)), utc(2026, 7, 1, 16, 0)),  # EDT
            (datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo(NEW_YORK)), utc(2026, 1, 1, 17, 0)),  # EST
            (
                datetime(2026, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
                utc(2026, 3, 14, 13, 0),
            ),
        ],
    )
    def test_converts_to_utc(self, value: datetime, expected: datetime) -> None:
        result = ensure_utc(value)
        assert result == expected
        assert result.utcoffset() == timedelta(0)
        assert result.tzinfo is UTC


class TestToLocal:
    @pytest.mark.parametrize(
        ("value", "tz", "wall_clock"),
        [
            (utc(2026, 3, 14, 16, 0), SHANGHAI, datetime(2026, 3, 15, 0, 0)),  # noqa: DTZ001
            (utc(2026, 12, 31, 16, 0), SHANGHAI, datetime(2027, 1, 1, 0, 0)),  # noqa: DTZ001
            (utc(2026, 3, 8, 7, 0), NEW_YORK, datetime(2026, 3, 8, 3, 0)),  # noqa: DTZ001 - just after DST
        ],
    )
    def test_wall_clock(self, value: datetime, tz: str, wall_clock: datetime) -> None:
        local = to_local(value, tz)
        assert local.replace(tzinfo=None) == wall_clock
        assert local == value

    def test_refuses_naive(self) -> None:
        with pytest.raises(ValueError):
            to_local(datetime(2026, 3, 14), SHANGHAI)  # noqa: DTZ001


class TestLocalDayBounds:
    @pytest.mark.parametrize(
        ("day", "tz", "start", "end"),
        [
            (date(2026, 3, 15), SHANGHAI, utc(2026, 3, 14, 16), utc(2026, 3, 15, 16)),
            (date(2026, 1, 1), SHANGHAI, utc(2025, 12, 31, 16), utc(2026, 1, 1, 16)),
            (date(2026, 12, 31), SHANGHAI, utc(2026, 12, 30, 16), utc(2026, 12, 31, 16)),
            (date(2028, 2, 29), SHANGHAI, utc(2028, 2, 28, 16), utc(2028, 2, 29, 16)),
            (date(2026, 3, 15), "UTC", utc(2026, 3, 15), utc(2026, 3, 16)),
            (date(2026, 3, 8), NEW_YORK, utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),  # spring forward
            (date(2026, 11, 1), NEW_YORK, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),  # fall back
        ],
    )
    def test_half_open_utc_interval(self, day: date, tz: str, start: datetime, end: datetime) -> None:
        bounds = local_day_bounds(day, tz)
        assert bounds == (start, end)
        assert all(bound.utcoffset() == timedelta(0) for bound in bounds)

    @pytest.mark.parametrize(
        ("day", "tz", "hours"),
        [
            (date(2026, 3, 8), NEW_YORK, 23),
            (date(2026, 3, 7), NEW_YORK, 24),
            (date(2026, 3, 9), NEW_YORK, 24),
            (date(2026, 11, 1), NEW_YORK, 25),
            (date(2026, 3, 8), SHANGHAI, 24),
        ],
    )
    def test_day_length(self, day: date, tz: str, hours: int) -> None:
        start, end = local_day_bounds(day, tz)
        assert end - start == timedelta(hours=hours)

    def test_consecutive_days_touch(self) -> None:
        day = date(2026, 3, 6)
        for _ in range(5):
            _, end = local_day_bounds(day, NEW_YORK)
            day += timedelta(days=1)
            next_start, _ = local_day_bounds(day, NEW_YORK)
            assert end == next_start

    @pytest.mark.parametrize(
        ("instant", "inside"),
        [
            (utc(2026, 3, 14, 15, 59, 59), False),  # 23:59:59 on the 14th in Shanghai
            (utc(2026, 3, 14, 16, 0, 0), True),  # midnight: the start belongs to the day
            (utc(2026, 3, 15, 15, 59, 59), True),
            (utc(2026, 3, 15, 16, 0, 0), False),  # the next midnight belongs to the next day
        ],
    )
    def test_boundaries_are_half_open(self, instant: datetime, inside: bool) -> None:
        start, end = local_day_bounds(date(2026, 3, 15), SHANGHAI)
        assert (start <= instant < end) is inside

    def test_unknown_zone(self) -> None:
        with pytest.raises(ZoneInfoNotFoundError):
            local_day_bounds(date(2026, 3, 15), "Mars/Olympus_Mons")


class TestLocalMonthBounds:
    @pytest.mark.parametrize(
        ("year", "month", "tz", "start", "end"),
        [
            (2026, 3, SHANGHAI, utc(2026, 2, 28, 16), utc(2026, 3, 31, 16)),
            (2026, 1, SHANGHAI, utc(2025, 12, 31, 16), utc(2026, 1, 31, 16)),
            (2026, 12, SHANGHAI, utc(2026, 11, 30, 16), utc(2026, 12, 31, 16)),  # December -> January
            (2026, 2, SHANGHAI, utc(2026, 1, 31, 16), utc(2026, 2, 28, 16)),
            (2028, 2, SHANGHAI, utc(2028, 1, 31, 16), utc(2028, 2, 29, 16)),  # leap year
            (2026, 12, "UTC", utc(2026, 12, 1), utc(2027, 1, 1)),
            (2026, 3, NEW_YORK, utc(2026, 3, 1, 5), utc(2026, 4, 1, 4)),  # EST start, EDT end
        ],
    )
    def test_half_open_utc_interval(
        self, year: int, month: int, tz: str, start: datetime, end: datetime
    ) -> None:
        bounds = local_month_bounds(year, month, tz)
        assert bounds == (start, end)
        assert all(bound.utcoffset() == timedelta(0) for bound in bounds)

    @pytest.mark.parametrize("tz", [SHANGHAI, NEW_YORK, "UTC"])
    def test_consecutive_months_touch_across_the_year(self, tz: str) -> None:
        assert local_month_bounds(2026, 12, tz)[1] == local_month_bounds(2027, 1, tz)[0]
        assert local_month_bounds(2026, 11, tz)[1] == local_month_bounds(2026, 12, tz)[0]

    def test_month_starts_at_the_first_days_start(self) -> None:
        for month in range(1, 13):
            start, end = local_month_bounds(2026, month, SHANGHAI)
            assert start == local_day_bounds(date(2026, month, 1), SHANGHAI)[0]
            last_day = (date(2026, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            assert end == local_day_bounds(last_day, SHANGHAI)[1]

    @pytest.mark.parametrize("month", [0, 13])
    def test_refuses_bad_month(self, month: int) -> None:
        with pytest.raises(ValueError):
            local_month_bounds(2026, month, SHANGHAI)

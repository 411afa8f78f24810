"""The only clock, and conversions between UTC and the program's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: a timezone is required")
    return value.astimezone(UTC)


def to_local(value: datetime, tz: str) -> datetime:
    """``value`` shown in the IANA zone ``tz``."""
    return ensure_utc(value).astimezone(ZoneInfo(tz))


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The half-open UTC interval ``[start, end)`` of a calendar day in zone ``tz``."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The half-open UTC interval ``[start, end)`` of a calendar month in zone ``tz``."""
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)

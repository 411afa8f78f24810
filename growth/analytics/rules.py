"""Pure analytics rules: date ranges in the program's time zone, ratios in basis points, CSV rows.

Orders are counted in SQL per 15-minute UTC bucket (every time zone's offset is a multiple of
15 minutes); these rules fold the buckets into the program's local days and weekday-hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from growth.audit.rules import spreadsheet_safe
from growth.core.money import round_half_away_from_zero

MAX_DAYS = 366
"""The longest range a request may ask for, in days (both ends included)."""
BUCKET_SECONDS = 900
"""The SQL bucket width: 15 minutes, a divisor of every UTC offset in use."""
BPS = 10_000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNELS = ("referral", "social_share", "partner")
FUNNEL_STAGES = ("clicks", "referred_orders", "closed", "rewarded")


class RangeError(ValueError):
    """Why a requested date range cannot be used."""


@dataclass(frozen=True, slots=True)
class DateRange:
    """Local days ``first_on``..``last_on`` (both included) and their UTC instants ``[start, end)``."""

    first_on: date
    last_on: date
    timezone: str
    start: datetime
    end: datetime

    @property
    def days(self) -> list[date]:
        return [self.first_on + timedelta(days=i) for i in range((self.last_on - self.first_on).days + 1)]


def _parse_day(value: str, name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise RangeError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (a DST gap at midnight moves it forward, as the clock does)."""
    naive = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - wall time, zone attached next
    return naive.replace(tzinfo=zone).astimezone(UTC)


def date_range(
    first: str | None, last: str | None, *, timezone: str, today: date, max_days: int = MAX_DAYS
) -> DateRange:
    """The range a request asks for; the last 30 days up to ``today`` when both ends are missing."""
    last_on = _parse_day(last, "to") if last else today
    first_on = _parse_day(first, "from") if first else last_on - timedelta(days=29)
    if first_on > last_on:
        raise RangeError(f"from ({first_on}) is after to ({last_on})")
    if (last_on - first_on).days + 1 > max_days:
        raise RangeError(
            f"the range spans {(last_on - first_on).days + 1} days; at most {max_days} are allowed"
        )
    zone = ZoneInfo(timezone)
    return DateRange(
        first_on,
        last_on,
        timezone,
        local_midnight(first_on, zone),
        local_midnight(last_on + timedelta(days=1), zone),
    )


def ratio_bps(part: int, whole: int) -> int | None:
    """``part / whole`` in basis points, rounded half away from zero; None when ``whole`` is 0."""
    return None if whole == 0 else round_half_away_from_zero(part * BPS, whole)


def per_unit(amount: int, count: int) -> int | None:
    """An amount per unit (cost per acquired customer), rounded half away from zero; None for no units."""
    return None if count == 0 else round_half_away_from_zero(amount, count)


def bucket_instant(bucket: int) -> datetime:
    """The UTC instant a 15-minute bucket starts."""
    return datetime.fromtimestamp(bucket * BUCKET_SECONDS, UTC)


@dataclass(frozen=True, slots=True)
class BucketCount:
    """Orders placed in one 15-minute UTC bucket: all of them and the referred ones."""

    bucket: int
    orders: int
    referred: int


@dataclass(frozen=True, slots=True)
class DailySeries:
    labels: list[str]
    orders: list[int]
    referred_orders: list[int]
    other_orders: list[int]


def daily_series(buckets: Iterable[BucketCount], rng: DateRange) -> DailySeries:
    """Orders per local day of the range, referred and the others (stacked, they make the total)."""
    zone = ZoneInfo(rng.timezone)
    days = rng.days
    index = {day: i for i, day in enumerate(days)}
    orders, referred = [0] * len(days), [0] * len(days)
    for b in buckets:
        i = index.get(bucket_instant(b.bucket).astimezone(zone).date())
        if i is not None:
            orders[i] += b.orders
            referred[i] += b.referred
    return DailySeries(
        [d.isoformat() for d in days],
        orders,
        referred,
        [o - r for o, r in zip(orders, referred, strict=True)],
    )


def heatmap(buckets: Iterable[BucketCount], timezone: str) -> list[list[int]]:
    """Orders by local weekday (rows, Monday first) and hour (24 columns)."""
    zone = ZoneInfo(timezone)
    grid = [[0] * 24 for _ in WEEKDAYS]
    for b in buckets:
        local = bucket_instant(b.bucket).astimezone(zone)
        grid[local.weekday()][local.hour] += b.orders
    return grid


@dataclass(frozen=True, slots=True)
class Amount:
    currency: str
    amount: int


def amounts(pairs: Iterable[tuple[str, int]]) -> list[Amount]:
    """Sums per currency, never across currencies, ordered by currency."""
    totals: dict[str, int] = {}
    for currency, amount in pairs:
        totals[currency] = totals.get(currency, 0) + amount
    return [Amount(c, totals[c]) for c in sorted(totals)]


@dataclass(frozen=True, slots=True)
class ChannelCost:
    channel: str
    customers: int
    """Referred customers acquired through the channel in the range."""
    costs: list[Amount]
    per_customer: list[Amount | None]
    """``costs`` divided by ``customers`` per currency; None entries when no customer was acquired."""


def channel_costs(customers: Mapping[str, int], costs: Iterable[tuple[str, str, int]]) -> list[ChannelCost]:
    """Cost per acquired customer by channel from ``(channel, currency, amount)`` cost lines."""
    out = []
    for channel in CHANNELS:
        total = amounts((c, a) for ch, c, a in costs if ch == channel)
        n = customers.get(channel, 0)
        out.append(ChannelCost(channel, n, total, [_per(x, n) for x in total]))
    return out


def _per(total: Amount, n: int) -> Amount | None:
    value = per_unit(total.amount, n)
    return None if value is None else Amount(total.currency, value)


def csv_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[list[str]]:
    """A header and rows as CSV cells: None as an empty cell, text made spreadsheet-safe."""

    def cell(v: object) -> str:
        return "" if v is None else spreadsheet_safe(str(v))

    return [list(header), *([cell(v) for v in row] for row in rows)]


_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(text: str) -> str:
    """JSON text made safe inside an HTML ``<script>`` element: no ``</script>``, no ``<!--``, same value."""
    return "".join(_SCRIPT_ESCAPES.get(ch, ch) for ch in text)

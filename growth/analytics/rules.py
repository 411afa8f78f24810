"""Pure analytics rules: date ranges in the program's time zone, ratios in basis points, CSV rows.

Orders are counted in SQL per 15-minute UTC bucket (every time zone's offset is a multiple of
15 minutes); these rules fold the buckets into the program's local days and weekday-hours.
"""

from __future__ import annotations

from bisect import bisect_right
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
DAY_SECONDS = 86_400
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


def _utc_offset(bucket: int, zone: ZoneInfo) -> int:
    offset = bucket_instant(bucket).astimezone(zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


@dataclass(frozen=True, slots=True)
class _Offsets:
    """A zone's UTC offsets over a span of buckets: ``seconds[i]`` from bucket ``starts[i]`` on."""

    starts: list[int]
    seconds: list[int]

    def local_seconds(self, bucket: int) -> int:
        """The bucket's start as local wall-clock seconds since the epoch (integer arithmetic only)."""
        return bucket * BUCKET_SECONDS + self.seconds[bisect_right(self.starts, bucket) - 1]


def _offsets(first: int, last: int, zone: ZoneInfo) -> _Offsets:
    """The zone's offsets from bucket ``first`` to ``last``: one look-up a UTC day, bisected at a change.

    A year has some 35,000 buckets; converting each through ``zoneinfo`` took 150-300 ms of CPU per
    chart, this needs about 400 conversions. Exact while a zone's offset never changes twice within one day,
    which no zone of the tz database does.
    """
    step = DAY_SECONDS // BUCKET_SECONDS
    starts, seconds = [first], [_utc_offset(first, zone)]
    lo = first
    while lo < last:
        hi = min(lo + step, last)
        if (new := _utc_offset(hi, zone)) != seconds[-1]:
            before, after = lo, hi  # the offset changes at a bucket in (before, after]
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (
                    (middle, after) if _utc_offset(middle, zone) == seconds[-1] else (before, middle)
                )
            starts.append(after)
            seconds.append(new)
        lo = hi
    return _Offsets(starts, seconds)


def _local_seconds(buckets: list[BucketCount], zone: ZoneInfo) -> list[int]:
    if not buckets:
        return []
    offsets = _offsets(min(b.bucket for b in buckets), max(b.bucket for b in buckets), zone)
    return [offsets.local_seconds(b.bucket) for b in buckets]


def daily_series(buckets: Iterable[BucketCount], rng: DateRange) -> DailySeries:
    """Orders per local day of the range, referred and the others (stacked, they make the total)."""
    buckets = list(buckets)
    days = rng.days
    first_day = (rng.first_on - date(1970, 1, 1)).days
    orders, referred = [0] * len(days), [0] * len(days)
    for b, local in zip(buckets, _local_seconds(buckets, ZoneInfo(rng.timezone)), strict=True):
        i = local // DAY_SECONDS - first_day
        if 0 <= i < len(days):
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
    buckets = list(buckets)
    grid = [[0] * 24 for _ in WEEKDAYS]
    for b, local in zip(buckets, _local_seconds(buckets, ZoneInfo(timezone)), strict=True):
        day, seconds = divmod(local, DAY_SECONDS)
        # 1 January 1970 was a Thursday (weekday 3, Monday being 0).
        grid[(day + 3) % 7][seconds // 3600] += b.orders
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

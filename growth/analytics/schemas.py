"""What the analytics API returns: labels and series, ready for a chart."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec


class AmountRead(msgspec.Struct):
    currency: str
    amount: int
    """Minor units of ``currency``."""


class RangeRead(msgspec.Struct):
    from_on: date = msgspec.field(name="from")
    to_on: date = msgspec.field(name="to")
    timezone: str
    campaign_id: UUID | None


class ChannelCostRead(msgspec.Struct):
    channel: str
    customers: int
    costs: list[AmountRead]
    per_customer: list[AmountRead | None]


class SummaryRead(msgspec.Struct):
    range: RangeRead
    clicks: int
    orders: int
    revenue: list[AmountRead]
    referred_orders: int
    referred_customers: int
    referred_revenue: list[AmountRead]
    conversion_bps: int | None
    """Referred orders per click; null without clicks."""
    referral_share_bps: int | None
    """Referred orders among all orders placed; null without orders."""
    reward_cost: list[AmountRead]
    commission_cost: list[AmountRead]
    cost_per_customer: list[ChannelCostRead]
    viral_coefficient_bps: int | None
    """Customers referred by customers, per referrer; null without referrers."""
    reviewed_orders: int
    hold_rate_bps: int | None
    reject_rate_bps: int | None
    share_submissions: int
    share_approvals: int


class SeriesRead(msgspec.Struct):
    name: str
    values: list[int]


class FunnelRead(msgspec.Struct):
    range: RangeRead
    labels: list[str]
    values: list[int]


class DailyRead(msgspec.Struct):
    range: RangeRead
    labels: list[str]
    """Local dates, ``YYYY-MM-DD``."""
    series: list[SeriesRead]
    """``referred_orders`` and ``other_orders``: stacked, they make ``orders``."""
    orders: list[int]


class HeatmapRead(msgspec.Struct):
    range: RangeRead
    weekdays: list[str]
    hours: list[int]
    values: list[list[int]]
    """``values[weekday][hour]``: orders placed then, in the program's time zone."""


class TopReferrerRead(msgspec.Struct):
    initials: str | None
    referred_customers: int
    referred_orders: int


class TopReferrersRead(msgspec.Struct):
    range: RangeRead
    labels: list[str]
    rows: list[TopReferrerRead]


class TopPartnerRead(msgspec.Struct):
    partner_id: UUID
    name: str | None
    referred_customers: int
    referred_orders: int
    revenue: list[AmountRead]


class TopPartnersRead(msgspec.Struct):
    range: RangeRead
    labels: list[str]
    rows: list[TopPartnerRead]

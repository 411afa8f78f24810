"""Analytics use cases: the figures of a date range, of one campaign or of all, and their CSV."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from growth.analytics import repository, rules
from growth.analytics.errors import CampaignNotFound, InvalidDateRange
from growth.analytics.repository import Scope
from growth.analytics.schemas import (
    AmountRead,
    ChannelCostRead,
    DailyRead,
    FunnelRead,
    HeatmapRead,
    RangeRead,
    SeriesRead,
    SummaryRead,
    TopPartnerRead,
    TopPartnersRead,
    TopReferrerRead,
    TopReferrersRead,
)
from growth.audit.rules import csv_text
from growth.core.ports import (
    CampaignTermsLookup,
    CostQuery,
    GrowthCosts,
    GrowthCostsLookup,
    PartnerNamesLookup,
)
from growth.customer.rules import initials

TOP_LIMIT = 10


class Filters:
    """A request's validated filters: the local date range and the campaign (None: all)."""

    def __init__(self, date_range: rules.DateRange, campaign_id: UUID | None) -> None:
        self.range = date_range
        self.campaign_id = campaign_id

    @property
    def scope(self) -> Scope:
        return Scope(self.range.start, self.range.end, self.campaign_id)

    def read(self) -> RangeRead:
        return RangeRead(self.range.first_on, self.range.last_on, self.range.timezone, self.campaign_id)


async def filters(
    session: AsyncSession,
    *,
    first: str | None,
    last: str | None,
    campaign_id: str | None,
    timezone: str,
    today: date,
    terms_lookup: CampaignTermsLookup,
) -> Filters:
    """Check the query's dates and campaign: 400 for a bad range, 404 for an unknown campaign."""
    try:
        date_range = rules.date_range(first, last, timezone=timezone, today=today)
    except rules.RangeError as exc:
        raise InvalidDateRange(str(exc)) from None
    if not campaign_id:
        return Filters(date_range, None)
    try:
        campaign_uuid = UUID(campaign_id)
    except ValueError:
        raise CampaignNotFound(f"no campaign {campaign_id!r}") from None
    if await terms_lookup(session, campaign_uuid) is None:
        raise CampaignNotFound(f"no campaign {campaign_id!r}")
    return Filters(date_range, campaign_uuid)


def _amounts(pairs: Iterable[tuple[str, int]]) -> list[AmountRead]:
    return [AmountRead(a.currency, a.amount) for a in rules.amounts(pairs)]


def _cost_query(f: Filters) -> CostQuery:
    scope = f.scope
    campaign_orders = None if f.campaign_id is None else repository.campaign_order_ids(f.campaign_id)
    return CostQuery(
        scope.start, scope.end, f.campaign_id, repository.referred_order_ids(scope), campaign_orders
    )


async def _channel_customers(
    session: AsyncSession, scope: Scope, terms_lookup: CampaignTermsLookup
) -> dict[str, int]:
    customers: dict[str, int] = {}
    for campaign_id, is_partner, n in await repository.customers_by_source(session, scope):
        terms = None if is_partner or campaign_id is None else await terms_lookup(session, campaign_id)
        channel = (
            "partner"
            if is_partner
            else ("social_share" if terms and terms.kind == "social_share" else "referral")
        )
        customers[channel] = customers.get(channel, 0) + n
    return customers


@dataclass(frozen=True, slots=True)
class _Figures:
    """What the summary is computed from (the dashboard derives the funnel from it too)."""

    clicks: int
    facts: list[repository.CurrencyFacts]
    counts: repository.ReferredCounts
    reviews: tuple[int, int, int]
    costs: GrowthCosts
    customers: dict[str, int]


async def _figures(
    session: AsyncSession, f: Filters, *, costs_lookup: GrowthCostsLookup, terms_lookup: CampaignTermsLookup
) -> _Figures:
    scope = f.scope
    return _Figures(
        clicks=await repository.count_clicks(session, scope),
        facts=await repository.currency_facts(session, scope),
        counts=await repository.referred_counts(session, scope),
        reviews=await repository.review_counts(session, scope),
        costs=await costs_lookup(session, _cost_query(f)),
        customers=await _channel_customers(session, scope, terms_lookup),
    )


async def summary(
    session: AsyncSession, f: Filters, *, costs_lookup: GrowthCostsLookup, terms_lookup: CampaignTermsLookup
) -> SummaryRead:
    """Every figure of the range: clicks, orders, revenue, conversion, costs, firewall rates, shares."""
    return _summary(f, await _figures(session, f, costs_lookup=costs_lookup, terms_lookup=terms_lookup))


def _summary(f: Filters, figures: _Figures) -> SummaryRead:
    clicks, facts, counts = figures.clicks, figures.facts, figures.counts
    costs, customers = figures.costs, figures.customers
    orders, referred_orders = sum(x.orders for x in facts), sum(x.referred for x in facts)
    reviewed, held, rejected = figures.reviews
    lines = [(x.channel, x.currency, x.amount) for x in (*costs.rewards, *costs.commissions)]
    return SummaryRead(
        range=f.read(),
        clicks=clicks,
        orders=orders,
        revenue=_amounts((x.currency, x.revenue) for x in facts),
        referred_orders=referred_orders,
        referred_customers=counts.customers,
        referred_revenue=_amounts((x.currency, x.referred_revenue) for x in facts if x.referred),
        conversion_bps=rules.ratio_bps(referred_orders, clicks),
        referral_share_bps=rules.ratio_bps(referred_orders, orders),
        reward_cost=_amounts((x.currency, x.amount) for x in costs.rewards),
        commission_cost=_amounts((x.currency, x.amount) for x in costs.commissions),
        cost_per_customer=[
            ChannelCostRead(
                c.channel,
                c.customers,
                [AmountRead(a.currency, a.amount) for a in c.costs],
                [None if a is None else AmountRead(a.currency, a.amount) for a in c.per_customer],
            )
            for c in rules.channel_costs(customers, lines)
        ],
        viral_coefficient_bps=rules.ratio_bps(counts.referees, counts.referrers),
        reviewed_orders=reviewed,
        hold_rate_bps=rules.ratio_bps(held, reviewed),
        reject_rate_bps=rules.ratio_bps(rejected, reviewed),
        share_submissions=costs.share_submissions,
        share_approvals=costs.share_approvals,
    )


async def funnel(session: AsyncSession, f: Filters, *, costs_lookup: GrowthCostsLookup) -> FunnelRead:
    """Clicks -> referred orders -> closed -> rewarded."""
    clicks = await repository.count_clicks(session, f.scope)
    facts = await repository.currency_facts(session, f.scope)
    costs = await costs_lookup(session, _cost_query(f))
    return _funnel(f, clicks, facts, costs.rewarded_orders)


def _funnel(f: Filters, clicks: int, facts: list[repository.CurrencyFacts], rewarded: int) -> FunnelRead:
    referred, closed = sum(x.referred for x in facts), sum(x.closed for x in facts)
    return FunnelRead(f.read(), list(rules.FUNNEL_STAGES), [clicks, referred, closed, rewarded])


async def daily(session: AsyncSession, f: Filters) -> DailyRead:
    """Orders per local day, the referred ones stacked on the others."""
    return _daily(f, await repository.order_buckets(session, f.scope))


def _daily(f: Filters, buckets: list[rules.BucketCount]) -> DailyRead:
    series = rules.daily_series(buckets, f.range)
    return DailyRead(
        f.read(),
        series.labels,
        [
            SeriesRead("referred_orders", series.referred_orders),
            SeriesRead("other_orders", series.other_orders),
        ],
        series.orders,
    )


async def heatmap(session: AsyncSession, f: Filters) -> HeatmapRead:
    """Orders by local weekday and hour."""
    return _heatmap(f, await repository.order_buckets(session, f.scope))


def _heatmap(f: Filters, buckets: list[rules.BucketCount]) -> HeatmapRead:
    grid = rules.heatmap(buckets, f.range.timezone)
    return HeatmapRead(f.read(), list(rules.WEEKDAYS), list(range(24)), grid)


async def top_referrers(session: AsyncSession, f: Filters) -> TopReferrersRead:
    """The customers who brought the most referred orders (initials only)."""
    rows = [
        TopReferrerRead(initials(name), customers, orders)
        for _, name, customers, orders in await repository.top_referrers(session, f.scope, limit=TOP_LIMIT)
    ]
    return TopReferrersRead(f.read(), [r.initials or "?" for r in rows], rows)


async def top_partners(
    session: AsyncSession, f: Filters, *, names_lookup: PartnerNamesLookup
) -> TopPartnersRead:
    """The partners who brought the most referred orders, with their revenue per currency."""
    top = await repository.top_partners(session, f.scope, limit=TOP_LIMIT)
    ids = [i for i, _, _ in top]
    names = await names_lookup(session, ids)
    revenue = await repository.partner_revenue(session, f.scope, ids)
    rows = [
        TopPartnerRead(i, names.get(i), customers, orders, _amounts((c, a) for p, c, a in revenue if p == i))
        for i, customers, orders in top
    ]
    return TopPartnersRead(f.read(), [r.name or str(r.partner_id) for r in rows], rows)


def _money(amounts: list[AmountRead]) -> str:
    return " ".join(f"{a.currency} {a.amount}" for a in amounts)


def summary_csv(s: SummaryRead) -> str:
    """The summary as ``figure,channel,currency,value`` rows (amounts in minor units)."""
    rows: list[tuple[object, ...]] = [
        (name, "", "", getattr(s, name))
        for name in ("clicks", "orders", "referred_orders", "referred_customers", "conversion_bps")
    ]
    rows += [
        (name, "", "", getattr(s, name))
        for name in (
            "referral_share_bps",
            "viral_coefficient_bps",
            "reviewed_orders",
            "hold_rate_bps",
            "reject_rate_bps",
            "share_submissions",
            "share_approvals",
        )
    ]
    for name in ("revenue", "referred_revenue", "reward_cost", "commission_cost"):
        rows += [(name, "", a.currency, a.amount) for a in getattr(s, name)]
    for c in s.cost_per_customer:
        rows.append(("acquired_customers", c.channel, "", c.customers))
        rows += [("channel_cost", c.channel, a.currency, a.amount) for a in c.costs]
        rows += [("cost_per_customer", c.channel, a.currency, a.amount) for a in c.per_customer if a]
    return csv_text(rules.csv_table(("figure", "channel", "currency", "value"), rows))


def funnel_csv(v: FunnelRead) -> str:
    return csv_text(rules.csv_table(("stage", "count"), zip(v.labels, v.values, strict=True)))


def daily_csv(v: DailyRead) -> str:
    referred, other = v.series[0].values, v.series[1].values
    return csv_text(
        rules.csv_table(
            ("date", "orders", "referred_orders", "other_orders"),
            zip(v.labels, v.orders, referred, other, strict=True),
        )
    )


def heatmap_csv(v: HeatmapRead) -> str:
    header = ("weekday", *(str(h) for h in v.hours))
    return csv_text(
        rules.csv_table(header, ((day, *row) for day, row in zip(v.weekdays, v.values, strict=True)))
    )


def top_referrers_csv(v: TopReferrersRead) -> str:
    rows = ((r.initials, r.referred_customers, r.referred_orders) for r in v.rows)
    return csv_text(rules.csv_table(("initials", "referred_customers", "referred_orders"), rows))


def top_partners_csv(v: TopPartnersRead) -> str:
    rows = (
        (r.partner_id, r.name, r.referred_customers, r.referred_orders, _money(r.revenue)) for r in v.rows
    )
    return csv_text(
        rules.csv_table(("partner_id", "name", "referred_customers", "referred_orders", "revenue"), rows)
    )


@dataclass(frozen=True)
class Dashboard:
    """Marketing's analytics page: every figure of the filters, as the API returns each of them."""

    summary: SummaryRead
    funnel: FunnelRead
    daily: DailyRead
    heatmap: HeatmapRead
    top_referrers: TopReferrersRead
    top_partners: TopPartnersRead

    def charts_json(self) -> str:
        """The charts' data for a ``<script type="application/json">`` element, keyed like the API's paths."""
        data = {
            "funnel": self.funnel,
            "daily": self.daily,
            "heatmap": self.heatmap,
            "top-referrers": self.top_referrers,
            "top-partners": self.top_partners,
        }
        return rules.script_json(msgspec.json.encode(data).decode())


async def dashboard(
    session: AsyncSession,
    f: Filters,
    *,
    costs_lookup: GrowthCostsLookup,
    terms_lookup: CampaignTermsLookup,
    names_lookup: PartnerNamesLookup,
) -> Dashboard:
    """Every figure of the filters, for the dashboard page.

    The same numbers as the API's, each query run once: the funnel's stages are figures of the
    summary, and the daily chart and the heatmap fold the same 15-minute buckets.
    """
    x = await _figures(session, f, costs_lookup=costs_lookup, terms_lookup=terms_lookup)
    buckets = await repository.order_buckets(session, f.scope)
    return Dashboard(
        _summary(f, x),
        _funnel(f, x.clicks, x.facts, x.costs.rewarded_orders),
        _daily(f, buckets),
        _heatmap(f, buckets),
        await top_referrers(session, f),
        await top_partners(session, f, names_lookup=names_lookup),
    )


CSV_EXPORTS = ("summary", "funnel", "daily", "heatmap", "top-referrers", "top-partners")


async def export_csv(
    session: AsyncSession,
    f: Filters,
    name: str,
    *,
    costs_lookup: GrowthCostsLookup,
    terms_lookup: CampaignTermsLookup,
    names_lookup: PartnerNamesLookup,
) -> str:
    """One of ``CSV_EXPORTS`` as CSV, built by the same function as the API's ``.csv`` of that name."""
    if name == "summary":
        return summary_csv(await summary(session, f, costs_lookup=costs_lookup, terms_lookup=terms_lookup))
    if name == "funnel":
        return funnel_csv(await funnel(session, f, costs_lookup=costs_lookup))
    if name == "daily":
        return daily_csv(await daily(session, f))
    if name == "heatmap":
        return heatmap_csv(await heatmap(session, f))
    if name == "top-referrers":
        return top_referrers_csv(await top_referrers(session, f))
    return top_partners_csv(await top_partners(session, f, names_lookup=names_lookup))

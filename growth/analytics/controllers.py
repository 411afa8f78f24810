"""The analytics API (marketing and admin; finance may read): JSON for charts, CSV with the same numbers."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.analytics import service as analytics_service
from growth.analytics.errors import CampaignNotFound
from growth.analytics.schemas import (
    DailyRead,
    FunnelRead,
    HeatmapRead,
    SummaryRead,
    TopPartnersRead,
    TopReferrersRead,
)
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import DomainError
from growth.core.ports import (
    CampaignChoicesLookup,
    CampaignTermsLookup,
    GrowthCostsLookup,
    PartnerNamesLookup,
)
from growth.core.time import utc_now
from growth.settings import Settings

Filters = analytics_service.Filters


async def provide_filters(
    db_session: AsyncSession,
    settings: Settings,
    terms_lookup: CampaignTermsLookup,
    first: Annotated[
        str | None, QueryParameter(name="from", description="First local day, YYYY-MM-DD")
    ] = None,
    last: Annotated[str | None, QueryParameter(name="to", description="Last local day (included)")] = None,
    campaign_id: Annotated[str | None, Parameter(description="One campaign; all when absent")] = None,
) -> Filters:
    """The date range (the last 30 days by default) and campaign shared by every figure."""
    return await _filters(db_session, settings, terms_lookup, first, last, campaign_id)


async def _filters(
    db_session: AsyncSession,
    settings: Settings,
    terms_lookup: CampaignTermsLookup,
    first: str | None,
    last: str | None,
    campaign_id: str | None,
) -> Filters:
    today = utc_now().astimezone(ZoneInfo(settings.timezone)).date()
    return await analytics_service.filters(
        db_session,
        first=first,
        last=last,
        campaign_id=campaign_id,
        timezone=settings.timezone,
        today=today,
        terms_lookup=terms_lookup,
    )


def _csv(text: str, name: str) -> Response[str]:
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="analytics-{name}.csv"'},
    )


class AnalyticsController(Controller):
    path = "/api/analytics"
    tags = ["Analytics"]
    guards = [api_key_guard]
    opt = roles(Role.marketing, Role.finance)
    security = [{"ApiKey": []}]
    dependencies = {"filters": Provide(provide_filters)}

    @get("/summary", summary="Every figure of a date range, of one campaign or of all")
    async def summary(
        self,
        db_session: AsyncSession,
        filters: Filters,
        analytics_costs: GrowthCostsLookup,
        terms_lookup: CampaignTermsLookup,
    ) -> SummaryRead:
        return await analytics_service.summary(
            db_session, filters, costs_lookup=analytics_costs, terms_lookup=terms_lookup
        )

    @get("/summary.csv", summary="The summary as CSV", media_type="text/csv")
    async def summary_csv(
        self,
        db_session: AsyncSession,
        filters: Filters,
        analytics_costs: GrowthCostsLookup,
        terms_lookup: CampaignTermsLookup,
    ) -> Response[str]:
        view = await analytics_service.summary(
            db_session, filters, costs_lookup=analytics_costs, terms_lookup=terms_lookup
        )
        return _csv(analytics_service.summary_csv(view), "summary")

    @get("/funnel", summary="Clicks, referred orders, closed, rewarded")
    async def funnel(
        self, db_session: AsyncSession, filters: Filters, analytics_costs: GrowthCostsLookup
    ) -> FunnelRead:
        return await analytics_service.funnel(db_session, filters, costs_lookup=analytics_costs)

    @get("/funnel.csv", summary="The funnel as CSV", media_type="text/csv")
    async def funnel_csv(
        self, db_session: AsyncSession, filters: Filters, analytics_costs: GrowthCostsLookup
    ) -> Response[str]:
        view = await analytics_service.funnel(db_session, filters, costs_lookup=analytics_costs)
        return _csv(analytics_service.funnel_csv(view), "funnel")

    @get("/daily", summary="Orders per local day, referred orders stacked")
    async def daily(self, db_session: AsyncSession, filters: Filters) -> DailyRead:
        return await analytics_service.daily(db_session, filters)

    @get("/daily.csv", summary="Daily orders as CSV", media_type="text/csv")
    async def daily_csv(self, db_session: AsyncSession, filters: Filters) -> Response[str]:
        return _csv(analytics_service.daily_csv(await analytics_service.daily(db_session, filters)), "daily")

    @get("/heatmap", summary="Orders by local weekday and hour")
    async def heatmap(self, db_session: AsyncSession, filters: Filters) -> HeatmapRead:
        return await analytics_service.heatmap(db_session, filters)

    @get("/heatmap.csv", summary="The heatmap as CSV", media_type="text/csv")
    async def heatmap_csv(self, db_session: AsyncSession, filters: Filters) -> Response[str]:
        return _csv(
            analytics_service.heatmap_csv(await analytics_service.heatmap(db_session, filters)), "heatmap"
        )

    @get("/top-referrers", summary="The customers who referred the most orders (initials only)")
    async def top_referrers(self, db_session: AsyncSession, filters: Filters) -> TopReferrersRead:
        return await analytics_service.top_referrers(db_session, filters)

    @get("/top-referrers.csv", summary="Top referrers as CSV", media_type="text/csv")
    async def top_referrers_csv(self, db_session: AsyncSession, filters: Filters) -> Response[str]:
        view = await analytics_service.top_referrers(db_session, filters)
        return _csv(analytics_service.top_referrers_csv(view), "top-referrers")

    @get("/top-partners", summary="The partners who brought the most orders")
    async def top_partners(
        self, db_session: AsyncSession, filters: Filters, partner_names: PartnerNamesLookup
    ) -> TopPartnersRead:
        return await analytics_service.top_partners(db_session, filters, names_lookup=partner_names)

    @get("/top-partners.csv", summary="Top partners as CSV", media_type="text/csv")
    async def top_partners_csv(
        self, db_session: AsyncSession, filters: Filters, partner_names: PartnerNamesLookup
    ) -> Response[str]:
        view = await analytics_service.top_partners(db_session, filters, names_lookup=partner_names)
        return _csv(analytics_service.top_partners_csv(view), "top-partners")


class AnalyticsPages(Controller):
    """Marketing's analytics dashboard: the API's figures as cards and charts, and their CSV."""

    path = "/marketing/analytics"
    guards = [dashboard_guard]
    opt = roles(Role.marketing)
    include_in_schema = False

    @get("/")
    async def dashboard_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        analytics_costs: GrowthCostsLookup,
        partner_names: PartnerNamesLookup,
        campaign_choices: CampaignChoicesLookup,
        first: Annotated[str | None, QueryParameter(name="from")] = None,
        last: Annotated[str | None, QueryParameter(name="to")] = None,
        campaign_id: str | None = None,
    ) -> Template:
        context = dashboard_context(request, settings) | {
            "form": {"from": first or "", "to": last or "", "campaign_id": campaign_id or ""},
            "campaigns": await campaign_choices(db_session),
            "view": None,
            "error": None,
        }
        try:
            filters = await _filters(db_session, settings, terms_lookup, first, last, campaign_id)
        except DomainError as exc:
            error = "campaign" if isinstance(exc, CampaignNotFound) else "range"
            return Template(
                template_name="growth/analytics/dashboard.html.j2",
                context=context | {"error": error},
                status_code=exc.status_code,
                headers={"Cache-Control": "no-store"},
            )
        view = await analytics_service.dashboard(
            db_session,
            filters,
            costs_lookup=analytics_costs,
            terms_lookup=terms_lookup,
            names_lookup=partner_names,
        )
        query = {"from": filters.range.first_on.isoformat(), "to": filters.range.last_on.isoformat()}
        if filters.campaign_id:
            query["campaign_id"] = str(filters.campaign_id)
        return Template(
            template_name="growth/analytics/dashboard.html.j2",
            context=context | {"view": view, "query": urlencode(query), "range": filters.read()},
            headers={"Cache-Control": "no-store"},
        )

    @get([f"/{name}.csv" for name in analytics_service.CSV_EXPORTS])
    async def csv_export(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        analytics_costs: GrowthCostsLookup,
        partner_names: PartnerNamesLookup,
        first: Annotated[str | None, QueryParameter(name="from")] = None,
        last: Annotated[str | None, QueryParameter(name="to")] = None,
        campaign_id: str | None = None,
    ) -> Response[str]:
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
        filters = await _filters(db_session, settings, terms_lookup, first, last, campaign_id)
        text = await analytics_service.export_csv(
            db_session,
            filters,
            name,
            costs_lookup=analytics_costs,
            terms_lookup=terms_lookup,
            names_lookup=partner_names,
        )
        return _csv(text, name)

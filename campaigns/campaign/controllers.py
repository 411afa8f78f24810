from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import forms
from campaigns.campaign import service as campaign_service
from campaigns.campaign.errors import IllegalStatusChange, InvalidCampaign
from campaigns.campaign.forms import CampaignForm, StatusForm
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import AttributionModel, CampaignKind, CampaignStatus
from campaigns.campaign.schemas import CampaignCreate, CampaignRead, CampaignUpdate
from campaigns.reward import forms as reward_forms
from campaigns.reward import service as reward_service
from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.paging import Offset
from growth.risk import service as risk_service
from growth.risk.service import RiskPolicy
from growth.settings import Settings


def to_read(c: Campaign, risk_policy: RiskPolicy) -> CampaignRead:
    return CampaignRead(
        id=c.id,
        name=c.name,
        kind=CampaignKind(c.kind),
        status=CampaignStatus(c.status),
        landing_url=c.landing_url,
        currency=c.currency,
        hashtag=c.hashtag,
        attribution_window_days=c.attribution_window_days,
        attribution_model=AttributionModel(c.attribution_model),
        new_customers_only=c.new_customers_only,
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        hold_days=c.hold_days,
        min_order_amount=c.min_order_amount,
        budget_amount=c.budget_amount,
        budget_spent=c.budget_spent,
        per_referrer_cap=c.per_referrer_cap,
        locale=c.locale,
        codes_issued=c.codes_issued,
        created_at=c.created_at,
        updated_at=c.updated_at,
        risk=dict(c.risk_overrides or {}),
        risk_effective=risk_service.effective_settings(c.risk_overrides, program=risk_policy.program),
    )


BUDGET = ("budget_amount", "budget_spent", "currency")
"""What the audit log keeps of a campaign's budget change (minor units of ``currency``)."""


async def _update(
    request: Request[Any, Any, Any], db_session: AsyncSession, campaign_id: UUID, changes: dict[str, Any]
) -> Campaign:
    """Change a campaign; a change of its budget goes into the audit log, with what it was."""
    before = audit_service.snapshot(await campaign_service.get_campaign(db_session, campaign_id), *BUDGET)
    campaign = await campaign_service.update_campaign(db_session, campaign_id, **changes)
    after = audit_service.snapshot(campaign, *BUDGET)
    if after["budget_amount"] != before["budget_amount"]:
        await audit_service.record(
            db_session,
            action="campaign.budget_changed",
            subject_type="campaign",
            subject_id=str(campaign.id),
            before=before,
            after=after,
            actor=audit_service.actor_from_request(request),
        )
    return campaign


class CampaignController(Controller):
    """Campaigns run by marketing."""

    path = "/api/campaigns"
    tags = ["Campaigns"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @post("/", summary="Create a campaign")
    async def create_campaign(
        self, db_session: AsyncSession, settings: Settings, risk_policy: RiskPolicy, data: CampaignCreate
    ) -> CampaignRead:
        campaign = await campaign_service.create_campaign(
            db_session, default_currency=settings.default_currency, **msgspec.structs.asdict(data)
        )
        return to_read(campaign, risk_policy)

    @get("/", summary="List campaigns, newest first")
    async def list_campaigns(
        self,
        db_session: AsyncSession,
        risk_policy: RiskPolicy,
        status: CampaignStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Offset = 0,
    ) -> list[CampaignRead]:
        campaigns = await campaign_service.list_campaigns(
            db_session, status=status, limit=limit, offset=offset
        )
        return [to_read(c, risk_policy) for c in campaigns]

    @get("/{campaign_id:uuid}", summary="Read a campaign")
    async def get_campaign(
        self, db_session: AsyncSession, risk_policy: RiskPolicy, campaign_id: UUID
    ) -> CampaignRead:
        return to_read(await campaign_service.get_campaign(db_session, campaign_id), risk_policy)

    @patch("/{campaign_id:uuid}", summary="Change a campaign (status moves: draft→active⇄paused→ended)")
    async def update_campaign(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        risk_policy: RiskPolicy,
        campaign_id: UUID,
        data: CampaignUpdate,
    ) -> CampaignRead:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        campaign = await _update(request, db_session, campaign_id, changes)
        return to_read(campaign, risk_policy)


PAGES = "/marketing/campaigns"
PAGE_SIZE = 200
FormData = Annotated[CampaignForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Refused = (InvalidCampaign, IllegalStatusChange)
"""What a form or a status button can run into; shown on the page, in red, with what was typed."""


async def _rewards_part(db_session: AsyncSession, campaign_id: UUID, currency: str) -> dict[str, Any]:
    """The campaign page's reward rules and gift-pack stock warnings."""
    rules = await reward_service.list_rules(db_session, campaign_id)
    warnings = await reward_service.stock_warnings(db_session, campaign_id)
    return {
        "rules": reward_forms.rule_views(rules, currency),
        "stock_warnings": reward_forms.stock_warning_views(warnings),
    }


def _page(
    request: Request[Any, Any, Any], settings: Settings, name: str, *, status_code: int = 200, **values: Any
) -> Template:
    return Template(
        template_name=f"campaigns/campaign/{name}.html.j2",
        context=dashboard_context(request, settings) | values,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


class CampaignPages(Controller):
    """Marketing's campaign pages: list, create, edit, and the status buttons (signed-in people)."""

    path = PAGES
    guards = [dashboard_guard]
    opt = roles(Role.marketing)
    include_in_schema = False

    @get("/")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        status: CampaignStatus | None = None,
        notice: str | None = None,
    ) -> Template:
        campaigns = await campaign_service.list_campaigns(db_session, status=status, limit=PAGE_SIZE)
        rows = [forms.summary(c) for c in campaigns]
        return _page(request, settings, "list", campaigns=rows, status_filter=status, notice=notice)

    @get("/new")
    async def new_page(self, request: Request[Any, Any, Any], settings: Settings) -> Template:
        form = forms.blank_form(
            default_currency=settings.default_currency,
            attribution_window_days=settings.attribution_window_days,
        )
        return _page(request, settings, "new", form=form, error=None)

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, data: FormData
    ) -> Response[Any]:
        try:
            values = forms.parse_new(data, default_currency=settings.default_currency, tz=settings.timezone)
            campaign = await campaign_service.create_campaign(
                db_session, default_currency=settings.default_currency, **values
            )
        except Refused as error:
            return _page(
                request,
                settings,
                "new",
                form=data,
                error=forms.page_error(error),
                status_code=error.status_code,
            )
        return Redirect(f"{PAGES}/{campaign.id}?notice=created", status_code=303)

    @get("/{campaign_id:uuid}")
    async def detail_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        risk_policy: RiskPolicy,
        campaign_id: UUID,
        notice: str | None = None,
        error: str | None = None,
        error_message: str | None = None,
    ) -> Template:
        campaign = await campaign_service.get_campaign(db_session, campaign_id)
        form = forms.form_of(campaign, tz=settings.timezone)
        risk = to_read(campaign, risk_policy)
        return _page(
            request,
            settings,
            "detail",
            campaign=forms.summary(campaign),
            form=form,
            notice=notice,
            **await _rewards_part(db_session, campaign_id, campaign.currency),
            # The reward-rule forms redirect back with what went wrong (``?error=<code>&error_message=``).
            rule_error={"code": error, "message": error_message or ""} if error else None,
            risk_effective=risk.risk_effective,
            risk_overrides=risk.risk,
        )

    @post("/{campaign_id:uuid}")
    async def save(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        campaign_id: UUID,
        data: FormData,
    ) -> Response[Any]:
        # Amounts are typed in the campaign's own currency, so it is read first.
        campaign = await campaign_service.get_campaign(db_session, campaign_id)
        try:
            changes = forms.parse_edit(data, currency=campaign.currency, tz=settings.timezone)
            await _update(request, db_session, campaign_id, changes)
        except Refused as error:
            view, problem = forms.summary(campaign), forms.page_error(error)
            return _page(
                request,
                settings,
                "detail",
                campaign=view,
                form=data,
                error=problem,
                status_code=error.status_code,
            )
        return Redirect(f"{PAGES}/{campaign_id}?notice=saved", status_code=303)

    @post("/{campaign_id:uuid}/status")
    async def move(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        campaign_id: UUID,
        data: Annotated[StatusForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        try:
            campaign = await campaign_service.update_campaign(db_session, campaign_id, status=data.status)
        except Refused as error:
            # Nothing changed: show the campaign as it is, with why the button was refused.
            campaign = await campaign_service.get_campaign(db_session, campaign_id)
            view, form = forms.summary(campaign), forms.form_of(campaign, tz=settings.timezone)
            problem = forms.page_error(error, target=data.status)
            return _page(
                request,
                settings,
                "detail",
                campaign=view,
                form=form,
                error=problem,
                status_code=error.status_code,
            )
        return Redirect(f"{PAGES}/{campaign.id}?notice={campaign.status}", status_code=303)

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import AttributionModel, CampaignKind, CampaignStatus
from campaigns.campaign.schemas import CampaignCreate, CampaignRead, CampaignUpdate
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.settings import Settings


def to_read(c: Campaign) -> CampaignRead:
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
    )


class CampaignController(Controller):
    """Campaigns run by marketing."""

    path = "/api/campaigns"
    tags = ["Campaigns"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @post("/", summary="Create a campaign")
    async def create_campaign(
        self, db_session: AsyncSession, settings: Settings, data: CampaignCreate
    ) -> CampaignRead:
        campaign = await campaign_service.create_campaign(
            db_session, default_currency=settings.default_currency, **msgspec.structs.asdict(data)
        )
        return to_read(campaign)

    @get("/", summary="List campaigns, newest first")
    async def list_campaigns(
        self,
        db_session: AsyncSession,
        status: CampaignStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[CampaignRead]:
        campaigns = await campaign_service.list_campaigns(
            db_session, status=status, limit=limit, offset=offset
        )
        return [to_read(c) for c in campaigns]

    @get("/{campaign_id:uuid}", summary="Read a campaign")
    async def get_campaign(self, db_session: AsyncSession, campaign_id: UUID) -> CampaignRead:
        return to_read(await campaign_service.get_campaign(db_session, campaign_id))

    @patch("/{campaign_id:uuid}", summary="Change a campaign (status moves: draft→active⇄paused→ended)")
    async def update_campaign(
        self, db_session: AsyncSession, campaign_id: UUID, data: CampaignUpdate
    ) -> CampaignRead:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return to_read(await campaign_service.update_campaign(db_session, campaign_id, **changes))

"""Campaign use cases: create, read, list, update (status moves checked), and the terms ``growth`` follows."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import repository
from campaigns.campaign.errors import (
    CampaignNotFound,
    IllegalStatusChange,
    InvalidCampaign,
    InvalidRiskSettings,
)
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import (
    CampaignStatus,
    can_move,
    hashtag_problem,
    is_running,
    landing_url_problem,
    normalize_hashtag,
    period_problem,
    running_changes_at,
)
from growth.core.cache import CAMPAIGN_CHANGED, invalidate_after_commit
from growth.core.events.service import DomainEvent
from growth.core.money import is_known_currency
from growth.core.ports import CampaignTerms
from growth.core.time import utc_now
from growth.risk import service as risk_service

log = structlog.get_logger()


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the fields being set; raises ``InvalidCampaign``."""
    if (url := values.get("landing_url")) is not None and (problem := landing_url_problem(url)):
        raise InvalidCampaign(problem)
    if (currency := values.get("currency")) is not None and not is_known_currency(currency):
        raise InvalidCampaign(f"unknown currency {currency!r} (ISO 4217 expected)")
    if (tag := values.get("hashtag")) is not None:
        if problem := hashtag_problem(tag):
            raise InvalidCampaign(problem)
        values["hashtag"] = normalize_hashtag(tag)
    for key in ("starts_at", "ends_at"):
        if (at := values.get(key)) is not None and at.tzinfo is None:
            raise InvalidCampaign(f"{key} needs a time zone (e.g. 2026-12-01T00:00:00+08:00)")
    if (name := values.get("name")) is not None:
        if not name.strip():
            raise InvalidCampaign("name must not be blank")
        values["name"] = name.strip()
    if "risk" in values:
        try:
            values["risk_overrides"] = risk_service.checked_overrides(values.pop("risk") or {})
        except ValueError as exc:
            raise InvalidRiskSettings(f"risk: {exc}") from exc
    return values


async def create_campaign(session: AsyncSession, *, default_currency: str, **fields: Any) -> Campaign:
    """Create a campaign in the status asked for (draft unless said otherwise)."""
    fields["currency"] = fields.get("currency") or default_currency
    if fields.get("status", CampaignStatus.draft) not in (CampaignStatus.draft, CampaignStatus.active):
        raise IllegalStatusChange("a new campaign starts as draft or active", current=None)
    campaign = Campaign(**_validated(fields))
    _check_whole(campaign)
    session.add(campaign)
    await session.flush()
    return campaign


def _check_whole(campaign: Campaign) -> None:
    """Rules across fields, checked on the campaign as it will be saved."""
    if problem := period_problem(campaign.starts_at, campaign.ends_at):
        raise InvalidCampaign(problem)
    if campaign.kind == "social_share" and campaign.status != "draft" and not campaign.hashtag:
        raise InvalidCampaign("a social_share campaign needs a hashtag before it runs")


async def get_campaign(session: AsyncSession, campaign_id: UUID) -> Campaign:
    """One campaign, or ``CampaignNotFound``."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"campaign {campaign_id} not found")
    return campaign


async def list_campaigns(
    session: AsyncSession, *, status: CampaignStatus | None = None, limit: int = 50, offset: int = 0
) -> list[Campaign]:
    """Campaigns, newest first."""
    return await repository.list_campaigns(session, status=status, limit=limit, offset=offset)


async def campaign_choices(session: AsyncSession) -> list[tuple[UUID, str]]:
    """Every campaign's id and name, newest first: what a campaign filter offers."""
    return await repository.campaign_choices(session)


async def update_campaign(session: AsyncSession, campaign_id: UUID, **changes: Any) -> Campaign:
    """Change fields; a status change must be a legal move (409 with the current status otherwise)."""
    campaign = await get_campaign(session, campaign_id)
    target = changes.get("status")
    if target is not None and not can_move(CampaignStatus(campaign.status), target):
        raise IllegalStatusChange(
            f"campaign is {campaign.status}; it cannot become {target}", current=campaign.status
        )
    for key, value in _validated(changes).items():
        setattr(campaign, key, value)
    _check_whole(campaign)
    await session.flush()
    # Links served from caches follow the campaign's new status, landing page and period.
    invalidate_after_commit(session, CAMPAIGN_CHANGED, str(campaign.id))
    return campaign


async def lock_campaign(session: AsyncSession, campaign_id: UUID) -> Campaign:
    """The campaign, its row locked until the transaction ends (budget changes go through this)."""
    campaign = await repository.get_for_update(session, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"campaign {campaign_id} not found")
    return campaign


async def get_terms(session: AsyncSession, campaign_id: UUID) -> CampaignTerms | None:
    """The campaign as ``growth`` needs it for links and codes (see ``growth.core.ports``)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    status, now = CampaignStatus(campaign.status), utc_now()
    return CampaignTerms(
        id=campaign.id,
        name=campaign.name,
        landing_url=campaign.landing_url,
        currency=campaign.currency,
        hashtag=campaign.hashtag,
        attribution_window_days=campaign.attribution_window_days,
        accepts_clicks=is_running(status, campaign.starts_at, campaign.ends_at, now),
        accepts_clicks_changes_at=running_changes_at(status, campaign.starts_at, campaign.ends_at, now),
        issues_codes=status is not CampaignStatus.ended,
        status=status.value,
        new_customers_only=campaign.new_customers_only and campaign.kind == "referral",
        first_click=campaign.attribution_model == "first_click",
        kind=campaign.kind,
        locale=campaign.locale,
        risk_overrides=dict(campaign.risk_overrides or {}),
    )


async def on_referral_code_issued(session: AsyncSession, event: DomainEvent) -> None:
    """Count the codes issued for a campaign (subscriber of ``referral_code.issued``)."""
    await repository.increment_codes_issued(session, UUID(event.payload["campaign_id"]))
    log.info("campaigns.campaign.code_counted", campaign_id=event.payload["campaign_id"])

"""Explicit async factories with keyword defaults; each flushes, the test decides when to commit."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignStatus
from growth.audit import service as audit_service
from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.customer import service as customer_service
from growth.customer.models import Customer
from growth.referral_code import service as referral_code_service
from growth.referral_code.models import ReferralCode
from payouts.partner import service as partner_service
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus
from payouts.provider import service as provider_service

_seq = itertools.count(1)


async def create_campaign(
    session: AsyncSession,
    *,
    name: str | None = None,
    status: CampaignStatus = CampaignStatus.active,
    landing_url: str = "https://shop.example/spring?utm_source=ref#top",
    currency: str = "CNY",
    hashtag: str | None = "#春日好物",
    **fields: Any,
) -> Campaign:
    """A campaign in ``status``; paused and ended ones are created active, then moved there."""
    start = status if status in (CampaignStatus.draft, CampaignStatus.active) else CampaignStatus.active
    campaign = await campaign_service.create_campaign(
        session,
        default_currency="USD",
        name=name or f"Campaign {next(_seq)}",
        status=start,
        landing_url=landing_url,
        currency=currency,
        hashtag=hashtag,
        **fields,
    )
    if status is not start:
        campaign = await campaign_service.update_campaign(session, campaign.id, status=status)
    return campaign


async def create_customer(
    session: AsyncSession,
    *,
    external_id: str | None = None,
    email: str | None = None,
    name: str | None = "Alice Chen",
) -> Customer:
    n = next(_seq)
    result = await customer_service.upsert_customer(
        session, external_id=external_id or f"cust-{n}", email=email or f"customer{n}@example.com", name=name
    )
    return result.customer


async def issue_code(
    session: AsyncSession, *, campaign: Campaign, customer: Customer, vanity_code: str | None = None
) -> ReferralCode:
    issued = await referral_code_service.issue_code(
        session,
        campaign_id=campaign.id,
        referrer=referral_code_service.Referrer(customer_id=customer.id),
        terms_lookup=campaign_service.get_terms,
        vanity_code=vanity_code,
    )
    return issued.referral_code


async def create_partner(
    session: AsyncSession,
    *,
    name: str = "Northwind Consulting",
    email: str | None = None,
    status: PartnerStatus = PartnerStatus.approved,
) -> Partner:
    return await partner_service.create_partner(
        session, name=name, email=email or f"p{next(_seq)}@example.com", status=status
    )


async def verify_for_payouts(
    session: AsyncSession, partner_id: UUID, *, now: datetime, has_account: bool = True
) -> None:
    """Finance verified the partner's identity and its payout account as it is now (payout-run gates)."""
    actor = audit_service.system_actor("tests.verify_for_payouts")
    await partner_service.set_identity_verified(session, partner_id, is_verified=True, actor=actor, now=now)
    if has_account:
        await provider_service.set_account_verified(
            session, partner_id, is_verified=True, actor=actor, now=now
        )


async def create_key(
    session: AsyncSession, *, role: Role = Role.admin, name: str = "test", subject_id: UUID | None = None
) -> str:
    """A key's secret; a partner key acts for ``subject_id`` or for a new partner."""
    if role is Role.partner and subject_id is None:
        subject_id = (await create_partner(session)).id
    return (await auth_service.create_key(session, name=name, role=role, subject_id=subject_id)).secret


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

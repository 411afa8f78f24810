"""Partner use cases: create, read, and issue a partner's referral code."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.email import is_valid_email
from growth.core.ports import CampaignTermsLookup
from growth.referral_code import service as referral_code_service
from payouts.partner.errors import InvalidPartner, PartnerNotApproved, PartnerNotFound
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus, may_share_links


async def create_partner(
    session: AsyncSession, *, name: str, email: str, status: PartnerStatus = PartnerStatus.approved
) -> Partner:
    """Create a partner (finance); applications come later."""
    if not is_valid_email(email):
        raise InvalidPartner(f"not an e-mail address: {email[:80]!r}")
    if not name.strip():
        raise InvalidPartner("name must not be blank")
    partner = Partner(name=name.strip(), email=email.strip(), status=status.value)
    session.add(partner)
    await session.flush()
    return partner


async def get_partner(session: AsyncSession, partner_id: UUID) -> Partner:
    """One partner, or ``PartnerNotFound``."""
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise PartnerNotFound(f"partner {partner_id} not found")
    return partner


async def issue_partner_code(
    session: AsyncSession,
    *,
    partner_id: UUID,
    campaign_id: UUID,
    terms_lookup: CampaignTermsLookup,
    vanity_code: str | None = None,
) -> referral_code_service.Issued:
    """Issue (or return) the code an approved partner shares for a campaign."""
    partner = await get_partner(session, partner_id)
    if not may_share_links(PartnerStatus(partner.status)):
        raise PartnerNotApproved(f"partner is {partner.status}; only approved partners get codes")
    return await referral_code_service.issue_code(
        session,
        campaign_id=campaign_id,
        referrer=referral_code_service.Referrer(partner_id=partner.id),
        terms_lookup=terms_lookup,
        vanity_code=vanity_code,
    )

"""Partner use cases: applications, creation by finance, the lifecycle, and a partner's referral codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.email import normalize_email
from growth.core.ports import CampaignTermsLookup
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from payouts.lead import service as lead_service
from payouts.partner import repository
from payouts.partner.errors import (
    InvalidPartner,
    NotAPartnerKey,
    PartnerNotApproved,
    PartnerNotFound,
    PartnerStatusChangeRefused,
)
from payouts.partner.models import Partner
from payouts.partner.rules import (
    PartnerStatus,
    may_share_links,
    normalize_country,
    profile_problem,
    reason_problem,
    reinstates_codes,
    releases_leads,
    revokes_codes,
    transition_problem,
)

log = structlog.get_logger()


@dataclass(frozen=True)
class Applied:
    partner: Partner
    created: bool


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def _new_partner(
    *,
    name: str,
    email: str,
    status: PartnerStatus,
    company: str | None,
    website: str | None,
    country: str | None,
    now: datetime,
) -> Partner:
    country = normalize_country(country)
    if problem := profile_problem(name=name, email=email, website=_clean(website), country=country):
        raise InvalidPartner(problem)
    return Partner(
        name=name.strip(),
        email=email.strip(),
        email_key=normalize_email(email),
        company=_clean(company),
        website=_clean(website),
        country=country,
        status=status.value,
        status_changed_at=now,
        approved_at=now if status is PartnerStatus.approved else None,
    )


async def create_partner(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    status: PartnerStatus = PartnerStatus.approved,
    company: str | None = None,
    website: str | None = None,
    country: str | None = None,
    now: datetime | None = None,
) -> Partner:
    """Create a partner directly (finance), approved unless told otherwise."""
    partner = _new_partner(
        name=name,
        email=email,
        status=status,
        company=company,
        website=website,
        country=country,
        now=now or utc_now(),
    )
    session.add(partner)
    await session.flush()
    return partner


async def apply(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    company: str | None = None,
    website: str | None = None,
    country: str | None = None,
    message: str | None = None,
    now: datetime,
) -> Applied:
    """Take a public application; a mailbox with an open application or partnership gets no second one."""
    partner = _new_partner(
        name=name,
        email=email,
        status=PartnerStatus.applied,
        company=company,
        website=website,
        country=country,
        now=now,
    )
    if (existing := await repository.get_open_by_email_key(session, partner.email_key)) is not None:
        log.info("payouts.partner.application_repeated", partner_id=str(existing.id))
        return Applied(existing, created=False)
    partner.application_message = _clean(message)
    session.add(partner)
    await session.flush()
    log.info("payouts.partner.applied", partner_id=str(partner.id))
    return Applied(partner, created=True)


async def get_partner(session: AsyncSession, partner_id: UUID, *, for_update: bool = False) -> Partner:
    """One partner, or ``PartnerNotFound``."""
    partner = await repository.get(session, partner_id, for_update=for_update)
    if partner is None:
        raise PartnerNotFound(f"partner {partner_id} not found")
    return partner


def acting_partner_id(subject_id: UUID | None) -> UUID:
    """The partner a partner key acts for; other keys (admin) act for nobody here."""
    if subject_id is None:
        raise NotAPartnerKey("this endpoint acts for one partner: call it with that partner's key")
    return subject_id


async def list_partners(
    session: AsyncSession, *, status: PartnerStatus | None = None, limit: int = 50, offset: int = 0
) -> list[Partner]:
    """Partners, newest first, optionally in one status."""
    return await repository.list_partners(
        session, status=status.value if status else None, limit=limit, offset=offset
    )


async def change_status(
    session: AsyncSession, partner_id: UUID, *, status: PartnerStatus, reason: str | None, now: datetime
) -> Partner:
    """Move a partner through its lifecycle; its codes and leads follow. The same status again is no move."""
    partner = await get_partner(session, partner_id, for_update=True)  # one move at a time
    current = PartnerStatus(partner.status)
    if problem := transition_problem(current, status):
        raise PartnerStatusChangeRefused(problem, current_status=current.value)
    if current is status:
        return partner
    if problem := reason_problem(status, reason):
        raise InvalidPartner(problem)
    if revokes_codes(status):
        await referral_code_service.revoke_partner_codes(session, partner.id, now=now)
    if reinstates_codes(current, status) and partner.status_changed_at is not None:
        # The suspension stamped the codes it revoked with its own instant: only those come back.
        await referral_code_service.reinstate_partner_codes(
            session, partner.id, revoked_at=partner.status_changed_at
        )
    if releases_leads(status):
        await lead_service.release_partner_leads(session, partner.id, now=now)
    partner.status, partner.status_reason, partner.status_changed_at = status.value, _clean(reason), now
    if status is PartnerStatus.approved and partner.approved_at is None:
        partner.approved_at = now
    await session.flush()
    log.info("payouts.partner.status_changed", partner_id=str(partner.id), status=status.value)
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
        raise PartnerNotApproved(
            f"partner is {partner.status}; only approved partners get codes", current_status=partner.status
        )
    return await referral_code_service.issue_code(
        session,
        campaign_id=campaign_id,
        referrer=referral_code_service.Referrer(partner_id=partner.id),
        terms_lookup=terms_lookup,
        vanity_code=vanity_code,
    )

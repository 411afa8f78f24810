"""Lead use cases: register a prospect (first partner wins), list them, and find the lead behind an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.ports import LeadFacts
from growth.customer import service as customer_service
from payouts.lead import repository
from payouts.lead.errors import InvalidLead, LeadAlreadyRegistered, LeadNotFound, ProspectIsCustomer
from payouts.lead.models import Lead
from payouts.lead.rules import (
    Claim,
    LeadStatus,
    Prospect,
    claim,
    expires_at,
    generate_reference,
    lead_status,
    prospect,
    reference_key,
    valid_days_problem,
)
from payouts.partner import repository as partner_repository
from payouts.partner.errors import PartnerNotApproved, PartnerNotFound
from payouts.partner.rules import PartnerStatus, may_share_links

log = structlog.get_logger()
MAX_REFERENCE_TRIES = 8


@dataclass(frozen=True)
class Registered:
    lead: Lead
    created: bool


async def _held(session: AsyncSession, partner_id: UUID, wanted: Prospect, *, now: datetime) -> Lead | None:
    """The partner's own lead on this prospect, None when it is free; another partner's is a 409."""
    held = await repository.lock_held(session, email_key=wanted.email_key, company_key=wanted.company_key)
    for lead in held:
        if now >= lead.expires_at:
            lead.released_at = lead.expires_at  # lets go of the keys before a new lead takes them
    await session.flush()
    live = [lead for lead in held if lead.released_at is None]
    outcome = claim(partner_id, [lead.partner_id for lead in live])
    if outcome is Claim.taken:
        raise LeadAlreadyRegistered("this prospect is already registered by another partner")
    if outcome is Claim.own:
        return next((x for x in live if x.email_key and x.email_key == wanted.email_key), live[0])
    return None


async def register_lead(
    session: AsyncSession,
    *,
    partner_id: UUID,
    email: str | None,
    company: str | None,
    contact_name: str | None = None,
    note: str | None = None,
    valid_days: int,
    now: datetime,
) -> Registered:
    """Register a prospect for an approved partner: first partner wins; the same one again gets its lead."""
    partner = await partner_repository.get(session, partner_id)
    if partner is None:
        raise PartnerNotFound(f"partner {partner_id} not found")
    if not may_share_links(PartnerStatus(partner.status)):
        raise PartnerNotApproved(f"partner is {partner.status}; only approved partners register leads")
    wanted = prospect(email, company)
    if isinstance(wanted, str):
        raise InvalidLead(wanted)
    if problem := valid_days_problem(valid_days):
        raise InvalidLead(problem)
    if wanted.email_key is not None and wanted.email_key == partner.email_key:
        raise InvalidLead("a partner cannot register itself as a lead")
    if (own := await _held(session, partner.id, wanted, now=now)) is not None:
        return Registered(own, created=False)
    if wanted.email is not None and await customer_service.is_customer_email(session, wanted.email):
        raise ProspectIsCustomer("this e-mail belongs to a customer; a customer is not a prospect")
    return await _insert(
        session,
        wanted,
        partner_id=partner.id,
        email=wanted.email,
        email_key=wanted.email_key,
        company=wanted.company,
        company_key=wanted.company_key,
        contact_name=(contact_name or "").strip() or None,
        note=(note or "").strip() or None,
        registered_at=now,
        expires_at=expires_at(now, valid_days),
    )


async def _insert(session: AsyncSession, wanted: Prospect, **fields: Any) -> Registered:
    """Insert the lead under a fresh reference, unless a concurrent registration of its prospect won."""
    for _ in range(MAX_REFERENCE_TRIES):
        lead = Lead(reference=generate_reference(), **fields)
        try:
            async with session.begin_nested():
                session.add(lead)
        except IntegrityError:
            # A concurrent registration of the same prospect committed first (a 409, or this partner's
            # own lead), or - rarely - the random reference was taken: then try another one.
            own = await _held(session, fields["partner_id"], wanted, now=fields["registered_at"])
            if own is not None:
                return Registered(own, created=False)
            continue
        log.info("payouts.lead.registered", lead_id=str(lead.id), partner_id=str(lead.partner_id))
        return Registered(lead, created=True)
    raise RuntimeError("could not generate a unique lead reference")  # 32^6 references: unreachable


async def release_partner_leads(session: AsyncSession, partner_id: UUID, *, now: datetime) -> int:
    """Let go of every prospect a (closed) partner holds, so that others may register them; how many."""
    leads = await repository.lock_held_by_partner(session, partner_id)
    for lead in leads:
        lead.released_at = min(now, lead.expires_at)
    return len(leads)


async def list_leads(
    session: AsyncSession, partner_id: UUID, *, limit: int = 50, offset: int = 0
) -> list[Lead]:
    """A partner's leads, newest first (``PartnerNotFound`` for an unknown partner)."""
    if await partner_repository.get(session, partner_id) is None:
        raise PartnerNotFound(f"partner {partner_id} not found")
    return await repository.list_for_partner(session, partner_id, limit=limit, offset=offset)


async def get_lead(session: AsyncSession, lead_id: UUID, *, partner_id: UUID) -> Lead:
    """One of the partner's leads; another partner's lead is as unknown as a missing one."""
    lead = await repository.get(session, lead_id)
    if lead is None or lead.partner_id != partner_id:
        raise LeadNotFound(f"lead {lead_id} not found")
    return lead


def status_of(lead: Lead, *, now: datetime) -> LeadStatus:
    """Where the lead stands at ``now``."""
    return lead_status(expires_at=lead.expires_at, released_at=lead.released_at, now=now)


async def find_lead(session: AsyncSession, reference: str | None, email_key: str | None) -> LeadFacts | None:
    """The ``LeadLookup`` port: the lead named by the reference the customer quoted, else the newest lead on
    the customer's e-mail, of an approved partner.

    Whether it was valid when the order was placed is attribution's rule (``lead_problem``): an order
    imported late still finds the lead that was valid then, and an expired one is named as refused.
    """
    lead = None
    if reference and (key := reference_key(reference)) is not None:
        lead = await repository.attributable_by_reference(session, key)
    if lead is None and email_key:
        lead = await repository.attributable_by_email_key(session, email_key)
    if lead is None:
        return None
    return LeadFacts(
        id=lead.id,
        partner_id=lead.partner_id,
        registered_at=lead.registered_at,
        expires_at=lead.expires_at,
        reference=lead.reference,
    )

"""Leads: a partner registers prospects with its key; finance may register them for a partner."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.lead import service as lead_service
from payouts.lead.models import Lead
from payouts.lead.schemas import LeadCreate, LeadRead
from payouts.partner import service as partner_service

Limit = Annotated[int, Parameter(ge=1, le=200)]
Offset = Annotated[int, Parameter(ge=0)]
REGISTER_SUMMARY = "Register a prospect (201 new, 200 already this partner's; 409 taken or a customer)"


def to_read(lead: Lead, *, now: datetime) -> LeadRead:
    return LeadRead(
        id=lead.id,
        reference=lead.reference,
        partner_id=lead.partner_id,
        email=lead.email,
        company=lead.company,
        contact_name=lead.contact_name,
        note=lead.note,
        status=lead_service.status_of(lead, now=now),
        registered_at=lead.registered_at,
        expires_at=lead.expires_at,
    )


async def _register(
    db_session: AsyncSession, partner_id: UUID, data: LeadCreate, settings: Settings
) -> Response[LeadRead]:
    now = utc_now()
    registered = await lead_service.register_lead(
        db_session,
        partner_id=partner_id,
        email=data.email,
        company=data.company,
        contact_name=data.contact_name,
        note=data.note,
        valid_days=settings.lead_valid_days,
        now=now,
    )
    return Response(to_read(registered.lead, now=now), status_code=201 if registered.created else 200)


def _acting(request: Request[Any, Any, Any]) -> UUID:
    return partner_service.acting_partner_id(request.state.principal.subject_id)


class PartnerLeadController(Controller):
    """A partner's own leads, through its partner key."""

    path = "/api/partner/leads"
    tags = ["Partner portal"]
    guards = [api_key_guard]
    opt = roles(Role.partner)
    security = [{"ApiKey": []}]

    @post("/", summary=REGISTER_SUMMARY)
    async def register_lead(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: LeadCreate, settings: Settings
    ) -> Response[LeadRead]:
        return await _register(db_session, _acting(request), data, settings)

    @get("/", summary="This partner's leads, newest first")
    async def list_leads(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, limit: Limit = 50, offset: Offset = 0
    ) -> list[LeadRead]:
        leads = await lead_service.list_leads(db_session, _acting(request), limit=limit, offset=offset)
        now = utc_now()
        return [to_read(lead, now=now) for lead in leads]

    @get("/{lead_id:uuid}", summary="One of this partner's leads")
    async def get_lead(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, lead_id: UUID
    ) -> LeadRead:
        lead = await lead_service.get_lead(db_session, lead_id, partner_id=_acting(request))
        return to_read(lead, now=utc_now())


class PartnerLeadAdminController(Controller):
    """Finance registers and reads leads for a partner."""

    path = "/api/partners/{partner_id:uuid}/leads"
    tags = ["Partners"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post("/", summary=REGISTER_SUMMARY)
    async def register_lead(
        self, db_session: AsyncSession, partner_id: UUID, data: LeadCreate, settings: Settings
    ) -> Response[LeadRead]:
        return await _register(db_session, partner_id, data, settings)

    @get("/", summary="The partner's leads, newest first")
    async def list_leads(
        self, db_session: AsyncSession, partner_id: UUID, limit: Limit = 50, offset: Offset = 0
    ) -> list[LeadRead]:
        leads = await lead_service.list_leads(db_session, partner_id, limit=limit, offset=offset)
        now = utc_now()
        return [to_read(lead, now=now) for lead in leads]

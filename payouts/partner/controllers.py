from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.ports import CampaignTermsLookup
from growth.referral_code import service as referral_code_service
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus
from payouts.partner.schemas import PartnerCodeIssue, PartnerCodeRead, PartnerCreate, PartnerRead


def to_read(p: Partner) -> PartnerRead:
    return PartnerRead(
        id=p.id, name=p.name, email=p.email, status=PartnerStatus(p.status), created_at=p.created_at
    )


class PartnerController(Controller):
    """Partners (finance)."""

    path = "/api/partners"
    tags = ["Partners"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post("/", summary="Create a partner")
    async def create_partner(self, db_session: AsyncSession, data: PartnerCreate) -> PartnerRead:
        return to_read(
            await partner_service.create_partner(
                db_session, name=data.name, email=data.email, status=data.status
            )
        )

    @get("/{partner_id:uuid}", summary="Read a partner")
    async def get_partner(self, db_session: AsyncSession, partner_id: UUID) -> PartnerRead:
        return to_read(await partner_service.get_partner(db_session, partner_id))

    @post(
        "/{partner_id:uuid}/referral-codes",
        summary="Issue a partner's code for a campaign",
        opt=roles(Role.finance, Role.marketing),
    )
    async def issue_code(
        self,
        db_session: AsyncSession,
        partner_id: UUID,
        data: PartnerCodeIssue,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
    ) -> Response[PartnerCodeRead]:
        issued = await partner_service.issue_partner_code(
            db_session,
            partner_id=partner_id,
            campaign_id=data.campaign_id,
            terms_lookup=terms_lookup,
            vanity_code=data.vanity_code,
        )
        rc = issued.referral_code
        links = referral_code_service.links_for(
            rc.code, base_url=settings.base_url, secret=settings.resolved_secret()
        )
        body = PartnerCodeRead(
            id=rc.id,
            code=rc.code,
            campaign_id=rc.campaign_id,
            partner_id=partner_id,
            link=links.link,
            qr_png_url=links.qr_png_url,
            qr_svg_url=links.qr_svg_url,
            created_at=rc.created_at,
        )
        return Response(body, status_code=201 if issued.created else 200)

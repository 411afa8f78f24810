from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.ports import CampaignTermsLookup
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from growth.referral_code.models import ReferralCode
from growth.referral_code.schemas import ReferralCodeIssue, ReferralCodeRead
from growth.settings import Settings


def to_read(rc: ReferralCode, settings: Settings) -> ReferralCodeRead:
    links = referral_code_service.links_for(
        rc.code, base_url=settings.base_url, secret=settings.resolved_secret()
    )
    return ReferralCodeRead(
        id=rc.id,
        code=rc.code,
        is_vanity=rc.is_vanity,
        campaign_id=rc.campaign_id,
        customer_id=rc.customer_id,
        partner_id=rc.partner_id,
        link=links.link,
        qr_png_url=links.qr_png_url,
        qr_svg_url=links.qr_svg_url,
        share_url=links.share_url,
        created_at=rc.created_at,
        revoked_at=rc.revoked_at,
    )


class ReferralCodeController(Controller):
    """Referral codes issued to customers."""

    path = "/api/referral-codes"
    tags = ["Referral codes"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @post("/", summary="Issue a customer's code for a campaign (201 new, 200 when it already exists)")
    async def issue_code(
        self,
        db_session: AsyncSession,
        data: ReferralCodeIssue,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
    ) -> Response[ReferralCodeRead]:
        issued = await referral_code_service.issue_customer_code(
            db_session,
            customer_external_id=data.customer_external_id,
            campaign_id=data.campaign_id,
            terms_lookup=terms_lookup,
            vanity_code=data.vanity_code,
        )
        return Response(to_read(issued.referral_code, settings), status_code=201 if issued.created else 200)

    @get("/{code:str}", summary="Read a working code")
    async def get_code(
        self, db_session: AsyncSession, code: str, settings: Settings, terms_lookup: CampaignTermsLookup
    ) -> ReferralCodeRead:
        resolved = await referral_code_service.resolve_code(db_session, code, terms_lookup=terms_lookup)
        return to_read(resolved.referral_code, settings)

    @delete("/{code:str}", status_code=200, summary="Revoke a code (it stays reserved)")
    async def revoke_code(
        self, db_session: AsyncSession, code: str, settings: Settings, terms_lookup: CampaignTermsLookup
    ) -> ReferralCodeRead:
        revoked = await referral_code_service.revoke_code(
            db_session, code, terms_lookup=terms_lookup, now=utc_now()
        )
        return to_read(revoked, settings)

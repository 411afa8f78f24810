"""Partners: public applications, finance's administration, and a partner's own record."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.paging import Offset
from growth.core.ports import CampaignTermsLookup
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.partner import service as partner_service
from payouts.partner.models import Partner
from payouts.partner.rules import CreditTier, PartnerStatus
from payouts.partner.schemas import (
    CreditLineRead,
    PartnerApplicationCreate,
    PartnerApplicationReceipt,
    PartnerCodeIssue,
    PartnerCodeRead,
    PartnerComplianceRead,
    PartnerCreate,
    PartnerRead,
    PartnerStatusChange,
    PartnerTierChange,
    VerificationChange,
)
from payouts.provider import service as provider_service

APPLICATION_RECEIVED = "Thank you: we will review your application and write to you by e-mail."


def to_read(p: Partner) -> PartnerRead:
    return PartnerRead(
        id=p.id,
        name=p.name,
        email=p.email,
        status=PartnerStatus(p.status),
        created_at=p.created_at,
        company=p.company,
        website=p.website,
        country=p.country,
        application_message=p.application_message,
        status_reason=p.status_reason,
        status_changed_at=p.status_changed_at,
        approved_at=p.approved_at,
        credit_tier=CreditTier(p.credit_tier),
        credit_tier_reason=p.credit_tier_reason,
        credit_tier_changed_at=p.credit_tier_changed_at,
        is_identity_verified=p.is_identity_verified,
    )


async def detail_read(db_session: AsyncSession, partner_id: UUID, settings: Settings) -> PartnerRead:
    """A partner with its compliance (the payout gates it fails) and its credit against the tier cap."""
    c = await provider_service.compliance_of(
        db_session, partner_id, blocked=partner_service.blocked_countries(settings)
    )
    policy, tier = partner_service.tier_policy(settings), CreditTier(c.partner.credit_tier)
    owed: dict[str, dict[str, int]] = {}
    for balance in await commission_service.partner_balances(db_session, partner_id):
        owed.setdefault(balance.amount.currency, {})[balance.state] = balance.amount.amount
    credit = [
        CreditLineRead(cur, by.get("pending", 0), by.get("payable", 0), policy.cap_for(tier, cur))
        for cur, by in sorted(owed.items())
    ]
    a = c.account
    compliance = PartnerComplianceRead(
        is_payable=not c.failing,
        failing_gates=[gate.value for gate in c.failing],
        is_identity_verified=c.partner.is_identity_verified,
        identity_verified_at=c.partner.identity_verified_at,
        identity_verified_by=c.partner.identity_verified_by,
        country=c.partner.country,
        is_country_blocked=c.is_country_blocked,
        has_payout_account=a is not None,
        tax_form_type=a.tax_form_type if a else None,
        tax_form_on=a.tax_form_on if a else None,
        is_payout_account_verified=a is not None and a.is_verified,
        payout_account_verified_at=a.verified_at if a else None,
        payout_account_changed_at=a.changed_at if a else None,
        credit_tier=tier,
        commission_hold_days=policy.hold_for(tier),
        credit=credit,
    )
    read = to_read(c.partner)
    read.compliance = compliance
    return read


def code_read(
    rc: referral_code_service.ReferralCode, partner_id: UUID, settings: Settings
) -> PartnerCodeRead:
    links = referral_code_service.links_for(
        rc.code, base_url=settings.base_url, secret=settings.resolved_secret()
    )
    return PartnerCodeRead(
        id=rc.id,
        code=rc.code,
        campaign_id=rc.campaign_id,
        partner_id=partner_id,
        link=links.link,
        qr_png_url=links.qr_png_url,
        qr_svg_url=links.qr_svg_url,
        created_at=rc.created_at,
        revoked_at=rc.revoked_at,
    )


class PartnerApplicationController(Controller):
    """Anyone may apply to become a partner; finance approves or declines."""

    path = "/api/partners/applications"
    tags = ["Partners"]

    @post("/", summary="Apply to become a partner (no key)", status_code=202)
    async def apply(
        self, db_session: AsyncSession, data: PartnerApplicationCreate
    ) -> PartnerApplicationReceipt:
        await partner_service.apply(
            db_session,
            name=data.name,
            email=data.email,
            company=data.company,
            website=data.website,
            country=data.country,
            message=data.message,
            now=utc_now(),
        )
        return PartnerApplicationReceipt(status="received", message=APPLICATION_RECEIVED)


class PartnerController(Controller):
    """Partners (finance)."""

    path = "/api/partners"
    tags = ["Partners"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post("/", summary="Create a partner")
    async def create_partner(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        data: PartnerCreate,
        settings: Settings,
    ) -> PartnerRead:
        partner = await partner_service.create_partner(
            db_session,
            name=data.name,
            email=data.email,
            status=data.status,
            company=data.company,
            website=data.website,
            country=data.country,
            now=utc_now(),
        )
        await audit_service.record(
            db_session,
            action="partner.created",
            subject_type="partner",
            subject_id=str(partner.id),
            after=audit_service.snapshot(partner, "name", "email", "status"),
            actor=audit_service.actor_from_request(request),
        )
        return await detail_read(db_session, partner.id, settings)

    @get("/", summary="List partners, newest first")
    async def list_partners(
        self,
        db_session: AsyncSession,
        status: PartnerStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Offset = 0,
    ) -> list[PartnerRead]:
        partners = await partner_service.list_partners(db_session, status=status, limit=limit, offset=offset)
        return [to_read(p) for p in partners]

    @get("/{partner_id:uuid}", summary="Read a partner, with its compliance gates and credit tier")
    async def get_partner(
        self, db_session: AsyncSession, partner_id: UUID, settings: Settings
    ) -> PartnerRead:
        return await detail_read(db_session, partner_id, settings)

    @post(
        "/{partner_id:uuid}/tier",
        summary="Put a partner in a credit tier by hand, with a reason (audited)",
        status_code=200,
    )
    async def change_tier(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        partner_id: UUID,
        data: PartnerTierChange,
    ) -> PartnerRead:
        partner = await partner_service.change_tier(
            db_session,
            partner_id,
            tier=data.tier,
            reason=data.reason,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
        )
        return to_read(partner)

    @post(
        "/{partner_id:uuid}/identity-verification",
        summary="Record that finance verified the partner's identity (or takes it back; audited)",
        status_code=200,
    )
    async def set_identity_verified(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        partner_id: UUID,
        data: VerificationChange,
        settings: Settings,
    ) -> PartnerRead:
        await partner_service.set_identity_verified(
            db_session,
            partner_id,
            is_verified=data.is_verified,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
        )
        return await detail_read(db_session, partner_id, settings)

    @post(
        "/{partner_id:uuid}/status",
        summary="Approve, suspend, reinstate or close a partner (409 for an illegal move)",
        status_code=200,
    )
    async def change_status(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        partner_id: UUID,
        data: PartnerStatusChange,
    ) -> PartnerRead:
        before = (await partner_service.get_partner(db_session, partner_id)).status
        partner = await partner_service.change_status(
            db_session, partner_id, status=data.status, reason=data.reason, now=utc_now()
        )
        if partner.status != before:
            await audit_service.record(
                db_session,
                action="partner.status_changed",
                subject_type="partner",
                subject_id=str(partner_id),
                before={"status": before},
                after={"status": partner.status, "reason": partner.status_reason},
                actor=audit_service.actor_from_request(request),
            )
        return to_read(partner)

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
        body = code_read(issued.referral_code, partner_id, settings)
        return Response(body, status_code=201 if issued.created else 200)


class PartnerSelfController(Controller):
    """What a partner key may read of its own partner (and nothing of another's)."""

    path = "/api/partner"
    tags = ["Partner portal"]
    guards = [api_key_guard]
    opt = roles(Role.partner)
    security = [{"ApiKey": []}]

    @get("/me", summary="The partner this key acts for")
    async def get_me(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> PartnerRead:
        partner_id = partner_service.acting_partner_id(request.state.principal.subject_id)
        return to_read(await partner_service.get_partner(db_session, partner_id))

    @get("/referral-codes", summary="My referral codes with their links and QR codes")
    async def my_codes(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> list[PartnerCodeRead]:
        partner_id = partner_service.acting_partner_id(request.state.principal.subject_id)
        codes = await referral_code_service.partner_codes(db_session, partner_id)
        return [code_read(rc, partner_id, settings) for rc in codes]

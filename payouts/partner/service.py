"""Partner use cases: applications, creation by finance, the lifecycle, and a partner's referral codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.email import normalize_email
from growth.core.ports import CampaignTermsLookup
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from growth.settings import Settings
from payouts.lead import service as lead_service
from payouts.partner import repository
from payouts.partner.errors import (
    InvalidPartner,
    InvalidTierChange,
    NotAPartnerKey,
    PartnerNotApproved,
    PartnerNotFound,
    PartnerStatusChangeRefused,
)
from payouts.partner.models import Partner
from payouts.partner.rules import (
    ComplianceFacts,
    CreditTier,
    Gate,
    PartnerStatus,
    TierPolicy,
    cap_problem,
    commission_hold_days,
    failing_gates,
    load_blocked_countries,
    may_share_links,
    normalize_country,
    parse_tier_policy,
    profile_problem,
    promotion_for,
    promotion_reason,
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


# ------------------------------------------------------------------------------------ credit tiers


def tier_policy(settings: Settings) -> TierPolicy:
    """The credit tiers' holds, caps and promotions from the settings (``ValueError`` when they are wrong)."""
    return parse_tier_policy(
        hold_days=settings.partner_tier_hold_days,
        caps=settings.partner_tier_caps,
        promotions=settings.partner_tier_promotions,
    )


async def commission_hold(
    session: AsyncSession, partner_id: UUID, *, plan_hold_days: int, policy: TierPolicy | None
) -> int:
    """Days a partner's commission waits after its order closes: its plan's hold or its tier's, the longer."""
    if policy is None:
        return plan_hold_days
    partner = await get_partner(session, partner_id)
    return commission_hold_days(plan_hold_days, CreditTier(partner.credit_tier), policy)


async def commission_cap_problem(
    session: AsyncSession,
    partner_id: UUID,
    *,
    amount: int,
    currency: str,
    payable: int,
    policy: TierPolicy | None,
) -> str | None:
    """Why approving ``amount`` more commission would take the partner's payable over its cap, or None."""
    if policy is None:
        return None
    tier = CreditTier((await get_partner(session, partner_id)).credit_tier)
    return cap_problem(
        tier=tier, cap=policy.cap_for(tier, currency), payable=payable, amount=amount, currency=currency
    )


async def change_tier(
    session: AsyncSession,
    partner_id: UUID,
    *,
    tier: CreditTier,
    reason: str,
    actor: audit_service.Actor,
    now: datetime,
) -> Partner:
    """Put a partner in a credit tier (finance by hand, or a promotion), with the reason; audited.
    The same tier again is no change."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidTierChange("say why the tier changes (reason, at most 500 characters)")
    partner = await get_partner(session, partner_id, for_update=True)
    before = {"credit_tier": partner.credit_tier, "credit_tier_reason": partner.credit_tier_reason}
    if partner.credit_tier == tier.value:
        return partner
    partner.credit_tier, partner.credit_tier_reason, partner.credit_tier_changed_at = tier.value, reason, now
    await session.flush()
    await audit_service.record(
        session,
        action="partner.tier_changed",
        subject_type="partner",
        subject_id=str(partner.id),
        before=before,
        after={"credit_tier": tier.value, "credit_tier_reason": reason},
        actor=actor,
        now=now,
    )
    log.info("payouts.partner.tier_changed", partner_id=str(partner.id), tier=tier.value)
    return partner


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """What a promotion looks at: paid payouts and the last commission clawed back."""

    paid_payouts: int
    last_clawback_at: datetime | None


async def promote(
    session: AsyncSession,
    partner_ids: list[UUID],
    *,
    policy: TierPolicy,
    records: dict[UUID, TrackRecord],
    actor: audit_service.Actor,
    now: datetime,
) -> list[Partner]:
    """Move each partner up to the highest tier its track record earned (never down); audited."""
    promoted = []
    # Every row lock before the first audit entry (which takes the audit chain's lock), in key order.
    for partner_id in sorted(partner_ids):
        partner = await get_partner(session, partner_id, for_update=True)
        record = records[partner_id]
        step = promotion_for(
            CreditTier(partner.credit_tier),
            policy=policy,
            paid_payouts=record.paid_payouts,
            approved_at=partner.approved_at,
            last_clawback_at=record.last_clawback_at,
            now=now,
        )
        if step is not None and partner.status == PartnerStatus.approved.value:
            promoted.append((partner_id, step))
    return [
        await change_tier(
            session, partner_id, tier=step.tier, reason=promotion_reason(step), actor=actor, now=now
        )
        for partner_id, step in promoted
    ]


# ---------------------------------------------------------------------------------------- compliance


def blocked_countries(settings: Settings) -> frozenset[str]:
    """The countries partners are never paid in (``ValueError`` for a broken list)."""
    return load_blocked_countries(settings.blocked_countries_file or None)


async def set_identity_verified(
    session: AsyncSession, partner_id: UUID, *, is_verified: bool, actor: audit_service.Actor, now: datetime
) -> Partner:
    """Finance records that it checked (or no longer vouches for) who the partner is; audited.
    The same state again is no change."""
    partner = await get_partner(session, partner_id, for_update=True)
    if partner.is_identity_verified is is_verified:
        return partner
    before = audit_service.snapshot(
        partner, "is_identity_verified", "identity_verified_at", "identity_verified_by"
    )
    partner.is_identity_verified = is_verified
    partner.identity_verified_at = now if is_verified else None
    partner.identity_verified_by = actor.name[:200] if is_verified else None
    await session.flush()
    await audit_service.record(
        session,
        action="partner.identity_verified",
        subject_type="partner",
        subject_id=str(partner.id),
        before=before,
        after=audit_service.snapshot(
            partner, "is_identity_verified", "identity_verified_at", "identity_verified_by"
        ),
        actor=actor,
        now=now,
    )
    return partner


def compliance_gates(
    partner: Partner,
    *,
    has_account: bool,
    has_tax_form: bool,
    is_account_verified: bool,
    blocked: frozenset[str],
) -> tuple[Gate, ...]:
    """The compliance gates the partner fails now (the same ones a payout run checks)."""
    facts = ComplianceFacts(
        is_identity_verified=partner.is_identity_verified,
        country=partner.country,
        has_account=has_account,
        has_tax_form=has_tax_form,
        is_account_verified=is_account_verified,
    )
    return failing_gates(facts, blocked_countries=blocked)


async def partner_names(session: AsyncSession, partner_ids: list[UUID]) -> dict[UUID, str]:
    """The partners' names by id (the analytics' top partners)."""
    return await repository.names(session, partner_ids) if partner_ids else {}

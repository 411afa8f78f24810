"""Referral code use cases: issue (idempotent per referrer and campaign), resolve, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.cache import REFERRAL_CODE_CHANGED, invalidate_after_commit
from growth.core.events.service import publish
from growth.core.ports import CampaignTerms, CampaignTermsLookup
from growth.customer import service as customer_service
from growth.customer.models import Customer
from growth.link.rules import referral_link
from growth.referral_code import repository
from growth.referral_code.errors import (
    CampaignEnded,
    CampaignUnavailable,
    InvalidVanityCode,
    ReferralCodeNotFound,
    ReferrerHasCode,
    VanityCodeTaken,
)
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import (
    code_key,
    generate_code,
    is_well_formed,
    share_token,
    typed_code_key,
    vanity_problem,
    verify_share_token,
)

log = structlog.get_logger()
MAX_GENERATION_TRIES = 8


@dataclass(frozen=True)
class Referrer:
    """Who shares a code: a customer or a partner, never both."""

    customer_id: UUID | None = None
    partner_id: UUID | None = None

    def __post_init__(self) -> None:
        if (self.customer_id is None) == (self.partner_id is None):
            raise ValueError("a referrer is a customer or a partner")


@dataclass(frozen=True)
class Issued:
    referral_code: ReferralCode
    created: bool


@dataclass(frozen=True)
class ResolvedCode:
    """A working code with its referrer and campaign, as links and share pages need it."""

    referral_code: ReferralCode
    customer: Customer | None
    terms: CampaignTerms


async def _insert(session: AsyncSession, code: ReferralCode, referrer: Referrer) -> ReferralCode | None:
    """Insert ``code``; on a unique clash return the referrer's code if a concurrent call made one."""
    try:
        async with session.begin_nested():
            session.add(code)
        return code
    except IntegrityError:
        return await repository.get_for_referrer(
            session, code.campaign_id, customer_id=referrer.customer_id, partner_id=referrer.partner_id
        )


async def issue_code(
    session: AsyncSession,
    *,
    campaign_id: UUID,
    referrer: Referrer,
    terms_lookup: CampaignTermsLookup,
    vanity_code: str | None = None,
) -> Issued:
    """Issue the referrer's code for a campaign; asking again returns the same code."""
    terms = await terms_lookup(session, campaign_id)
    if terms is None:
        raise CampaignUnavailable(f"campaign {campaign_id} not found")
    existing = await repository.get_for_referrer(
        session, campaign_id, customer_id=referrer.customer_id, partner_id=referrer.partner_id
    )
    if existing is not None:
        if vanity_code is not None and code_key(vanity_code) != existing.code_key:
            raise ReferrerHasCode(f"this referrer already has code {existing.code} for the campaign")
        return Issued(existing, created=False)
    if not terms.issues_codes:
        raise CampaignEnded(f"campaign {terms.name!r} has ended; no new codes are issued")
    if vanity_code is not None and (problem := vanity_problem(vanity_code)):
        raise InvalidVanityCode(problem)
    candidates = (
        [vanity_code] if vanity_code is not None else [generate_code() for _ in range(MAX_GENERATION_TRIES)]
    )
    for candidate in candidates:
        row = ReferralCode(
            code=candidate,
            code_key=code_key(candidate),
            is_vanity=vanity_code is not None,
            campaign_id=campaign_id,
            customer_id=referrer.customer_id,
            partner_id=referrer.partner_id,
        )
        stored = await _insert(session, row, referrer)
        if stored is not None and stored is not row:
            return Issued(stored, created=False)
        if stored is row:
            # A process may have cached "no such code" for it.
            invalidate_after_commit(session, REFERRAL_CODE_CHANGED, row.code_key)
            await publish(
                session,
                "referral_code.issued",
                {
                    "referral_code_id": str(row.id),
                    "code": row.code,
                    "campaign_id": str(campaign_id),
                    "customer_id": str(referrer.customer_id) if referrer.customer_id else None,
                    "partner_id": str(referrer.partner_id) if referrer.partner_id else None,
                },
            )
            return Issued(row, created=True)
        log.info("growth.referral_code.collision", code_length=len(candidate))
    if vanity_code is not None:
        raise VanityCodeTaken(f"code {vanity_code!r} is already taken")
    raise RuntimeError("could not generate a unique referral code")  # 32^8 codes: practically unreachable


async def resolve_code(
    session: AsyncSession, code: str, *, terms_lookup: CampaignTermsLookup
) -> ResolvedCode:
    """The working code behind ``code`` as typed (any case, Crockford look-alikes), or 404."""
    if not is_well_formed(code):
        raise ReferralCodeNotFound("no such referral code")
    keys = [code_key(code)]
    if (typed := typed_code_key(code)) is not None and typed not in keys:
        keys.append(typed)
    found = await repository.get_with_customer(session, keys)
    if found is None:
        raise ReferralCodeNotFound("no such referral code")
    referral_code, customer = found
    if referral_code.revoked_at is not None or (customer is not None and customer.is_deleted):
        raise ReferralCodeNotFound("no such referral code")
    terms = await terms_lookup(session, referral_code.campaign_id)
    if terms is None:
        raise ReferralCodeNotFound("no such referral code")
    return ResolvedCode(referral_code, customer, terms)


async def working_codes(session: AsyncSession, referral_code_ids: list[UUID]) -> set[UUID]:
    """Which of these codes still work (not revoked, customer not deleted): caches check theirs in bulk."""
    return await repository.working_ids(session, referral_code_ids)


async def newest_working_codes(session: AsyncSession, limit: int) -> list[ReferralCode]:
    """The newest working codes (not revoked, customer not deleted): what a link cache loads at start."""
    return await repository.newest_working(session, limit)


async def resolve_share_token(
    session: AsyncSession, token: str, *, secret: str, terms_lookup: CampaignTermsLookup
) -> ResolvedCode:
    """The code (and its customer) behind a signed share-page token; a forged or stale token is a 404."""
    code = verify_share_token(secret, token)
    if code is None:
        raise ReferralCodeNotFound("no such share page")
    return await resolve_code(session, code, terms_lookup=terms_lookup)


async def customer_for_share_token(
    session: AsyncSession, token: str, *, secret: str, terms_lookup: CampaignTermsLookup
) -> Customer:
    """The customer whose share page ``token`` opens (404 for a forged token or a partner's code)."""
    resolved = await resolve_share_token(session, token, secret=secret, terms_lookup=terms_lookup)
    if resolved.customer is None:
        raise ReferralCodeNotFound("no such share page")
    return resolved.customer


async def revoke_code(
    session: AsyncSession, code: str, *, terms_lookup: CampaignTermsLookup, now: datetime
) -> ReferralCode:
    """Stop a code from working; it stays reserved so nobody else can take it."""
    resolved = await resolve_code(session, code, terms_lookup=terms_lookup)
    resolved.referral_code.revoked_at = now
    invalidate_after_commit(session, REFERRAL_CODE_CHANGED, resolved.referral_code.code_key)
    return resolved.referral_code


async def partner_codes(session: AsyncSession, partner_id: UUID) -> list[ReferralCode]:
    """A partner's codes, oldest first, revoked ones included (``revoked_at`` says which)."""
    return await repository.of_partner(session, partner_id)


async def revoke_partner_codes(session: AsyncSession, partner_id: UUID, *, now: datetime) -> int:
    """Stop every working code of a partner (suspended or closed); how many stopped."""
    codes = [c for c in await repository.lock_for_partner(session, partner_id) if c.revoked_at is None]
    for code in codes:
        code.revoked_at = now
        invalidate_after_commit(session, REFERRAL_CODE_CHANGED, code.code_key)
    return len(codes)


async def reinstate_partner_codes(session: AsyncSession, partner_id: UUID, *, revoked_at: datetime) -> int:
    """Make the partner's codes revoked at ``revoked_at`` (its suspension) work again; how many."""
    codes = [c for c in await repository.lock_for_partner(session, partner_id) if c.revoked_at == revoked_at]
    for code in codes:
        code.revoked_at = None
        invalidate_after_commit(session, REFERRAL_CODE_CHANGED, code.code_key)
    return len(codes)


async def issue_customer_code(
    session: AsyncSession,
    *,
    customer_external_id: str,
    campaign_id: UUID,
    terms_lookup: CampaignTermsLookup,
    vanity_code: str | None = None,
) -> Issued:
    """Issue (or return) the code an active customer shares for a campaign."""
    customer = await customer_service.get_customer(session, customer_external_id)
    return await issue_code(
        session,
        campaign_id=campaign_id,
        referrer=Referrer(customer_id=customer.id),
        terms_lookup=terms_lookup,
        vanity_code=vanity_code,
    )


async def share_code_of(session: AsyncSession, campaign_id: UUID, customer_id: UUID) -> str | None:
    """The customer's working code in a campaign (its share page shows their rewards there), or None."""
    code = await repository.get_for_referrer(session, campaign_id, customer_id=customer_id, partner_id=None)
    return code.code if code is not None and code.revoked_at is None else None


@dataclass(frozen=True)
class CodeLinks:
    """Where a code can be followed, scanned and shared from."""

    link: str
    qr_png_url: str
    qr_svg_url: str
    share_url: str


def links_for(code: str, *, base_url: str, secret: str) -> CodeLinks:
    """The public link, QR images and signed share page of ``code``."""
    link = referral_link(base_url, code)
    return CodeLinks(
        link=link,
        qr_png_url=f"{link}/qr.png",
        qr_svg_url=f"{link}/qr.svg",
        share_url=f"{base_url.rstrip('/')}/share/{share_token(secret, code)}",
    )

"""Attributing an order once, when it arrives, and explaining the decision later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution import repository
from growth.attribution.models import Attribution
from growth.attribution.rules import (
    ClickCandidate,
    CodeCandidate,
    Inherited,
    Method,
    OrderFacts,
    attribute,
)
from growth.core.events.service import publish
from growth.core.ports import CampaignTerms, CampaignTermsLookup, LeadLookup
from growth.customer.models import Customer
from growth.customer.rules import initials
from growth.order.models import Order
from growth.referral_code import repository as code_repository
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import code_key, is_well_formed, typed_code_key
from growth.risk import service as risk_service
from growth.risk.service import RiskPolicy


@dataclass(frozen=True, slots=True)
class Hints:
    """What the shop knows of how the customer arrived."""

    referral_code: str | None = None
    coupon_code: str | None = None
    click_ids: tuple[UUID, ...] = ()
    lead_reference: str | None = None


def _label(code: ReferralCode, customer: Customer | None) -> str:
    if customer is not None:
        return f"customer {customer.external_id}" if not customer.is_deleted else "a deleted customer"
    return f"partner {code.partner_id}"


async def _candidate(
    session: AsyncSession, code: ReferralCode, customer: Customer | None, terms_lookup: CampaignTermsLookup
) -> CodeCandidate | None:
    terms = await terms_lookup(session, code.campaign_id)
    if terms is None:
        return None
    return CodeCandidate(
        referral_code_id=code.id,
        code=code.code,
        campaign=terms,
        customer_id=code.customer_id,
        partner_id=code.partner_id,
        referrer_label=_label(code, customer),
        referrer_email_key=customer.email_key if customer else None,
        is_revoked=code.revoked_at is not None,
        is_referrer_deleted=customer is not None and customer.is_deleted,
        expires_at=code.expires_at,
    )


async def _code(
    session: AsyncSession, typed: str | None, terms_lookup: CampaignTermsLookup
) -> CodeCandidate | None:
    if not typed or not is_well_formed(typed):
        return None
    keys = [code_key(typed)] + [k for k in [typed_code_key(typed)] if k and k != code_key(typed)]
    found = await code_repository.get_with_customer(session, keys)
    return None if found is None else await _candidate(session, *found, terms_lookup)


async def _coupon(
    session: AsyncSession, typed: str | None, terms_lookup: CampaignTermsLookup
) -> CodeCandidate | None:
    """A coupon names its referrer: a referral code, or a welcome coupon ``<referral code>-<suffix>``."""
    if not typed:
        return None
    found = await _code(session, typed, terms_lookup)
    if found is None and "-" in typed:
        found = await _code(session, typed.strip().rsplit("-", 1)[0], terms_lookup)
    return found


def remembering(lookup: CampaignTermsLookup) -> CampaignTermsLookup:
    """``lookup`` remembering its answers: whoever holds it reads each campaign once."""
    seen: dict[UUID, CampaignTerms | None] = {}

    async def remembered(session: AsyncSession, campaign_id: UUID) -> CampaignTerms | None:
        if campaign_id not in seen:
            seen[campaign_id] = await lookup(session, campaign_id)
        return seen[campaign_id]

    return remembered


async def attribute_order(
    session: AsyncSession,
    *,
    order: Order,
    customer: Customer,
    is_new_customer: bool = False,
    hints: Hints,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    risk_policy: RiskPolicy | None = None,
    now: datetime,
) -> Attribution:
    """Decide and store who brought ``order`` and have the firewall review it; publishes ``order.attributed``.

    ``risk_policy`` is the program's (settings); None: the built-in defaults, with no estimate of rewards.
    ``is_new_customer``: the customer was created with this order, so has no earlier orders to look up.
    """
    terms_lookup = remembering(terms_lookup)  # the code's campaign again for the firewall: no second read
    inherited = None
    if order.subscription_id and (
        first := await repository.subscription_attribution(session, order.subscription_id, order.id)
    ):
        a, referrer = first
        inherited = Inherited(
            a.referral_code_id,
            a.campaign_id,
            a.customer_referrer_id,
            a.partner_id,
            f"customer {referrer.external_id}" if referrer else f"partner {a.partner_id}",
        )
    clicks = []
    found = await repository.clicks_with_codes(session, list(hints.click_ids)) if hints.click_ids else []
    for click, code, referrer in found:
        if candidate := await _candidate(session, code, referrer, terms_lookup):
            clicks.append(ClickCandidate(click.id, click.clicked_at, candidate))
    unknown = sorted(str(c) for c in set(hints.click_ids) - {click.id for click, _, _ in found})
    lead = await lead_lookup(session, hints.lead_reference, customer.email_key)
    coupon = await _coupon(session, hints.coupon_code, terms_lookup)
    code = await _code(session, hints.referral_code, terms_lookup)
    # The history matters only when a customer's code could claim the order.
    paid_before = (
        bool(coupon or code or clicks)
        and not is_new_customer
        and await repository.has_earlier_paid_order(session, customer.id, order.placed_at, order.id)
    )
    facts = OrderFacts(customer.id, customer.email_key, order.currency, order.placed_at, paid_before)
    decision = attribute(
        facts,
        lead=lead,
        coupon=coupon,
        code=code,
        clicks=tuple(clicks),
        inherited=inherited,
        unknown_clicks=tuple(unknown),
    )
    attribution = Attribution(
        order_id=order.id,
        method=decision.method.value,
        referral_code_id=decision.referral_code_id,
        campaign_id=decision.campaign_id,
        customer_referrer_id=decision.customer_id,
        partner_id=decision.partner_id,
        lead_id=decision.lead_id,
        click_id=decision.click_id,
        explanation=decision.explanation,
        rejected=decision.rejected,
        decided_at=now,
    )
    session.add(attribution)
    review = None
    if decision.method is not Method.none:
        policy = risk_policy or RiskPolicy()
        terms = await terms_lookup(session, decision.campaign_id) if decision.campaign_id else None
        review, _ = await risk_service.review_order(
            session,
            order=order,
            customer=customer,
            attribution=attribution,
            click_ids=hints.click_ids,
            coupon_code=risk_service.typed_code(hints.coupon_code, hints.referral_code),
            thresholds=policy.thresholds(terms.risk_overrides if terms else None),
            disposable_domains=policy.disposable_domains,
            estimate=policy.estimate,
            now=now,
        )
    await publish(
        session,
        "order.attributed",
        {
            "order_id": str(order.id),
            "external_id": order.external_id,
            "method": decision.method.value,
            "campaign_id": _s(decision.campaign_id),
            "referral_code_id": _s(decision.referral_code_id),
            "customer_referrer_id": _s(decision.customer_id),
            "partner_id": _s(decision.partner_id),
            "referee_customer_id": str(customer.id),
            "coupon_code": (hints.coupon_code or "").strip().upper() or None,
            "amount": order.amount,
            "currency": order.currency,
            "placed_at": order.placed_at.isoformat(),
            "review": review.status if review else None,
            "review_reasons": [reason["code"] for reason in review.reasons] if review else [],
        },
        now=now,
    )
    return attribution


def _s(value: UUID | None) -> str | None:
    return None if value is None else str(value)


async def get_attribution(session: AsyncSession, order_id: UUID) -> Attribution | None:
    """The stored decision for an order."""
    return await repository.get_for_order(session, order_id)


@dataclass(frozen=True, slots=True)
class Referral:
    """A friend's order brought by a referral code, as the referrer may see it (initials only)."""

    friend_customer_id: UUID
    friend_initials: str | None
    ordered_at: datetime
    order_status: str


async def referrals(session: AsyncSession, referral_code_id: UUID, *, limit: int = 100) -> list[Referral]:
    """The orders a referral code brought, newest first."""
    return [
        Referral(
            friend_customer_id=customer.id,
            friend_initials=None if customer.is_deleted else initials(customer.name),
            ordered_at=order.placed_at,
            order_status=order.status,
        )
        for order, customer in await repository.referred_orders(session, referral_code_id, limit)
    ]


@dataclass(frozen=True, slots=True)
class PartnerOrder:
    """An order a partner brought, as the partner may see it (no customer details)."""

    order_id: UUID
    external_id: str
    placed_at: datetime
    status: str
    amount: int
    """Minor units."""
    paid_amount: int
    refunded_amount: int
    currency: str
    method: str
    """How it was attributed: ``lead``, ``coupon``, ``referral_code``, ``click`` or ``subscription``."""


async def partner_orders(
    session: AsyncSession, partner_id: UUID, *, limit: int = 50, offset: int = 0
) -> list[PartnerOrder]:
    """The orders attributed to a partner, newest first."""
    return [
        PartnerOrder(
            order.id,
            order.external_id,
            order.placed_at,
            order.status,
            order.amount,
            order.paid_amount,
            order.refunded_amount,
            order.currency,
            attribution.method,
        )
        for order, attribution in await repository.partner_orders(
            session, partner_id, limit=limit, offset=offset
        )
    ]

"""The risk firewall's use case: gather an attributed order's facts and history, score them, and keep
the decision (``order_reviews``), so every attributed order passes review before it earns anything."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution.models import Attribution
from growth.attribution.rules import Method
from growth.customer.models import Customer
from growth.order.models import Order
from growth.risk import repository
from growth.risk.models import OrderReview
from growth.risk.rules import Decision, ReviewFacts, Thresholds, Verdict, score

log = structlog.get_logger()
STATUS_OF = {Verdict.allow: "allowed", Verdict.hold: "held", Verdict.reject: "rejected"}


def _median(amounts: Sequence[int]) -> int | None:
    """The lower median: an amount some order really had (no halves, no floats)."""
    if not amounts:
        return None
    ordered = sorted(amounts)
    return ordered[(len(ordered) - 1) // 2]


async def gather_facts(
    session: AsyncSession,
    *,
    order: Order,
    customer: Customer,
    attribution: Attribution,
    click_ids: Sequence[UUID],
    coupon_code: str | None,
    thresholds: Thresholds,
) -> ReviewFacts:
    """Everything the rules look at, read from the order, its attribution and the history."""
    method = Method(attribution.method)
    referrer_id = attribution.customer_referrer_id
    referrer = await session.get(Customer, referrer_id) if referrer_id else None
    payments, addresses, devices = (
        await repository.own_identities(session, referrer_id) if referrer_id else (set(), set(), set())
    )
    click = None
    if attribution.referral_code_id is not None:
        wanted = [attribution.click_id] if attribution.click_id else list(click_ids)
        click = await repository.latest_click(
            session, referral_code_id=attribution.referral_code_id, click_ids=wanted, before=order.placed_at
        )

    async def sharing(column: object, value: str | None) -> int:
        if referrer_id is None or value is None:
            return 0
        return await repository.other_referees_sharing(
            session,
            referrer_id=referrer_id,
            customer_id=customer.id,
            column=column,
            value=value,  # type: ignore[arg-type]
        )

    since = order.placed_at - timedelta(hours=thresholds.velocity_window_hours)
    window = {"order_id": order.id, "since": since, "until": order.placed_at}
    amounts = (
        await repository.campaign_amounts(
            session, campaign_id=attribution.campaign_id, currency=order.currency, order_id=order.id
        )
        if attribution.campaign_id
        else []
    )
    typed_code = method in (Method.coupon, Method.referral_code) and attribution.referral_code_id is not None
    return ReviewFacts(
        customer_id=customer.id,
        amount=order.amount,
        currency=order.currency,
        placed_at=order.placed_at,
        method=method,
        email_key=customer.email_key,
        payment_fingerprint=order.payment_fingerprint,
        address_hash=order.address_hash,
        device_id=order.device_id,
        ip_hash=order.ip_hash,
        margin_amount=order.margin_amount,
        coupon_code=coupon_code if typed_code else None,
        referrer_customer_id=referrer_id,
        referrer_email_key=referrer.email_key if referrer else None,
        referrer_payment_fingerprints=frozenset(payments),
        referrer_address_hashes=frozenset(addresses),
        referrer_device_ids=frozenset(devices),
        partner_id=attribution.partner_id,
        click_ip_hash=click.ip_hash if click else None,
        clicked_at=click.clicked_at if click else None,
        other_referees_same_payment=await sharing(Order.payment_fingerprint, order.payment_fingerprint),
        other_referees_same_address=await sharing(Order.address_hash, order.address_hash),
        other_referees_same_device=await sharing(Order.device_id, order.device_id),
        referrer_other_orders_in_window=(
            await repository.referred_orders_between(session, referrer_id=referrer_id, **window)
            if referrer_id
            else 0
        ),
        partner_other_orders_in_window=(
            await repository.referred_orders_between(session, partner_id=attribution.partner_id, **window)
            if attribution.partner_id
            else 0
        ),
        campaign_median_amount=_median(amounts),
        campaign_order_count=len(amounts),
        coupon_other_unrelated_customers=(
            await repository.code_users_without_click(
                session, referral_code_id=attribution.referral_code_id, customer_id=customer.id
            )
            if typed_code and attribution.referral_code_id
            else 0
        ),
    )


async def review_order(
    session: AsyncSession,
    *,
    order: Order,
    customer: Customer,
    attribution: Attribution,
    click_ids: Sequence[UUID] = (),
    coupon_code: str | None = None,
    thresholds: Thresholds,
    disposable_domains: Collection[str],
    now: datetime,
) -> tuple[OrderReview, Decision]:
    """Score the attributed order and keep the decision; the attribution's explanation says it too."""
    facts = await gather_facts(
        session,
        order=order,
        customer=customer,
        attribution=attribution,
        click_ids=click_ids,
        coupon_code=coupon_code,
        thresholds=thresholds,
    )
    decision = score(facts, thresholds, disposable_domains=disposable_domains)
    review = OrderReview(
        order_id=order.id,
        verdict=decision.verdict.value,
        reasons=[reason.as_dict() for reason in decision.reasons],
        status=STATUS_OF[decision.verdict],
        reviewed_at=now,
    )
    session.add(review)
    if decision.reasons:
        attribution.explanation = f"{attribution.explanation} {decision.explanation()}"
        log.info(
            "risk.order_reviewed",
            order_id=str(order.id),
            verdict=decision.verdict.value,
            reasons=[r.code.value for r in decision.reasons],
        )
    return review, decision


async def get_review(session: AsyncSession, order_id: UUID) -> OrderReview | None:
    """The firewall's (and any person's) decision on an order."""
    return await repository.get_review(session, order_id)

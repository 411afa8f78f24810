"""Stripe webhook intake: verify a delivery, record its event id once, apply it to the orders.

It all happens in the request's transaction: the event's marker, the orders it creates or
changes, and ``handled_at``. A failure rolls all of it back, so Stripe's retry finds no marker and
processes the event again; a redelivery after success finds the marker and changes nothing.

A refund or dispute that arrives before its order is kept with ``order_service.defer_event`` under
``payment:<payment intent>`` and applied when the order is paid. Refunds are cumulative in Stripe
(``charge.amount_refunded``), while a kept or applied refund is an amount: each refund event adds
only what its total exceeds the refunds already counted (on the order once it is paid, else the
refunds kept for it), so totals that arrive late or out of order are never counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import stripe
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.errors import DomainError
from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.order import repository as order_repository
from growth.order import service as order_service
from growth.order.models import Order
from growth.order.rules import OrderStatus
from growth.risk import service as risk_service
from growth.risk.service import RiskPolicy
from growth.stripe_webhook import repository, rules
from growth.stripe_webhook.errors import (
    InvalidStripeSignature,
    MalformedStripeEvent,
    StripeWebhooksNotConfigured,
)

log = structlog.get_logger()

SOURCE = "stripe"


@dataclass(frozen=True, slots=True)
class Received:
    duplicate: bool
    note: str | None = None
    """Why the event changed nothing (or was kept for later), when it did not simply apply."""


@dataclass(frozen=True, slots=True)
class _Lookups:
    terms: CampaignTermsLookup
    leads: LeadLookup
    risk: RiskPolicy


def verified_envelope(payload: bytes, signature: str | None, secret: str) -> rules.Envelope:
    """The event of a delivery signed with ``secret`` in the last five minutes, or a 400/503 error."""
    if not secret:
        raise StripeWebhooksNotConfigured("Stripe webhooks are not configured (GROWTH_STRIPE_WEBHOOK_SECRET)")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        why = exc.user_message if signature else "the Stripe-Signature header is missing"
        raise InvalidStripeSignature(f"invalid Stripe signature: {why}") from exc
    except (ValueError, AttributeError) as exc:
        # The library parses only after verifying: this body is signed but is not a JSON object.
        raise MalformedStripeEvent("the body is not a JSON Stripe event") from exc
    try:
        return rules.read_envelope(event.to_dict())
    except rules.MalformedEvent as exc:
        raise MalformedStripeEvent(str(exc)) from exc


async def receive_event(
    session: AsyncSession,
    payload: bytes,
    signature: str | None,
    *,
    secret: str,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    risk_policy: RiskPolicy | None = None,
    now: datetime,
) -> Received:
    """Verify a delivery and apply its event once, however often and concurrently it is delivered."""
    envelope = verified_envelope(payload, signature, secret)
    claimed = await repository.claim_event(
        session, source=SOURCE, external_id=envelope.id, type=envelope.type, now=now
    )
    if not claimed:
        log.info("growth.stripe_webhook.duplicate", event_id=envelope.id, event_type=envelope.type)
        return Received(duplicate=True)
    note = await _apply(
        session, envelope, _Lookups(terms_lookup, lead_lookup, risk_policy or RiskPolicy()), now=now
    )
    await repository.mark_handled(session, source=SOURCE, external_id=envelope.id, now=now, note=note)
    return Received(duplicate=False, note=note)


async def _apply(
    session: AsyncSession, envelope: rules.Envelope, lookups: _Lookups, *, now: datetime
) -> str | None:
    try:
        action = rules.action_for(envelope, source=SOURCE)
    except rules.UnusableEvent as exc:
        return _not_applied(envelope, str(exc), error="unusable_event")
    if isinstance(action, rules.Ignore):
        log.info("growth.stripe_webhook.ignored", event_id=envelope.id, event_type=envelope.type)
        return rules.note(action.reason)
    await repository.lock(session, rules.lock_keys(action))
    try:
        async with session.begin_nested():
            return await _perform(session, action, lookups, now=now)
    except DomainError as exc:
        # Illegal in the order's state, conflicting content, an unusable customer: a retry would
        # fail the same way, so the event is acknowledged with the reason instead of looping.
        return _not_applied(envelope, exc.message, error=exc.code())


def _not_applied(envelope: rules.Envelope, reason: str, *, error: str) -> str:
    log.warning(
        "growth.stripe_webhook.not_applied", event_id=envelope.id, event_type=envelope.type, error=error
    )
    return rules.note(f"not applied: {reason}")


async def _perform(
    session: AsyncSession, action: rules.Action, lookups: _Lookups, *, now: datetime
) -> str | None:
    if isinstance(action, rules.NewOrder):
        return await _new_order(session, action, lookups, now=now)
    if isinstance(action, rules.PaymentEvent):
        return await _payment_event(session, action, now=now)
    if isinstance(action, rules.CardFingerprint):
        return await _card_fingerprint(session, action, lookups, now=now)
    assert isinstance(action, rules.OrderPaid)
    order = await order_repository.get_by_external_id(session, action.external_id)
    if order is None:
        await order_service.defer_event(session, f"order:{action.external_id}", action.event)
        return f"kept until order {action.external_id} arrives"
    return await _pay(session, order, action.event, now=now)


async def _new_order(
    session: AsyncSession, action: rules.NewOrder, lookups: _Lookups, *, now: datetime
) -> str | None:
    intake = action.intake
    if action.starts_subscription and intake.subscription_id:
        first = await repository.first_order_of_subscription(session, intake.subscription_id)
        if first is not None and first.external_id != intake.external_id:
            # The same first payment, reported by the Checkout Session and by the first invoice.
            paid = await _pay(session, first, action.paid, now=now) if action.paid else None
            started = f"subscription {intake.subscription_id} started with order {first.external_id}"
            return f"{started}; {paid}" if paid else started
    ingested = await order_service.ingest_order(
        session,
        intake,
        terms_lookup=lookups.terms,
        lead_lookup=lookups.leads,
        risk_policy=lookups.risk,
        now=now,
    )
    return await _pay(session, ingested.order, action.paid, now=now) if action.paid else None


async def _pay(
    session: AsyncSession, order: Order, paid: order_service.OrderEventIn, *, now: datetime
) -> str | None:
    if order.status != OrderStatus.placed.value:
        return f"order {order.external_id} is already {order.status}"
    await order_service.apply_event_by_external_id(session, order.external_id, paid, now=now)
    return None


async def _payment_event(session: AsyncSession, action: rules.PaymentEvent, *, now: datetime) -> str | None:
    order = await _order_of_payment(session, action.references)
    # Until the order is paid, refunds and disputes wait for it (``apply_pending`` runs after ``paid``).
    is_waiting = order is None or order.status == OrderStatus.placed.value
    match_key = f"payment:{order.payment_reference}" if order is not None else action.match_key
    event = action.event
    if action.refunded_total is not None:
        counted = (
            order.refunded_amount
            if order is not None and not is_waiting
            else await repository.deferred_refunds(session, match_key)
        )
        amount = rules.refund_amount(action.refunded_total, counted)
        if amount is None:
            total = action.refunded_total
            return f"refunds of {action.references[0]} already counted ({counted}; this total: {total})"
        event = replace(event, amount=amount)
    if order is None or is_waiting:
        await order_service.defer_event(session, match_key, event)
        return f"kept until the order of {action.references[0]} is paid"
    await order_service.apply_event_by_external_id(session, order.external_id, event, now=now)
    return None


async def _card_fingerprint(
    session: AsyncSession, action: rules.CardFingerprint, lookups: _Lookups, *, now: datetime
) -> str | None:
    """Keep the card on the order that has none, then let the firewall score the order again."""
    order = await _order_of_payment(session, action.references)
    if order is None:
        # Checkout reports the charge before the session: the order takes the card when it arrives.
        await order_service.keep_card_fingerprint(session, action.references, action.fingerprint, now=now)
        return f"no order of {action.references[0]} yet: its card fingerprint is kept for it"
    if order.payment_fingerprint is not None:
        same = order.payment_fingerprint == action.fingerprint
        return None if same else f"order {order.external_id} already has another card fingerprint"
    order.payment_fingerprint = action.fingerprint
    review = await risk_service.rescore_order(
        session, order, terms_lookup=lookups.terms, policy=lookups.risk, now=now
    )
    return f"order {order.external_id} is now {review.status} by the risk check" if review else None


async def _order_of_payment(session: AsyncSession, references: tuple[str, ...]) -> Order | None:
    for reference in references:
        if order := await order_repository.get_by_payment_reference(session, reference, for_update=True):
            return order
    return None

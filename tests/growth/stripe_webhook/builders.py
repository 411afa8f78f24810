"""Stripe-shaped objects and signed deliveries, built here so that the suite needs no shared data.

The shapes follow Stripe's current API (``invoice.parent.subscription_details`` rather than the
older top-level ``invoice.subscription``); ``test_conformance.py`` checks them against Stripe's
published sample objects. Bodies are signed with the installed library's own helper.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import stripe

WEBHOOK_SECRET = "whsec_growth_test_0123456789abcdef"

_NEW: Any = object()
"""Default meaning "a fresh id" for fields that may also be set to None."""


def new_id(prefix: str) -> str:
    """An id in Stripe's style, e.g. ``pi_3f9c...``."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def checkout_session(
    *,
    id: str | None = None,
    amount_total: int = 19900,
    currency: str = "usd",
    customer: str | None = None,
    email: str | None = "mei@example.com",
    name: str | None = "Mei Wang",
    payment_intent: str | None = _NEW,
    payment_status: str = "paid",
    mode: str = "payment",
    subscription: str | None = None,
    invoice: str | None = None,
    client_reference_id: str | None = None,
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A completed Checkout Session; in subscription mode Stripe sets no payment intent."""
    if payment_intent is _NEW:
        payment_intent = new_id("pi") if mode == "payment" else None
    return {
        "id": id or new_id("cs_test"),
        "object": "checkout.session",
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "client_reference_id": client_reference_id,
        "created": created or now(),
        "currency": currency,
        "customer": customer,
        "customer_details": {
            "address": None,
            "email": email,
            "name": name,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata or {},
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_status": payment_status,
        "status": "complete",
        "subscription": subscription,
    }


def invoice(
    *,
    id: str | None = None,
    amount_paid: int = 9900,
    currency: str = "usd",
    customer: str = "cus_mei",
    customer_email: str | None = "mei@example.com",
    customer_name: str | None = "Mei Wang",
    subscription: str | None = None,
    billing_reason: str = "subscription_cycle",
    paid_at: int | None = _NEW,
    created: int | None = None,
    metadata: dict[str, str] | None = None,
    subscription_metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A paid invoice; a subscription's invoice names it under ``parent.subscription_details``."""
    created = created or now()
    parent = (
        {
            "quote_details": None,
            "subscription_details": {"metadata": subscription_metadata, "subscription": subscription},
            "type": "subscription_details",
        }
        if subscription
        else None
    )
    return {
        "id": id or new_id("in"),
        "object": "invoice",
        "amount_due": amount_paid,
        "amount_paid": amount_paid,
        "amount_remaining": 0,
        "billing_reason": billing_reason,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_email": customer_email,
        "customer_name": customer_name,
        "livemode": False,
        "metadata": metadata or {},
        "parent": parent,
        "status": "paid",
        "status_transitions": {
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": created if paid_at is _NEW else paid_at,
            "voided_at": None,
        },
        "total": amount_paid,
    }


def charge(
    *,
    id: str | None = None,
    payment_intent: str | None = None,
    amount: int = 19900,
    amount_refunded: int = 0,
    currency: str = "usd",
    fingerprint: str | None = _NEW,
) -> dict[str, Any]:
    """A captured card charge; ``amount_refunded`` is cumulative, as Stripe reports it.

    ``fingerprint`` is the card's (Stripe: the same card in one account, the same fingerprint).
    """
    if fingerprint is _NEW:
        fingerprint = uuid.uuid4().hex[:16]
    return {
        "id": id or new_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "captured": True,
        "created": now(),
        "currency": currency,
        "customer": None,
        "disputed": False,
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": payment_intent,
        "payment_method_details": {
            "card": {"brand": "visa", "country": "US", "fingerprint": fingerprint, "last4": "4242"},
            "type": "card",
        },
        "refunded": amount_refunded == amount,
        "status": "succeeded",
    }


def dispute(
    *,
    id: str | None = None,
    charge: str | None = None,
    payment_intent: str | None = None,
    amount: int = 19900,
    currency: str = "usd",
    status: str = "needs_response",
) -> dict[str, Any]:
    return {
        "id": id or new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "charge": charge or new_id("ch"),
        "created": now(),
        "currency": currency,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": "fraudulent",
        "status": status,
    }


def event(
    type: str, obj: dict[str, Any], *, id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    """The envelope Stripe posts to a webhook endpoint."""
    return {
        "id": id or new_id("evt"),
        "object": "event",
        "api_version": stripe.api_version,
        "created": created or now(),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def signed(
    payload: dict[str, Any] | str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a delivery, signed as Stripe signs it (``t=...,v1=...``)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), {"stripe-signature": header, "content-type": "application/json"}

"""Pure mapping of Stripe events (plain dicts, as Stripe sends them) to the one order intake.

Every event becomes one action: a new order (``OrderIntake``, maybe followed by ``paid``), a
lifecycle event for the order of a payment (``OrderEventIn``), ``paid`` for a known checkout, or
``Ignore``. Fields are read where Stripe's current API puts them, with the older places as
fallbacks (API versions before 2025-03-31 carried ``invoice.subscription``, ``invoice.payment_intent``
and ``invoice.charge`` at the top level).

The order's ``source`` is a parameter: the architecture test keeps the provider's lower-case
name out of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from growth.attribution.service import Hints
from growth.core.email import normalize_email
from growth.order.rules import OrderEventType
from growth.order.service import OrderEventIn, OrderIntake

HINT_KEYS = ("referral_code", "coupon_code", "click_id", "lead_reference")
"""Metadata keys the shop may set on a Checkout Session (or a subscription) to attribute the order."""
DISPUTE_FUNDS_KEPT = frozenset({"won", "warning_closed", "prevented"})
"""Closed dispute statuses in which the dispute took no money: won, an inquiry closed without a
chargeback (``warning_closed``), or a chargeback prevented (any refund that settled it arrives as
its own ``charge.refunded``). Every other closed status is a loss of the disputed amount."""
NOTE_LENGTH = 500
FINGERPRINT_LENGTH = 100
"""``orders.payment_fingerprint``'s length (Stripe's are 16 characters)."""


class MalformedEvent(ValueError):
    """The signed body is not a Stripe event (no id, type, created or data.object)."""


class UnusableEvent(ValueError):
    """A Stripe event lacking what its mapping needs; recorded with this note, never retried."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The event around the object: its id (the de-duplication key), type and time."""

    id: str
    type: str
    created: datetime
    object: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Ignore:
    reason: str


@dataclass(frozen=True, slots=True)
class NewOrder:
    intake: OrderIntake
    paid: OrderEventIn | None = None
    """Applied right after the intake when Stripe says the money was collected."""
    starts_subscription: bool = False
    """The Checkout Session that starts a subscription and the subscription's first invoice are
    two reports of one payment: whichever comes first is the order, the other only pays it."""


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A lifecycle event for the order of a payment (refund, dispute)."""

    references: tuple[str, ...]
    """The payment references the order may carry, best first: payment intent, then charge."""
    event: OrderEventIn
    refunded_total: int | None = None
    """For refunds: the charge's cumulative ``amount_refunded``; ``event.amount`` is then unset and
    the service turns the total into what is not yet counted (``refund_amount``)."""

    @property
    def match_key(self) -> str:
        """Where an event waits for its order (``PendingOrderEvent.match_key``)."""
        return f"payment:{self.references[0]}"


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """``paid`` for an order known by its external id (a delayed Checkout payment succeeded)."""

    external_id: str
    event: OrderEventIn


@dataclass(frozen=True, slots=True)
class CardFingerprint:
    """The card a payment was made with (``payment_method_details.card.fingerprint``): kept on the
    order of the payment, for the risk firewall to compare with the referrer's cards."""

    references: tuple[str, ...]
    """The payment references the order may carry, best first: payment intent, then charge."""
    fingerprint: str


Action = Ignore | NewOrder | PaymentEvent | OrderPaid | CardFingerprint


def read_envelope(event: Mapping[str, Any]) -> Envelope:
    """The verified event's id, type, time and object; ``MalformedEvent`` when it is not an event."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if not (
        isinstance(event_id, str)
        and event_id
        and isinstance(event_type, str)
        and event_type
        and _is_int(created)
        and isinstance(obj, Mapping)
    ):
        raise MalformedEvent("not a Stripe event: id, type, created and data.object are required")
    return Envelope(event_id, event_type, _instant(created), obj)


def action_for(envelope: Envelope, *, source: str) -> Action:
    """What ``envelope`` asks of the orders; ``UnusableEvent`` when a needed field is missing."""
    mapping = _MAPPINGS.get(envelope.type)
    if mapping is None:
        return Ignore(f"event type {envelope.type} is not used")
    return mapping(envelope, source)


def refund_amount(refunded_total: int, already_refunded: int) -> int | None:
    """What a cumulative Stripe refund total adds to what is already counted, or None if nothing.

    Stripe's ``charge.amount_refunded`` is cumulative and its events may arrive out of order:
    only the part above what we counted is new, so an older, smaller total changes nothing.
    """
    amount = refunded_total - already_refunded
    return amount if amount > 0 else None


def lock_keys(action: Action) -> list[str]:
    """The keys under which this action is serialised with every other event of the same payment,
    order or subscription, sorted so that two transactions always lock in the same order."""
    keys: set[str] = set()
    if isinstance(action, NewOrder):
        keys.add(f"order:{action.intake.external_id}")
        if action.intake.payment_reference:
            keys.add(f"payment:{action.intake.payment_reference}")
        if action.intake.subscription_id:
            keys.add(f"subscription:{action.intake.subscription_id}")
    elif isinstance(action, PaymentEvent):
        keys.add(action.match_key)
    elif isinstance(action, OrderPaid):
        keys.add(f"order:{action.external_id}")
    elif isinstance(action, CardFingerprint):
        keys.add(f"payment:{action.references[0]}")
    return sorted(keys)


def hints_from(client_reference_id: str | None, metadata: Mapping[str, Any] | None) -> Hints:
    """How the buyer arrived: ``client_reference_id`` is a click id if it is a UUID, else a referral
    code; metadata keys ``referral_code``, ``coupon_code``, ``click_id`` and ``lead_reference``."""
    meta = {key: _text(metadata, key) for key in HINT_KEYS}
    referral_code = meta["referral_code"]
    click_ids: list[UUID] = []
    reference = (client_reference_id or "").strip() or None
    if reference is not None:
        if (click := _uuid(reference)) is not None:
            click_ids.append(click)
        elif referral_code is None:
            referral_code = reference
    if (click := _uuid(meta["click_id"])) is not None and click not in click_ids:
        click_ids.append(click)
    return Hints(referral_code, meta["coupon_code"], tuple(click_ids), meta["lead_reference"])


def note(text: str) -> str:
    """A note that fits the ``external_events.note`` column."""
    return text if len(text) <= NOTE_LENGTH else text[: NOTE_LENGTH - 1] + "…"


# -- the mappings, one per event type ---------------------------------------------------------


def _checkout_completed(envelope: Envelope, source: str) -> Action:
    session = envelope.object
    if session.get("mode") == "setup":
        return Ignore("a setup-mode Checkout Session collects no payment")
    details = _mapping(session, "customer_details")
    email = _text(details, "email")
    subscription = _id(session, "subscription")
    intake = OrderIntake(
        external_id=_required_text(session, "id"),
        customer_external_id=_customer_key(_id(session, "customer"), email, "checkout session"),
        amount=_required_int(session, "amount_total"),
        currency=_required_text(session, "currency").upper(),
        placed_at=_instant(_required_int(session, "created")),
        source=source,
        customer_email=email,
        customer_name=_text(details, "name"),
        hints=hints_from(_text(session, "client_reference_id"), _mapping(session, "metadata")),
        payment_reference=_id(session, "payment_intent"),
        subscription_id=subscription,
    )
    paid = _paid(envelope, source) if session.get("payment_status") == "paid" else None
    return NewOrder(intake, paid, starts_subscription=subscription is not None)


def _checkout_paid_later(envelope: Envelope, source: str) -> Action:
    return OrderPaid(_required_text(envelope.object, "id"), _paid(envelope, source))


def _invoice_paid(envelope: Envelope, source: str) -> Action:
    invoice = envelope.object
    invoice_id = _required_text(invoice, "id")
    amount = _required_int(invoice, "amount_paid")
    if amount == 0:
        return Ignore(f"invoice {invoice_id} collected nothing (trial or credit)")
    subscription_details = _mapping(_mapping(invoice, "parent"), "subscription_details")
    subscription = _id(subscription_details, "subscription") or _id(invoice, "subscription")
    paid_at = _optional_int(_mapping(invoice, "status_transitions"), "paid_at")
    placed_at = _instant(paid_at if paid_at is not None else _required_int(invoice, "created"))
    email = _text(invoice, "customer_email")
    intake = OrderIntake(
        external_id=invoice_id,
        customer_external_id=_customer_key(_id(invoice, "customer"), email, "invoice"),
        amount=amount,
        currency=_required_text(invoice, "currency").upper(),
        placed_at=placed_at,
        source=source,
        customer_email=email,
        customer_name=_text(invoice, "customer_name"),
        hints=hints_from(
            None, {**_mapping(invoice, "metadata"), **_mapping(subscription_details, "metadata")}
        ),
        payment_reference=_invoice_payment_reference(invoice),
        subscription_id=subscription,
    )
    paid = OrderEventIn(OrderEventType.paid, placed_at, source, event_key=f"{envelope.id}:paid")
    starts = subscription is not None and invoice.get("billing_reason") == "subscription_create"
    return NewOrder(intake, paid, starts_subscription=starts)


def _charge_refunded(envelope: Envelope, source: str) -> Action:
    charge = envelope.object
    event = OrderEventIn(OrderEventType.refunded, envelope.created, source, event_key=envelope.id)
    return PaymentEvent(
        _references(_id(charge, "payment_intent"), _required_text(charge, "id")),
        event,
        refunded_total=_required_int(charge, "amount_refunded"),
    )


def _charge_succeeded(envelope: Envelope, source: str) -> Action:
    charge = envelope.object
    card = _mapping(_mapping(charge, "payment_method_details"), "card")
    fingerprint = _text(card, "fingerprint")
    if fingerprint is None:
        return Ignore(f"charge {charge.get('id')} carries no card fingerprint (not a card payment)")
    if len(fingerprint) > FINGERPRINT_LENGTH:
        raise UnusableEvent(f"the card fingerprint is longer than {FINGERPRINT_LENGTH} characters")
    return CardFingerprint(
        _references(_id(charge, "payment_intent"), _required_text(charge, "id")), fingerprint
    )


def _dispute_created(envelope: Envelope, source: str) -> Action:
    dispute = envelope.object
    event = OrderEventIn(OrderEventType.disputed, envelope.created, source, event_key=envelope.id)
    return PaymentEvent(_references(_id(dispute, "payment_intent"), _id(dispute, "charge")), event)


def _dispute_closed(envelope: Envelope, source: str) -> Action:
    dispute = envelope.object
    references = _references(_id(dispute, "payment_intent"), _id(dispute, "charge"))
    if _required_text(dispute, "status") in DISPUTE_FUNDS_KEPT:
        event = OrderEventIn(OrderEventType.dispute_won, envelope.created, source, event_key=envelope.id)
    else:
        amount = _required_int(dispute, "amount")
        event = OrderEventIn(OrderEventType.dispute_lost, envelope.created, source, amount, envelope.id)
    return PaymentEvent(references, event)


_MAPPINGS: dict[str, Callable[[Envelope, str], Action]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_paid_later,
    "invoice.paid": _invoice_paid,
    "charge.succeeded": _charge_succeeded,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
HANDLED_TYPES = tuple(_MAPPINGS)
"""The event types to select on the Stripe webhook endpoint."""


# -- reading fields ---------------------------------------------------------------------------


def _paid(envelope: Envelope, source: str) -> OrderEventIn:
    # Keyed by the event, not the object: a retried delivery pays once, another event is another fact.
    return OrderEventIn(OrderEventType.paid, envelope.created, source, event_key=f"{envelope.id}:paid")


def _invoice_payment_reference(invoice: Mapping[str, Any]) -> str | None:
    # Only API versions before 2025-03-31 put the payment on the invoice; newer ones link them
    # through ``invoice_payment`` objects, which this intake does not read (yet).
    return _id(invoice, "payment_intent") or _id(invoice, "charge")


def _customer_key(customer: str | None, email: str | None, what: str) -> str:
    if customer:
        return customer
    if email:
        return f"email:{normalize_email(email)}"
    raise UnusableEvent(f"the {what} has neither a customer nor an e-mail address")


def _references(*candidates: str | None) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(c for c in candidates if c))
    if not found:
        raise UnusableEvent("the event names neither a payment intent nor a charge")
    return found


def _instant(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(obj: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, Mapping) else {}


def _text(obj: Mapping[str, Any] | None, key: str) -> str | None:
    value = obj.get(key) if obj is not None else None
    return (value.strip() or None) if isinstance(value, str) else None


def _id(obj: Mapping[str, Any], key: str) -> str | None:
    """An expandable field: the id string, or the ``id`` of the expanded object."""
    value = obj.get(key)
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _required_text(obj: Mapping[str, Any], key: str) -> str:
    value = _text(obj, key)
    if value is None:
        raise UnusableEvent(f"{obj.get('object', 'object')}.{key} is missing")
    return value


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if _is_int(value) else None


def _required_int(obj: Mapping[str, Any], key: str) -> int:
    value = _optional_int(obj, key)
    if value is None:
        raise UnusableEvent(f"{obj.get('object', 'object')}.{key} is missing")
    return value


def _uuid(value: str | None) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None

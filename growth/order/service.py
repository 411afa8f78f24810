"""Order use cases: take an order in (idempotently), move it through its lifecycle, explain it.

One code path for the three intakes: the JSON API, CSV import and the Stripe webhook all build an
``OrderIntake`` or an ``OrderEventIn`` and call these functions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution import service as attribution_service
from growth.attribution.models import Attribution
from growth.attribution.service import Hints
from growth.core.events.service import publish
from growth.core.money import is_known_currency
from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.customer import service as customer_service
from growth.order import repository
from growth.order.errors import IllegalOrderTransition, InvalidOrder, OrderConflict, OrderNotFound
from growth.order.models import (
    Order,
    OrderLine,
    OrderTransition,
    PendingCardFingerprint,
    PendingOrderEvent,
)
from growth.order.rules import (
    IllegalTransition,
    OrderEventType,
    OrderState,
    OrderStatus,
    content_fingerprint,
    differing_fields,
    intake_problem,
    transition,
)
from growth.risk.service import RiskPolicy

log = structlog.get_logger()
_GROUP_TERMS = "growth.order.group_terms"


@dataclass(frozen=True, slots=True)
class LineIn:
    sku: str
    quantity: int
    unit_amount: int
    category: str | None = None


@dataclass(frozen=True, slots=True)
class OrderIntake:
    """An order as any intake reports it."""

    external_id: str
    customer_external_id: str
    amount: int
    currency: str
    placed_at: datetime
    source: str
    customer_email: str | None = None
    customer_name: str | None = None
    lines: tuple[LineIn, ...] = ()
    hints: Hints = field(default_factory=Hints)
    payment_reference: str | None = None
    subscription_id: str | None = None
    # What the risk firewall compares between referrer and referee (all optional; hashed where personal).
    payment_fingerprint: str | None = None
    """The card's fingerprint at the payment provider (Stripe's ``card.fingerprint``)."""
    address_hash: str | None = None
    """Keyed hash of the normalized shipping address (``growth.risk.rules.address_hash``)."""
    device_id: str | None = None
    ip_hash: str | None = None
    """Keyed hash of the buyer's IP, comparable with the clicks' (``growth.click.rules.hash_ip``)."""
    margin_amount: int | None = None
    """What the merchant keeps from the order, in minor units, when the shop knows its costs."""

    def content(self) -> dict[str, Any]:
        """What makes this order this order: compared when the same external id comes again."""
        content = asdict(self)
        content.pop("source")
        content["placed_at"] = self.placed_at.isoformat()
        content["hints"]["click_ids"] = sorted(str(c) for c in self.hints.click_ids)
        # As stored (JSON): tuples become lists, so a retry compares equal field by field.
        return json.loads(json.dumps(content))


@dataclass(frozen=True, slots=True)
class OrderEventIn:
    type: OrderEventType
    occurred_at: datetime
    source: str
    amount: int | None = None
    """Refunded (or lost in dispute) minor units; None refunds what is left."""
    event_key: str | None = None
    """The sender's event id; retried events with the same id apply once."""

    def key(self) -> str:
        return self.event_key or f"{self.type.value}:{self.amount}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True)
class Ingested:
    order: Order
    attribution: Attribution | None
    created: bool


@dataclass(frozen=True)
class Applied:
    order: Order
    transition: OrderTransition
    created: bool


def group_terms(session: AsyncSession, lookup: CampaignTermsLookup) -> CampaignTermsLookup:
    """``lookup`` remembering its answers while ``session`` lives: the orders of one intake group
    (``growth.order.tasks``, a transaction of milliseconds) read each campaign once between them."""
    remembered: CampaignTermsLookup = session.info.setdefault(
        _GROUP_TERMS, attribution_service.remembering(lookup)
    )
    return remembered


def _state(order: Order) -> OrderState:
    return OrderState(
        OrderStatus(order.status),
        order.amount,
        order.paid_amount,
        order.refunded_amount,
        OrderStatus(order.status_before_dispute) if order.status_before_dispute else None,
    )


def _same_or_conflict(order: Order, content: dict[str, Any], fingerprint: str) -> None:
    if order.fingerprint != fingerprint:
        fields = differing_fields(order.content, content)
        raise OrderConflict(
            f"order {order.external_id} was already reported with different {', '.join(fields)}",
            fields=fields,
        )


async def ingest_order(
    session: AsyncSession,
    intake: OrderIntake,
    *,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    risk_policy: RiskPolicy | None = None,
    now: datetime,
) -> Ingested:
    """Take an order in and attribute it; the same order again returns the first result.

    ``risk_policy``: the program's firewall settings (``growth.app.risk_policy``); None: the defaults.
    """
    problem = intake_problem(
        amount=intake.amount,
        currency_known=is_known_currency(intake.currency),
        placed_at=intake.placed_at,
        now=now,
        lines=[(line.quantity, line.unit_amount) for line in intake.lines],
        margin_amount=intake.margin_amount,
    )
    if problem:
        raise InvalidOrder(problem)
    content = intake.content()
    fingerprint = content_fingerprint(content)
    if (existing := await repository.get_by_external_id(session, intake.external_id)) is not None:
        _same_or_conflict(existing, content, fingerprint)
        return Ingested(
            existing, await attribution_service.get_attribution(session, existing.id), created=False
        )
    upserted = await customer_service.upsert_customer(
        session,
        external_id=intake.customer_external_id,
        email=intake.customer_email,
        name=intake.customer_name,
    )
    customer = upserted.customer
    payment_fingerprint = intake.payment_fingerprint
    if payment_fingerprint is None and intake.payment_reference:
        # Stripe may have reported the card before the order: the firewall scores the order with it.
        payment_fingerprint = await repository.pending_card_fingerprint(session, intake.payment_reference)
    order = await repository.insert_new(
        session,
        {
            "external_id": intake.external_id,
            "customer_id": customer.id,
            "amount": intake.amount,
            "currency": intake.currency,
            "placed_at": intake.placed_at,
            "status": OrderStatus.placed.value,
            "paid_amount": 0,
            "refunded_amount": 0,
            "source": intake.source,
            "payment_reference": intake.payment_reference,
            "subscription_id": intake.subscription_id,
            "payment_fingerprint": payment_fingerprint,
            "address_hash": intake.address_hash,
            "device_id": intake.device_id,
            "ip_hash": intake.ip_hash,
            "margin_amount": intake.margin_amount,
            "content": content,
            "fingerprint": fingerprint,
        },
    )
    if order is None:
        # A concurrent intake of the same order won: answer as for a retry.
        existing = await get_order(session, intake.external_id)
        _same_or_conflict(existing, content, fingerprint)
        return Ingested(
            existing, await attribution_service.get_attribution(session, existing.id), created=False
        )
    session.add_all(
        OrderLine(
            order_id=order.id,
            sku=line.sku,
            category=line.category,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
        )
        for line in intake.lines
    )
    attribution = await attribution_service.attribute_order(
        session,
        order=order,
        customer=customer,
        is_new_customer=upserted.created,
        hints=intake.hints,
        terms_lookup=terms_lookup,
        lead_lookup=lead_lookup,
        risk_policy=risk_policy,
        now=now,
    )
    await session.flush()
    await apply_pending(session, order, now=now)
    return Ingested(order, attribution, created=True)


async def apply_event(session: AsyncSession, order: Order, event: OrderEventIn, *, now: datetime) -> Applied:
    """Move ``order`` through its lifecycle; a retried event (same key) applies once."""
    key = event.key()
    if (done := await repository.get_transition(session, order.id, key)) is not None:
        if done.event != event.type.value:
            raise OrderConflict(f"event id {key!r} was already used for a {done.event} event")
        return Applied(order, done, created=False)
    before = _state(order)
    try:
        after = transition(before, event.type, event.amount)
    except IllegalTransition as exc:
        raise IllegalOrderTransition(str(exc), current=exc.current.value) from exc
    order.status, order.paid_amount, order.refunded_amount = (
        after.status.value,
        after.paid_amount,
        after.refunded_amount,
    )
    order.status_before_dispute = after.status_before_dispute.value if after.status_before_dispute else None
    moved = after.refunded_amount - before.refunded_amount
    record = OrderTransition(
        order_id=order.id,
        event=event.type.value,
        event_key=key,
        from_status=before.status.value,
        to_status=after.status.value,
        amount=moved or event.amount,
        occurred_at=event.occurred_at,
        source=event.source,
    )
    session.add(record)
    await publish(
        session,
        f"order.{event.type.value}",
        {
            "order_id": str(order.id),
            "external_id": order.external_id,
            "status": after.status.value,
            "amount": order.amount,
            "paid_amount": after.paid_amount,
            "refunded_amount": after.refunded_amount,
            "refund_amount": moved,
            "currency": order.currency,
            "occurred_at": event.occurred_at.isoformat(),
        },
        now=now,
    )
    await session.flush()
    return Applied(order, record, created=True)


async def get_order(session: AsyncSession, external_id: str, *, for_update: bool = False) -> Order:
    """One order by the shop's id, or ``OrderNotFound``."""
    order = await repository.get_by_external_id(session, external_id, for_update=for_update)
    if order is None:
        raise OrderNotFound(f"order {external_id!r} not found")
    return order


async def closed_at(session: AsyncSession, order_id: UUID) -> datetime | None:
    """When the order was closed (at the source), or None if it never was."""
    closes = [t for t in await repository.transitions_of(session, order_id) if t.event == "closed"]
    return closes[0].occurred_at if closes else None


async def first_of_subscription(session: AsyncSession, subscription_id: str) -> Order | None:
    """The earliest order of a subscription (its renewals come after)."""
    return await repository.first_of_subscription(session, subscription_id)


async def has_paid_order(session: AsyncSession, customer_id: UUID) -> bool:
    """Whether the customer ever paid for an order (such a customer is no longer new)."""
    return await repository.has_paid_order(session, customer_id)


async def apply_event_by_external_id(
    session: AsyncSession, external_id: str, event: OrderEventIn, *, now: datetime
) -> Applied:
    """Apply an event to the order with the shop's id (locked while it changes), then any it unblocked."""
    applied = await apply_event(
        session, await get_order(session, external_id, for_update=True), event, now=now
    )
    if applied.created and applied.transition.from_status != applied.transition.to_status:
        # Kept events wait for a status (a refund for ``paid``): only a status change can unblock them.
        await apply_pending(session, applied.order, now=now)
    return applied


async def defer_event(session: AsyncSession, match_key: str, event: OrderEventIn) -> None:
    """Keep an event whose order has not arrived yet; ``apply_pending`` applies it later."""
    if not await repository.pending_exists(session, event.key()):
        session.add(
            PendingOrderEvent(
                match_key=match_key,
                event=event.type.value,
                event_key=event.key(),
                amount=event.amount,
                occurred_at=event.occurred_at,
                source=event.source,
            )
        )
        await session.flush()


async def keep_card_fingerprint(
    session: AsyncSession, payment_references: tuple[str, ...], fingerprint: str, *, now: datetime
) -> None:
    """Keep the card of a payment whose order has not arrived; ``ingest_order`` gives it to the order.

    Kept under each reference (payment intent, charge), as the order may carry either; the first
    report of a reference wins, so a replayed or reordered delivery changes nothing.
    """
    for reference in payment_references:
        if await repository.pending_card_fingerprint(session, reference) is None:
            session.add(
                PendingCardFingerprint(payment_reference=reference, fingerprint=fingerprint, received_at=now)
            )
    await session.flush()


async def apply_pending(session: AsyncSession, order: Order, *, now: datetime) -> int:
    """Apply the events that arrived before ``order``, oldest first; returns how many applied."""
    keys = [f"order:{order.external_id}"] + (
        [f"payment:{order.payment_reference}"] if order.payment_reference else []
    )
    applied = 0
    for pending in await repository.pending_for(session, keys):
        event = OrderEventIn(
            OrderEventType(pending.event),
            pending.occurred_at,
            pending.source,
            pending.amount,
            pending.event_key,
        )
        try:
            async with session.begin_nested():
                await apply_event(session, order, event, now=now)
        except IllegalOrderTransition as exc:
            # Not yet possible (a refund before the payment): it stays pending for the next event.
            log.info(
                "growth.order.pending_event_waits",
                order_id=str(order.id),
                event_key=pending.event_key,
                reason=exc.message,
            )
            continue
        pending.applied_at = now
        applied += 1
    return applied


@dataclass(frozen=True)
class OrderView:
    order: Order
    attribution: Attribution | None
    lines: list[OrderLine]
    history: list[OrderTransition]


async def order_view(session: AsyncSession, external_id: str) -> OrderView:
    """An order with its attribution, lines and lifecycle, oldest first."""
    order = await get_order(session, external_id)
    return OrderView(
        order,
        await attribution_service.get_attribution(session, order.id),
        await repository.lines_of(session, order.id),
        await repository.transitions_of(session, order.id),
    )

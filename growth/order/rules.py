"""Pure order rules: intake checks, the lifecycle state machine, and comparing retried intakes."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from growth.click.rules import hash_ip
from growth.risk.rules import address_hash

MAX_ORDER_AMOUNT = 100_000_000_000
"""Minor units: 1,000,000,000.00 in a 2-decimal currency. Anything larger is a mistake."""
MAX_FUTURE_SKEW = timedelta(days=1)
MAX_QUANTITY = 1_000_000
"""Units of one line item; more is a mistake (and would overflow the column)."""


class OrderStatus(StrEnum):
    placed = "placed"
    paid = "paid"
    fulfilled = "fulfilled"
    closed = "closed"
    refunded = "refunded"
    cancelled = "cancelled"
    disputed = "disputed"


class OrderEventType(StrEnum):
    paid = "paid"
    fulfilled = "fulfilled"
    closed = "closed"
    refunded = "refunded"
    cancelled = "cancelled"
    disputed = "disputed"
    dispute_won = "dispute_won"
    dispute_lost = "dispute_lost"


@dataclass(frozen=True, slots=True)
class OrderState:
    """The money and status of an order, as the state machine sees it."""

    status: OrderStatus
    amount: int
    paid_amount: int = 0
    refunded_amount: int = 0
    status_before_dispute: OrderStatus | None = None

    @property
    def refundable(self) -> int:
        return self.paid_amount - self.refunded_amount


class IllegalTransition(ValueError):
    """The event cannot happen to an order in its current state."""

    def __init__(self, message: str, current: OrderStatus) -> None:
        super().__init__(message)
        self.current = current


_AFTER_PAYMENT = (OrderStatus.paid, OrderStatus.fulfilled, OrderStatus.closed)


def transition(state: OrderState, event: OrderEventType, amount: int | None = None) -> OrderState:
    """The state after ``event``; raises ``IllegalTransition`` with the current status otherwise.

    ``amount`` is the refunded (or lost in dispute) amount; a refund without one refunds all that
    is left. A partial refund leaves the status; the last one makes the order ``refunded``.
    """
    s = state.status

    def illegal(why: str) -> IllegalTransition:
        return IllegalTransition(f"cannot apply {event.value} to a {s.value} order: {why}", s)

    if event is OrderEventType.paid:
        if s is not OrderStatus.placed:
            raise illegal("it is already paid or finished")
        return replace(state, status=OrderStatus.paid, paid_amount=state.amount)
    if event is OrderEventType.fulfilled:
        if s is not OrderStatus.paid:
            raise illegal("only a paid order is fulfilled")
        return replace(state, status=OrderStatus.fulfilled)
    if event is OrderEventType.closed:
        if s not in (OrderStatus.paid, OrderStatus.fulfilled):
            raise illegal("only a paid or fulfilled order is closed")
        return replace(state, status=OrderStatus.closed)
    if event is OrderEventType.cancelled:
        if s is not OrderStatus.placed:
            raise illegal("only an unpaid order is cancelled; refund a paid one")
        return replace(state, status=OrderStatus.cancelled)
    if event is OrderEventType.refunded:
        if s not in _AFTER_PAYMENT:
            raise illegal("only a paid order is refunded")
        return _refund(state, amount, illegal)
    if event is OrderEventType.disputed:
        if s not in _AFTER_PAYMENT:
            raise illegal("only a paid order is disputed")
        return replace(state, status=OrderStatus.disputed, status_before_dispute=s)
    if s is not OrderStatus.disputed:
        raise illegal("the order is not disputed")
    restored = replace(
        state, status=state.status_before_dispute or OrderStatus.paid, status_before_dispute=None
    )
    if event is OrderEventType.dispute_won:
        return restored
    return _refund(restored, amount, illegal)  # dispute_lost: the money went back to the buyer


def _refund(state: OrderState, amount: int | None, illegal: Any) -> OrderState:
    amount = state.refundable if amount is None else amount
    if amount <= 0:
        raise illegal("a refund amount must be positive")
    if amount > state.refundable:
        raise illegal(f"refund of {amount} exceeds the {state.refundable} still refundable")
    refunded = state.refunded_amount + amount
    status = OrderStatus.refunded if refunded == state.paid_amount else state.status
    return replace(state, refunded_amount=refunded, status=status)


def intake_problem(
    *,
    amount: int,
    currency_known: bool,
    placed_at: datetime,
    now: datetime,
    lines: list[tuple[int, int]],
    margin_amount: int | None = None,
) -> str | None:
    """Why an order cannot be taken in, or None. ``lines`` are (quantity, unit_amount) pairs."""
    if amount < 0:
        return "amount must not be negative"
    if amount > MAX_ORDER_AMOUNT:
        return f"amount {amount} is larger than {MAX_ORDER_AMOUNT} minor units"
    if margin_amount is not None and not -MAX_ORDER_AMOUNT <= margin_amount <= amount:
        return "margin_amount must not be more than the order amount"
    if not currency_known:
        return "unknown currency (ISO 4217 expected)"
    if placed_at > now + MAX_FUTURE_SKEW:
        return "placed_at is in the future"
    for quantity, unit_amount in lines:
        if not 0 < quantity <= MAX_QUANTITY or unit_amount < 0 or quantity * unit_amount > MAX_ORDER_AMOUNT:
            return f"line items need a quantity of 1 to {MAX_QUANTITY} and a non-negative unit amount"
    return None


def identity_hashes(
    secret: str, *, address_parts: Iterable[str | None] | None, customer_ip: str | None
) -> tuple[str | None, str | None]:
    """The keyed hashes of the shipping address and of the buyer's IP, as every intake keeps them.

    The IP is the one a click's hash is compared with (``growth.click.rules.hash_ip``);
    ``ValueError`` when ``customer_ip`` is not an IP address.
    """
    ip_hash = None
    if customer_ip is not None:
        try:
            ip = str(ipaddress.ip_address(customer_ip.strip()))
        except ValueError as exc:
            raise ValueError(f"customer_ip {customer_ip!r} is not an IP address") from exc
        ip_hash = hash_ip(secret, ip)
    return (address_hash(secret, address_parts) if address_parts is not None else None), ip_hash


def content_fingerprint(content: dict[str, Any]) -> str:
    """A stable hash of an intake's content, to tell a retry from a different order."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def differing_fields(stored: dict[str, Any], incoming: dict[str, Any]) -> list[str]:
    """The top-level fields in which two intakes of the same order differ."""
    return sorted(k for k in stored.keys() | incoming.keys() if stored.get(k) != incoming.get(k))

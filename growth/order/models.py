"""Orders reported by the shop, their line items, and every change of their state."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("margin_amount IS NULL OR margin_amount <= amount", name="margin_within_amount"),
        CheckConstraint("refunded_amount <= paid_amount", name="refund_within_paid"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
        # The analytics' aggregates of a date range read only this index, never the wide rows
        # (migration f4d5e6a7b8c9; benchmarks/dashboard.py).
        Index("ix_orders_placed_facts", "placed_at", "currency", "amount", "status", "customer_id", "id"),
    )

    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    """The shop's (or Stripe's) id of the order; intake is idempotent on it."""
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    """Order total in minor units of ``currency``."""
    currency: Mapped[str] = mapped_column(String(3))
    """ISO 4217 code, upper case."""
    placed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    """When the customer placed the order (UTC)."""
    status: Mapped[str] = mapped_column(String(20), default="placed")
    """``placed``, ``paid``, ``fulfilled``, ``closed``, ``refunded``, ``cancelled`` or ``disputed``."""
    status_before_dispute: Mapped[str | None] = mapped_column(String(20), default=None)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Minor units collected."""
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Minor units returned to the buyer (refunds and lost disputes), never more than paid."""
    source: Mapped[str] = mapped_column(String(10))
    """``api``, ``csv`` or ``stripe``."""
    payment_reference: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    """The payment's id at the provider (Stripe payment intent), to match refunds and disputes."""
    subscription_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    """For subscription renewals: the subscription each paid invoice belongs to."""
    payment_fingerprint: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    """The card's fingerprint at the payment provider, to see one card behind several customers."""
    address_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    """Keyed hash of the normalized shipping address (the address itself is not kept here)."""
    device_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    """The shop's device id of the buyer, when it sends one."""
    ip_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    """Keyed hash of the buyer's IP, comparable with the clicks' hashes."""
    margin_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """What the merchant keeps, in minor units, when the shop sends it; None: unknown."""
    content: Mapped[dict[str, Any]] = mapped_column(JsonB)
    """The intake as received (canonical), to compare a retried intake field by field."""
    fingerprint: Mapped[str] = mapped_column(String(64))


class OrderLine(Base):
    __tablename__ = "order_lines"

    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100), default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    """Price of one unit in minor units of the order's currency."""


class OrderTransition(Base):
    """One lifecycle event applied to an order: when, from where, and what it changed."""

    __tablename__ = "order_transitions"
    __table_args__ = (UniqueConstraint("order_id", "event_key"),)

    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(200))
    """The sender's event id (or a hash of the event), so a retried event applies once."""
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Refunded or disputed minor units, when the event moves money."""
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When it happened at the source (UTC)."""
    source: Mapped[str] = mapped_column(String(10))


class PendingOrderEvent(Base):
    """An event that arrived before its order (Stripe delivers out of order); applied on arrival."""

    __tablename__ = "pending_order_events"

    match_key: Mapped[str] = mapped_column(String(200), index=True)
    """``order:<external id>`` or ``payment:<payment reference>``."""
    event: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Refunded minor units, when given."""
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    source: Mapped[str] = mapped_column(String(10))
    applied_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class PendingCardFingerprint(Base):
    """A card fingerprint Stripe reported before the order of its payment arrived (Checkout sends the
    charge before the session): the order takes it when it arrives, before the firewall scores it."""

    __tablename__ = "pending_card_fingerprints"

    payment_reference: Mapped[str] = mapped_column(String(200), unique=True)
    """A payment intent or charge id the order may carry as its ``payment_reference``."""
    fingerprint: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))

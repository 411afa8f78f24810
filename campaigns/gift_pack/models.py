"""Gift packs and samples with their stock, and the shipments that carry them to customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class GiftPack(Base):
    """A SKU the merchant ships as a reward, with its stock."""

    __tablename__ = "gift_packs"
    __table_args__ = (
        CheckConstraint("stock_on_hand >= 0", name="stock_on_hand"),
        CheckConstraint("stock_reserved BETWEEN 0 AND stock_on_hand", name="stock_reserved"),
        CheckConstraint("value_amount >= 0", name="value_amount"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    sku: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    value_amount: Mapped[int] = mapped_column(BigInteger)
    """What one pack costs the merchant, in minor units of ``currency`` (counted against budgets)."""
    currency: Mapped[str] = mapped_column(String(3))
    stock_on_hand: Mapped[int] = mapped_column(Integer, default=0)
    """Packs in the warehouse, reserved ones included."""
    stock_reserved: Mapped[int] = mapped_column(Integer, default=0)
    """Packs promised to granted rewards and not shipped yet; changed only under a row lock."""


class Shipment(Base):
    """One gift pack on its way to a customer: requested, shipped with tracking, delivered or failed."""

    __tablename__ = "shipments"

    reward_id: Mapped[UUID] = mapped_column(ForeignKey("rewards.id"), unique=True)
    sku: Mapped[str] = mapped_column(String(100))
    address: Mapped[dict[str, Any]] = mapped_column(JsonB)
    """The shipping address the customer confirmed (name, lines, city, postal code, country, phone)."""
    status: Mapped[str] = mapped_column(String(20), default="requested")
    """``requested``, ``shipped``, ``delivered`` or ``failed``."""
    carrier: Mapped[str | None] = mapped_column(String(100), default=None)
    tracking_number: Mapped[str | None] = mapped_column(String(100), default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    requested_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

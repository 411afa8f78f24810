"""Webhook events received from outside providers, recorded once per provider event id."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class ExternalEvent(Base):
    """One provider event (a Stripe ``evt_...``); the unique key makes a redelivery a no-op."""

    __tablename__ = "external_events"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    source: Mapped[str] = mapped_column(String(20))
    """Who sent it: ``stripe``."""
    external_id: Mapped[str] = mapped_column(String(255))
    """The sender's event id."""
    type: Mapped[str] = mapped_column(String(100))
    """The sender's event type, e.g. ``checkout.session.completed``."""
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the first delivery arrived (UTC)."""
    handled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When its effects were written (UTC), in the same transaction as the effects."""
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    """Why the event changed nothing (ignored type, illegal for the order's state, deferred, ...)."""

"""Outbox tables: domain events written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class OutboxEvent(Base):
    """A fact recorded by ``growth`` (``referral_code.issued``, ``order.closed``, ...)."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "processed_at", "next_attempt_at"),)

    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the fact happened (UTC)."""
    processed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When every subscriber had handled it; NULL while any is outstanding."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Failed handling attempts so far."""
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Earliest retry after a failure (UTC); NULL when not waiting on a retry."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxDelivery(Base):
    """Proof that one subscriber handled one event, committed with the subscriber's own writes."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)

    event_id: Mapped[UUID] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(200))
    handled_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the subscriber's transaction committed (UTC)."""

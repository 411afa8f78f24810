"""The firewall's decision on each attributed order, and a person's decision on a held one."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class OrderReview(Base):
    __tablename__ = "order_reviews"
    __table_args__ = (
        CheckConstraint("verdict IN ('allow', 'hold', 'reject')", name="verdict"),
        CheckConstraint("status IN ('allowed', 'held', 'rejected', 'approved', 'declined')", name="status"),
        # The review queue lists one status, oldest review first.
        Index("ix_order_reviews_status_reviewed_at", "status", "reviewed_at"),
    )

    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    verdict: Mapped[str] = mapped_column(String(10))
    """What the rules decided: ``allow``, ``hold`` or ``reject``."""
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """Every reason that fired, with its figures (``growth.risk.rules.Reason.as_dict``)."""
    status: Mapped[str] = mapped_column(String(10), index=True)
    """``allowed``/``held``/``rejected`` by the rules; a held order becomes ``approved`` or ``declined``
    when a person decides."""
    reviewed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    note: Mapped[str | None] = mapped_column(String(2000), default=None)

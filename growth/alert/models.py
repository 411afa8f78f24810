"""Delay alerts: one row per item found past its expected time (found once, never twice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class DelayAlert(Base):
    """An item past its expected time: what happened, who is told, and what they may do."""

    __tablename__ = "delay_alerts"
    __table_args__ = (
        # The delay check runs again and again: the same item past the same stage is alerted once.
        UniqueConstraint("kind", "subject_id"),
        CheckConstraint("recipient_type IN ('customer', 'partner')", name="recipient_type"),
    )

    kind: Mapped[str] = mapped_column(String(40), index=True)
    """An ``AlertKind``: ``gift_pack_not_shipped``, ``gift_pack_out_of_stock``, ``reward_in_review``,
    ``payout_failed``."""
    recipient_type: Mapped[str] = mapped_column(String(10))
    """``customer`` or ``partner``: who is told."""
    recipient_id: Mapped[UUID] = mapped_column(index=True)
    subject_id: Mapped[UUID]
    """The late item: a reward (customer alerts) or a payout (partner alerts)."""
    expected_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the item should have reached its next stage (UTC)."""
    detected_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    """When the delay check found it past that time (UTC)."""
    detail: Mapped[str] = mapped_column(String(300))
    """What happened, in words for marketing (never a friend's e-mail)."""
    options: Mapped[list[str]] = mapped_column(JsonB, default=list)
    """What the recipient may do (``take_store_credit_now``, ``wait_for_restock``, ...)."""
    context: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    """Facts the notification may show (the pack's name, the amount and currency, the campaign id)."""

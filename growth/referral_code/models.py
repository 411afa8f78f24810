"""Referral codes: one per referrer (customer or partner) and campaign."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class ReferralCode(Base):
    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint("customer_id", "campaign_id"),
        UniqueConstraint("partner_id", "campaign_id"),
        CheckConstraint("(customer_id IS NULL) <> (partner_id IS NULL)", name="one_referrer"),
    )

    code: Mapped[str] = mapped_column(String(32))
    """The code as issued (vanity codes keep their case)."""
    code_key: Mapped[str] = mapped_column(String(32), unique=True)
    """Upper-cased code: codes are unique case-insensitively."""
    is_vanity: Mapped[bool] = mapped_column(Boolean, default=False)
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    customer_id: Mapped[UUID | None] = mapped_column(ForeignKey("customers.id"), default=None)
    """The referrer when a customer shares the code."""
    partner_id: Mapped[UUID | None] = mapped_column(ForeignKey("partners.id"), default=None)
    """The referrer when a partner shares the code."""
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """After this instant (UTC) the code no longer attributes orders; NULL: never expires."""
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the code stopped working (UTC); NULL while it works."""

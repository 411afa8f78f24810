"""Posts customers submit for a social-share campaign, and their moderation."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class ShareSubmission(Base):
    __tablename__ = "share_submissions"
    __table_args__ = (UniqueConstraint("campaign_id", "url_key"),)

    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    referral_code_id: Mapped[UUID] = mapped_column(ForeignKey("referral_codes.id"))
    url: Mapped[str] = mapped_column(String(2000))
    url_key: Mapped[str] = mapped_column(String(2000))
    """The URL normalised (scheme, host case, tracking parameters): one post is submitted once."""
    platform: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """``pending``, ``approved`` or ``rejected``."""
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    """The moderator's note (required when rejecting)."""
    submitted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    """The API key (prefix) or user who decided."""

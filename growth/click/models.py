"""Clicks on referral links. The visitor's IP is kept only as a keyed hash."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Click(Base):
    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_referral_code_clicked", "referral_code_id", "clicked_at"),
        # The analytics count the clicks of a range, of all campaigns or of one (migration f2b3c4d5e6a7).
        Index("ix_clicks_clicked_at", "clicked_at"),
        Index("ix_clicks_campaign_clicked", "campaign_id", "clicked_at"),
    )

    referral_code_id: Mapped[UUID] = mapped_column(ForeignKey("referral_codes.id"))
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    clicked_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the visitor opened the link (UTC); the row may be written a moment later."""
    ip_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    """HMAC-SHA256 of the visitor's IP under the service secret; the raw IP is never stored."""
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    referer: Mapped[str | None] = mapped_column(String(2000), default=None)

"""Sign-in links: only the hash of the token is stored; a link is used once and expires."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class PartnerSignInLink(Base):
    __tablename__ = "partner_sign_in_links"

    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token in the e-mailed link; the token itself exists only in the e-mail."""
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the link signed someone in (UTC); a used link never works again."""

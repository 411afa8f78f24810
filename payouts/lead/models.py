"""Leads: a partner's registration of a prospect, holding it against other partners for a while."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base

_HELD = text("released_at IS NULL")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint("email_key IS NOT NULL OR company_key IS NOT NULL", name="prospect"),
        CheckConstraint("expires_at > registered_at", name="period"),
        # First partner wins, decided by the database: while a lead holds an e-mail or company key,
        # a concurrent registration of the same key by anyone fails its insert.
        Index(
            "ix_leads_held_email_key", "email_key", unique=True, sqlite_where=_HELD, postgresql_where=_HELD
        ),
        Index(
            "ix_leads_held_company_key",
            "company_key",
            unique=True,
            sqlite_where=_HELD,
            postgresql_where=_HELD,
        ),
    )

    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    """``L-XXXXXX``: what the partner gives the prospect to quote when ordering."""
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    email_key: Mapped[str | None] = mapped_column(String(320), default=None, index=True)
    """Normalized e-mail (as customers' ``email_key``): an order by this customer is the lead's."""
    company: Mapped[str | None] = mapped_column(String(200), default=None)
    company_key: Mapped[str | None] = mapped_column(String(200), default=None)
    """Case-folded company name without punctuation or legal-form suffix (``rules.company_key``)."""
    contact_name: Mapped[str | None] = mapped_column(String(200), default=None)
    note: Mapped[str | None] = mapped_column(String(1000), default=None)
    registered_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the partner registered the prospect (UTC); orders placed before it are not the lead's."""
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """End of validity (UTC, exclusive): ``registered_at`` plus ``lead_valid_days``."""
    released_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the lead stopped holding its prospect (UTC): its expiry, recorded when the prospect is
    registered again, or the closing of its partner. NULL while it holds it."""

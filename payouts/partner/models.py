"""Consulting and channel partners: who they are and where they stand in their lifecycle."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, String, false
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint("status IN ('applied', 'approved', 'suspended', 'closed')", name="status"),
        CheckConstraint(
            "country IS NULL OR (length(country) = 2 AND upper(country) = country)", name="country"
        ),
        CheckConstraint("credit_tier IN ('new', 'standard', 'trusted')", name="credit_tier"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), index=True)
    """Normalized e-mail (``growth.core.email.normalize_email``): one open application per mailbox."""
    company: Mapped[str | None] = mapped_column(String(200), default=None)
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    """ISO 3166-1 alpha-2, upper case."""
    application_message: Mapped[str | None] = mapped_column(String(2000), default=None)
    """What the applicant wrote when applying; NULL for partners created by finance."""
    status: Mapped[str] = mapped_column(String(20), default="approved")
    """``applied``, ``approved``, ``suspended`` or ``closed`` (final)."""
    status_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    """Why the partner got its current status (required for suspended and closed)."""
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the partner got its current status (UTC); the codes a suspension revoked carry this instant."""
    approved_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the partner was first approved (UTC); NULL while it never was."""
    credit_tier: Mapped[str] = mapped_column(String(20), default="new", server_default="new")
    """``new``, ``standard`` or ``trusted``: sets the commission hold and the cap on unpaid commission."""
    credit_tier_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    """Why the partner got its current tier (a promotion's facts, or finance's reason)."""
    credit_tier_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the partner got its current tier (UTC); NULL while it is still the first one."""
    is_identity_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Finance checked who the partner is (a payout gate)."""
    identity_verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    identity_verified_by: Mapped[str | None] = mapped_column(String(200), default=None)
    """Who verified the identity (the API key's or user's name)."""

"""A partner's payout account: where their money goes, and the compliance facts about it."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class PayoutAccount(Base):
    __tablename__ = "payout_accounts"
    __table_args__ = (
        CheckConstraint("provider IN ('stripe', 'bank')", name="provider"),
        CheckConstraint(
            "(provider = 'stripe' AND stripe_account_id IS NOT NULL) OR "
            "(provider = 'bank' AND bank_account_number IS NOT NULL)",
            name="destination",
        ),
    )

    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(10))
    """``stripe`` (Connect transfer) or ``bank`` (a transfer file finance uploads)."""
    stripe_account_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """The partner's connected account, ``acct_...``."""
    bank_holder_name: Mapped[str | None] = mapped_column(String(200), default=None)
    bank_name: Mapped[str | None] = mapped_column(String(200), default=None)
    bank_account_number: Mapped[str | None] = mapped_column(String(64), default=None)
    """Stored in full for the bank file; every read shows the last four characters only."""
    tax_form_type: Mapped[str | None] = mapped_column(String(20), default=None)
    """``W-9``, ``W-8BEN``, ... (None: no tax form on file, which holds payouts)."""
    tax_form_on: Mapped[date | None] = mapped_column(Date, default=None)
    """The day the tax form was received."""
    changed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the destination last changed (UTC); payouts wait out the cooling-off period after it."""
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Finance checked that the destination belongs to the partner (a payout gate); a new destination
    clears it."""
    verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    verified_by: Mapped[str | None] = mapped_column(String(200), default=None)

"""Payout runs, their payouts (one per partner and currency) and the partners they held back."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class PayoutRun(Base):
    __tablename__ = "payout_runs"
    __table_args__ = (
        UniqueConstraint("period", "currency"),
        CheckConstraint("status IN ('created', 'executing', 'completed')", name="status"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    period: Mapped[str] = mapped_column(String(7))
    """Calendar month ``YYYY-MM``: one run per period and currency."""
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    """created -> executing -> completed."""
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When execution first started (UTC)."""
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When no payout was left pending (UTC)."""


class Payout(Base):
    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("run_id", "partner_id", "currency"),
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'paid')", name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    run_id: Mapped[UUID] = mapped_column(ForeignKey("payout_runs.id"), index=True)
    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    """Minor units moved from the partner's payable balance."""
    currency: Mapped[str] = mapped_column(String(3))
    statement_id: Mapped[UUID | None] = mapped_column(ForeignKey("statements.id"), default=None)
    """The partner's statement of the run's month and currency: the one this payout settles."""
    provider: Mapped[str] = mapped_column(String(10))
    """``stripe`` or ``bank``, from the partner's payout account when the run was created."""
    destination: Mapped[str | None] = mapped_column(String(64), default=None)
    """The Stripe connected account (``acct_...``) at creation; None for bank payouts."""
    status: Mapped[str] = mapped_column(String(20))
    """pending -> sent | failed; a sent bank payout -> paid when finance confirms it."""
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    """``payout-<id>``: the same on every provider call for this payout."""
    provider_reference: Mapped[str | None] = mapped_column(String(100), default=None)
    """Stripe transfer id (``tr_...``) or the bank file."""
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    """The provider's reason for the last failure (or unknown outcome)."""
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    paid_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When finance confirmed a bank payout (UTC)."""


class PayoutSkip(Base):
    __tablename__ = "payout_skips"
    __table_args__ = (UniqueConstraint("run_id", "partner_id"),)

    run_id: Mapped[UUID] = mapped_column(ForeignKey("payout_runs.id"), index=True)
    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    """Minor units payable when the run was created (in the run's currency)."""
    reason: Mapped[str] = mapped_column(String(40))
    """A ``SkipReason``: ``below_minimum``, ``partner_not_approved``, ``identity_not_verified``,
    ``country_blocked``, ``no_payout_account``, ``tax_form_missing``, ``payout_account_not_verified``,
    ``account_cooling_off`` or ``amount_above_trailing_average``."""


class PayoutHoldRelease(Base):
    """Finance lets one partner's payout of a period through the trailing-average hold."""

    __tablename__ = "payout_hold_releases"
    __table_args__ = (
        UniqueConstraint("partner_id", "period", "currency"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"))
    period: Mapped[str] = mapped_column(String(7))
    """Calendar month ``YYYY-MM`` of the run the release applies to."""
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    """Why finance let the payout through."""
    released_by: Mapped[str | None] = mapped_column(String(200), default=None)
    released_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))

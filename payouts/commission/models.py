"""Commission plans (how a partner is paid), their assignment over time, and commissions per order."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class CommissionPlan(Base):
    """A revenue share: percent of the order (basis points) or a fixed amount per order."""

    __tablename__ = "commission_plans"
    __table_args__ = (
        CheckConstraint("rate_bps IS NULL OR rate_bps BETWEEN 0 AND 10000", name="rate_bps"),
        CheckConstraint("fixed_amount IS NULL OR fixed_amount > 0", name="fixed_amount"),
        CheckConstraint("hold_days BETWEEN 0 AND 365", name="hold_days"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    """``percent`` (of the order) or ``fixed`` (per order)."""
    rate_bps: Mapped[int | None] = mapped_column(Integer, default=None)
    """Percent plans: the base rate, in basis points of the commissionable amount."""
    fixed_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Fixed plans: minor units of ``currency`` per order."""
    currency: Mapped[str] = mapped_column(String(3))
    """The plan's currency: fixed amounts and tier thresholds are in it; orders in others earn nothing."""
    hold_days: Mapped[int] = mapped_column(Integer, default=30)
    """Days after an order closes before its commission is approved."""
    recurring: Mapped[str] = mapped_column(String(20), default="none")
    """Subscription renewals: ``none``, ``months`` (for ``recurring_months``) or ``lifetime``."""
    recurring_months: Mapped[int | None] = mapped_column(Integer, default=None)


class CommissionPlanRate(Base):
    """A rate for one product category or SKU, instead of the plan's base rate."""

    __tablename__ = "commission_plan_rates"
    __table_args__ = (
        CheckConstraint("rate_bps BETWEEN 0 AND 10000", name="rate_bps"),
        CheckConstraint("(category IS NULL) <> (sku IS NULL)", name="category_or_sku"),
    )

    plan_id: Mapped[UUID] = mapped_column(ForeignKey("commission_plans.id", ondelete="CASCADE"), index=True)
    category: Mapped[str | None] = mapped_column(String(100), default=None)
    sku: Mapped[str | None] = mapped_column(String(100), default=None)
    rate_bps: Mapped[int] = mapped_column(Integer)


class CommissionPlanTier(Base):
    """From ``min_revenue`` of the partner's closed revenue in the period, this rate applies."""

    __tablename__ = "commission_plan_tiers"
    __table_args__ = (
        UniqueConstraint("plan_id", "min_revenue"),
        CheckConstraint("rate_bps BETWEEN 0 AND 10000", name="rate_bps"),
        CheckConstraint("min_revenue > 0", name="min_revenue"),
    )

    plan_id: Mapped[UUID] = mapped_column(ForeignKey("commission_plans.id", ondelete="CASCADE"), index=True)
    min_revenue: Mapped[int] = mapped_column(BigInteger)
    """Minor units of the plan's currency."""
    rate_bps: Mapped[int] = mapped_column(Integer)


class PartnerPlan(Base):
    """Which plan a partner is on from when: a change applies to orders attributed after it."""

    __tablename__ = "partner_plans"

    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    plan_id: Mapped[UUID] = mapped_column(ForeignKey("commission_plans.id"))
    effective_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Commission(Base):
    """What a partner earns on one order (or renewal); its money moves only through ledger entries."""

    __tablename__ = "commissions"
    __table_args__ = (
        UniqueConstraint("order_id", "partner_id", "kind"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("reversed_amount BETWEEN 0 AND amount", name="reversed_within_amount"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    order_external_id: Mapped[str] = mapped_column(String(200))
    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    plan_id: Mapped[UUID] = mapped_column(ForeignKey("commission_plans.id"))
    """The plan in force when the order was attributed (a later change does not reach back)."""
    kind: Mapped[str] = mapped_column(String(20), default="initial")
    """``initial`` or ``renewal`` (a subscription's later invoice)."""
    base_amount: Mapped[int] = mapped_column(BigInteger)
    """The order amount the commission is computed on, in minor units of ``currency``."""
    amount: Mapped[int] = mapped_column(BigInteger)
    """Commission accrued, in minor units of ``currency``, rounded once."""
    reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Of ``amount``, what refunds reversed (pending) or clawed back (approved), in minor units."""
    currency: Mapped[str] = mapped_column(String(3))
    rate_bps: Mapped[int | None] = mapped_column(Integer, default=None)
    """The effective rate (tier or base) for percent plans, for the statement."""
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """``pending``, ``approved`` or ``reversed`` (all of it refunded before approval)."""
    order_paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    order_refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    is_order_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    order_closed_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None, index=True
    )
    """When the order closed (UTC): tiers count the partner's revenue closed in the period."""
    is_order_disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_order_held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The risk firewall holds the order for review: approval waits for a person's decision."""
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    """Why it was reversed or is held (a refund, the risk check, a review decision)."""
    approve_after: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None, index=True
    )
    """The end of the hold after the order closed (UTC): the expected approval date."""
    approved_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accrued_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))

"""Reward rules (what a campaign gives, to whom, when) and rewards (what one customer earned)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class RewardRule(Base):
    """One reward a campaign gives: to which side, of which type and value."""

    __tablename__ = "reward_rules"
    __table_args__ = (
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        CheckConstraint("rate_bps IS NULL OR rate_bps BETWEEN 1 AND 10000", name="rate_bps"),
        CheckConstraint("threshold IS NULL OR threshold >= 1", name="threshold"),
    )

    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(20))
    """``referee`` (welcome), ``referrer`` (per referred order), ``milestone`` or ``share``."""
    reward_type: Mapped[str] = mapped_column(String(20))
    """A ``RewardType``: percent or fixed discount, store credit, gift pack, free sample, cash."""
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Value in minor units of the campaign's currency (fixed discount, credit, cash)."""
    rate_bps: Mapped[int | None] = mapped_column(Integer, default=None)
    """Percent discount in basis points (1000 = 10%)."""
    max_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Most a percent discount may take off one order, in minor units; NULL: no cap."""
    sku: Mapped[str | None] = mapped_column(String(100), default=None)
    """The gift pack or sample shipped."""
    threshold: Mapped[int | None] = mapped_column(Integer, default=None)
    """Milestones: the number of successful referrals that earns this tier."""
    out_of_stock: Mapped[str] = mapped_column(String(20), default="wait")
    """A pack out of stock: ``wait`` (for restock), ``store_credit``, ``gift_pack`` or ``none``."""
    alternative_sku: Mapped[str | None] = mapped_column(String(100), default=None)
    """The other pack offered when ``out_of_stock`` is ``gift_pack``."""
    alternative_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The store credit offered when ``out_of_stock`` is ``store_credit``, in minor units."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    """Retired rules stay for the rewards that name them but grant nothing new."""


class Reward(Base):
    """What one customer earned (or was refused) under one rule, and where it stands."""

    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
        # The analytics' reward cost of a date range reads only this index (migration f4d5e6a7b8c9).
        Index("ix_rewards_created_costs", "created_at", "campaign_id", "status", "currency", "amount"),
    )

    grant_key: Mapped[str] = mapped_column(String(200), unique=True)
    """What makes this reward unique (``referrer:<rule>:<order>``): a replayed event finds it."""
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    rule_id: Mapped[UUID] = mapped_column(ForeignKey("reward_rules.id"), index=True)
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    """Who receives the reward."""
    side: Mapped[str] = mapped_column(String(20))
    reward_type: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[UUID | None] = mapped_column(ForeignKey("orders.id"), default=None, index=True)
    """The referee's order that earned it (NULL for welcome coupons not yet used and share rewards)."""
    order_external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    referee_customer_id: Mapped[UUID | None] = mapped_column(ForeignKey("customers.id"), default=None)
    """The friend whose order earned a referrer's reward, or who holds a welcome coupon."""
    share_submission_id: Mapped[UUID | None] = mapped_column(default=None)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Value counted against the budget, in minor units of ``currency`` (a pack's value, a credit)."""
    currency: Mapped[str] = mapped_column(String(3))
    rate_bps: Mapped[int | None] = mapped_column(Integer, default=None)
    """Percent discounts: the rate, in basis points."""
    coupon_code: Mapped[str | None] = mapped_column(String(48), default=None, unique=True)
    """Discount rewards: the unique code the shop honours (welcome coupons start with the referral code)."""
    referral_code_id: Mapped[UUID | None] = mapped_column(ForeignKey("referral_codes.id"), default=None)
    """The code that brought the referee (referee and referrer rewards)."""
    sku: Mapped[str | None] = mapped_column(String(100), default=None)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """``pending``, ``approved``, ``issued``, ``fulfilled``, ``voided`` or ``not_granted``."""
    is_granted: Mapped[bool] = mapped_column(Boolean, default=False)
    """True once the budget (and stock) were reserved for it; voiding releases them."""
    is_stock_reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    is_waiting_for_stock: Mapped[bool] = mapped_column(Boolean, default=False)
    """A gift pack out of stock whose rule says wait: granted again on restock."""
    is_order_disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    """The earning order is disputed: approval waits for the outcome."""
    is_order_held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The risk firewall holds the earning order for review: approval waits for a person's decision."""
    reason: Mapped[str | None] = mapped_column(String(300), default=None)
    """Why it was voided, not granted, or is waiting."""
    order_closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    approve_after: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None, index=True
    )
    """When the hold period ends (UTC): the expected approval date."""
    approved_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    issued_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    voided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None, index=True)
    """Welcome coupons: after this instant (UTC) an unused coupon is void (the attribution window)."""

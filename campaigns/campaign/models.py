"""Campaigns: what marketing runs (the full reward model comes with rewards)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("attribution_window_days BETWEEN 1 AND 365", name="attribution_window_days"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
        CheckConstraint("hold_days BETWEEN 0 AND 365", name="hold_days"),
        CheckConstraint("min_order_amount >= 0", name="min_order_amount"),
        CheckConstraint("budget_amount IS NULL OR budget_amount >= 0", name="budget_amount"),
        CheckConstraint("per_referrer_cap IS NULL OR per_referrer_cap >= 1", name="per_referrer_cap"),
        CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="period"),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="referral")
    """``referral``, ``social_share`` or ``partner``."""
    status: Mapped[str] = mapped_column(String(20), default="draft")
    """``draft`` -> ``active`` <-> ``paused`` -> ``ended``."""
    landing_url: Mapped[str] = mapped_column(String(2000))
    currency: Mapped[str] = mapped_column(String(3))
    """ISO 4217 code (upper case) of the orders and rewards of this campaign."""
    hashtag: Mapped[str | None] = mapped_column(String(101), default=None)
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=30)
    """How long a click (and its cookie) can claim an order, in days."""
    attribution_model: Mapped[str] = mapped_column(String(20), default="last_click")
    new_customers_only: Mapped[bool] = mapped_column(Boolean, default=True)
    """Referral campaigns reward only referees without an earlier paid order, unless this is off."""
    starts_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Before this instant (UTC) an active campaign does not yet take clicks; NULL: from activation."""
    ends_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """From this instant (UTC) an active campaign no longer takes clicks; NULL: until ended."""
    hold_days: Mapped[int] = mapped_column(Integer, default=14)
    """Days after an order closes before the rewards it earned are approved (returns window)."""
    min_order_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Smallest order total, in minor units of ``currency``, that earns the referrer a reward."""
    budget_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Total value of rewards the campaign may grant, in minor units of ``currency``; NULL: no limit."""
    budget_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    """Value of the rewards granted and not voided, in minor units; changed only under a row lock."""
    per_referrer_cap: Mapped[int | None] = mapped_column(Integer, default=None)
    """Most referred-order rewards one referrer can earn in this campaign; NULL: no cap."""
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    """Language of the campaign's pages and messages (``en``, ``zh_Hans``); NULL: the visitor's."""
    codes_issued: Mapped[int] = mapped_column(Integer, default=0)
    """Referral codes issued for this campaign, counted from ``referral_code.issued`` events."""
    risk_overrides: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    """The risk firewall's rule actions and thresholds this campaign changes over the program's
    (``growth.risk.rules.Thresholds.from_overrides``); ``{}``: the program's settings."""

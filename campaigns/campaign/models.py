"""Campaigns: what marketing runs (the full reward model comes with rewards)."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("attribution_window_days BETWEEN 1 AND 365", name="attribution_window_days"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
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
    codes_issued: Mapped[int] = mapped_column(Integer, default=0)
    """Referral codes issued for this campaign, counted from ``referral_code.issued`` events."""

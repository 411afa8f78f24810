"""One attribution per order: decided once, when the order arrives, with its reasons."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base

REFERRED = "method <> 'none'"
"""The referred attributions (SQL), as the partial index ``ix_attributions_referred`` covers them."""


class Attribution(Base):
    __tablename__ = "attributions"
    __table_args__ = (
        # The analytics join the referred orders of a range through this index only (migration
        # f4d5e6a7b8c9); a query uses it when it states the same predicate, spelled literally.
        # ``method`` is there for SQLite, which reads only an index holding every column named.
        Index(
            "ix_attributions_referred",
            "order_id",
            "campaign_id",
            "customer_referrer_id",
            "partner_id",
            "method",
            sqlite_where=text(REFERRED),
            postgresql_where=text(REFERRED),
        ),
    )

    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    method: Mapped[str] = mapped_column(String(20))
    """``lead``, ``coupon``, ``referral_code``, ``click``, ``subscription`` or ``none``."""
    referral_code_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("referral_codes.id"), default=None, index=True
    )
    campaign_id: Mapped[UUID | None] = mapped_column(ForeignKey("campaigns.id"), default=None, index=True)
    customer_referrer_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("customers.id"), default=None, index=True
    )
    """The customer who referred the order (referrer), when a customer did."""
    partner_id: Mapped[UUID | None] = mapped_column(ForeignKey("partners.id"), default=None, index=True)
    """The partner who brought the order, when a partner did."""
    lead_id: Mapped[UUID | None] = mapped_column(default=None)
    click_id: Mapped[UUID | None] = mapped_column(default=None)
    """The click that won (no foreign key: clicks are written in batches, a moment after the redirect)."""
    explanation: Mapped[str] = mapped_column(Text)
    rejected: Mapped[list[str]] = mapped_column(JsonB, default=list)
    """Every candidate that was considered and refused, with its reason."""
    decided_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))

"""Customers of the merchant, keyed by the shop's own id."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Customer(Base):
    __tablename__ = "customers"

    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    """The shop's id for this customer."""
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    email_key: Mapped[str | None] = mapped_column(String(320), default=None, index=True)
    """Normalized e-mail (case; Gmail dots and +tags) used to recognise one person behind two accounts."""
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the customer was deleted and their personal data erased (UTC); NULL while active."""

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

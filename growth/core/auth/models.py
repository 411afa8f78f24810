"""API keys: stored only as a hash, with a role and a name."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class ApiKey(Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(8), index=True)
    """Public part of the key, shown in lists so a key can be recognised without its secret."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the whole key; the key itself is shown once and never stored."""
    subject_id: Mapped[UUID | None] = mapped_column(default=None)
    """For partner keys: the partner the key acts for."""
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the key was revoked (UTC); NULL while usable."""
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

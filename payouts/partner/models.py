"""Consulting and channel partners (plans, leads and statements come with the payouts work)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Partner(Base):
    __tablename__ = "partners"

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="approved")
    """``applied``, ``approved``, ``suspended`` or ``closed``."""

"""Audit entries: an append-only, hash-chained record of every action that changes money or access.

Rows are only ever inserted. The migration adds triggers that refuse UPDATE, DELETE (and, on
PostgreSQL, TRUNCATE) of this table, and each entry's hash covers the previous entry's hash, so
a change made around the triggers is still found by ``service.verify_chain``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base

JsonOrNull = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON (JSONB on PostgreSQL) in which Python's None is SQL NULL, not the JSON value ``null``."""


class AuditEntry(Base):
    """Who did what to which subject, with the values before and after, when, and in which request."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        CheckConstraint(
            "actor_kind IN ('api_key', 'partner_session', 'system', 'cli')", name="actor_kind_known"
        ),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        Index("ix_audit_entries_subject", "subject_type", "subject_id"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    """Position in the chain: 1, 2, 3... without gaps (taken under a lock, see ``repository.lock_chain``)."""
    entry_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) over the previous entry's hash and this entry's canonical JSON (``rules.entry_hash``)."""
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    """When the action happened (UTC)."""
    actor_kind: Mapped[str] = mapped_column(String(20))
    """``api_key``, ``partner_session``, ``system`` or ``cli``."""
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """The API key's id or the partner's id; NULL for the system and the CLI."""
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    """A dotted verb: ``api_key.created``, ``partner.status_changed``, ``payout_run.created``."""
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[Any | None] = mapped_column(JsonOrNull, default=None)
    """The subject's audited values before the action (JSON, secrets masked); NULL when it was created."""
    after: Mapped[Any | None] = mapped_column(JsonOrNull, default=None)
    """The subject's audited values after the action (JSON, secrets masked); NULL when it was deleted."""
    request_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """The HTTP request's id (``X-Request-ID``); NULL for jobs and the CLI."""

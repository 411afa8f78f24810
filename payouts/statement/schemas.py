from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from growth.core.text import text


class StatementIssue(msgspec.Struct, forbid_unknown_fields=True):
    """Issue the statements of a calendar month (program time zone) that is over."""

    period: text(min_length=1, max_length=20)  # type: ignore[valid-type]
    """``YYYY-MM``, e.g. ``2026-11``; checked by the service (422 when not a month or not over)."""


class StatementIssueRead(msgspec.Struct):
    period: str
    issued: int
    """Statements written by this call."""
    skipped: int
    """Partners (per currency) that already had this month's statement (or a later one)."""


class StatementRead(msgspec.Struct):
    id: UUID
    partner_id: UUID
    period: str
    """``YYYY-MM`` in the program's time zone."""
    sequence: int
    """The partner's statement number in this currency (1, 2, ...)."""
    period_start: datetime
    """UTC, inclusive."""
    period_end: datetime
    """UTC, exclusive."""
    currency: str
    opening_pending: int
    """Minor units of ``currency`` owed to the partner, pending approval, at the start."""
    opening_payable: int
    closing_pending: int
    closing_payable: int
    issued_at: datetime


class StatementLineRead(msgspec.Struct):
    position: int
    entry_id: UUID
    entry_reference: str
    kind: str
    """``commission_accrued``, ``_reversed``, ``_clawback``, ``_approved``, ``payout...``"""
    description: str
    order_external_id: str | None
    occurred_at: datetime
    pending_change: int
    """Minor units; positive when the merchant owes the partner more."""
    payable_change: int


class StatementDetailRead(StatementRead):
    """A statement with its lines, oldest first: opening + the lines' changes = closing."""

    lines: list[StatementLineRead]

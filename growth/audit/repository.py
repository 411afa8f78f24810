"""Queries of the audit log: the chain's lock and last link, filtered reads, and reads in chain order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit.models import AuditEntry
from growth.audit.rules import Filters

CHAIN_LOCK = "growth.audit_entries.chain"


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None, "the session must be bound to an engine"
    return session.bind.dialect.name


async def lock_chain(session: AsyncSession) -> None:
    """Hold the chain's lock until the transaction ends, so two writers never take the same sequence.

    PostgreSQL: a transaction-scoped advisory lock (taking it again in the same transaction is a no-op
    in effect). SQLite needs none: every transaction starts with ``BEGIN IMMEDIATE``, so writers are
    serialised already.
    """
    if _dialect(session) == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": CHAIN_LOCK}
        )


async def last_link(session: AsyncSession) -> tuple[int, str] | None:
    """The newest entry's ``(sequence, entry_hash)``; None while the log is empty."""
    row = (
        await session.execute(
            select(AuditEntry.sequence, AuditEntry.entry_hash).order_by(AuditEntry.sequence.desc()).limit(1)
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.action is not None:
        conditions.append(
            AuditEntry.action.startswith(filters.action, autoescape=True)
            if filters.action_is_prefix
            else AuditEntry.action == filters.action
        )
    for column, value in (
        (AuditEntry.subject_type, filters.subject_type),
        (AuditEntry.subject_id, filters.subject_id),
        (AuditEntry.actor_id, filters.actor_id),
        (AuditEntry.request_id, filters.request_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.since is not None:
        conditions.append(AuditEntry.occurred_at >= filters.since)
    if filters.until is not None:
        conditions.append(AuditEntry.occurred_at < filters.until)
    return conditions


def _filtered(filters: Filters) -> Select[tuple[AuditEntry]]:
    return select(AuditEntry).where(*_conditions(filters))


async def list_entries(
    session: AsyncSession, filters: Filters, *, limit: int, offset: int
) -> list[AuditEntry]:
    """Matching entries, newest first."""
    query = _filtered(filters).order_by(AuditEntry.sequence.desc()).limit(limit).offset(offset)
    return list(await session.scalars(query))


CHAIN_COLUMNS = (
    AuditEntry.id,
    AuditEntry.sequence,
    AuditEntry.occurred_at,
    AuditEntry.actor_kind,
    AuditEntry.actor_id,
    AuditEntry.actor_name,
    AuditEntry.action,
    AuditEntry.subject_type,
    AuditEntry.subject_id,
    AuditEntry.before,
    AuditEntry.after,
    AuditEntry.request_id,
    AuditEntry.entry_hash,
)


async def batch_in_chain_order(
    session: AsyncSession, filters: Filters, *, after: int, up_to: int | None = None, limit: int = 1000
) -> list[Row[Any]]:
    """Up to ``limit`` matching entries with ``after < sequence <= up_to``, oldest first (keyset paging).

    Plain rows of what is stored, not ORM objects: an entry already in the session must not stand in
    for the row in the database (the chain is verified against the database).
    """
    query = select(*CHAIN_COLUMNS).where(*_conditions(filters), AuditEntry.sequence > after)
    if up_to is not None:
        query = query.where(AuditEntry.sequence <= up_to)
    return list(await session.execute(query.order_by(AuditEntry.sequence).limit(limit)))

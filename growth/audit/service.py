"""The audit log: record an action that changed money or access, read and export entries, verify the chain.

Every package writes here, in the transaction of the change it records::

    from growth.audit import service as audit_service

    before = audit_service.snapshot(partner, "status")
    ...  # change the partner
    await audit_service.record(
        session,
        action="partner.status_changed",
        subject_type="partner",
        subject_id=str(partner.id),
        before=before,
        after=audit_service.snapshot(partner, "status"),
        actor=audit_service.actor_from_request(request),
    )

The kernel (``growth/core``), which may not import this module, records through
``growth.core.audit_port``; importing this module installs :func:`record` there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from litestar import Request
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from growth.audit import repository
from growth.audit.errors import AuditEntryNotFound, InvalidAuditFilter
from growth.audit.models import AuditEntry
from growth.audit.rules import (
    ACTION_PATTERN,
    CSV_HEADER,
    GENESIS_HASH,
    ChainWalk,
    EntryFacts,
    Filters,
    csv_cells,
    csv_text,
    entry_hash,
    jsonable,
    mask_tail,
    parse_filters,
    redact,
)
from growth.core import audit_port
from growth.core.audit_port import Actor, ActorKind
from growth.core.db import SessionMaker
from growth.core.time import utc_now

__all__ = ["Actor", "ActorKind", "Filters"]  # what callers build entries and queries with

EXPORT_BATCH = 1000


def actor_from_request(request: Request[Any, Any, Any]) -> Actor:
    """Who is calling: the API key or dashboard session (``state.principal``) or the signed-in partner."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return Actor.of_principal(principal)
    partner = getattr(request.state, "partner", None)  # the partner portal's session
    if partner is not None:
        return Actor(ActorKind.partner_session, str(partner.id), str(partner.name))
    raise LookupError("nobody is signed in on this request: pass Actor.system(...) for signed webhooks")


def system_actor(name: str = "system") -> Actor:
    """A background job or event handler, named like its task (``commissions.approve_due``)."""
    return Actor.system(name)


def cli_actor(name: str = "cli") -> Actor:
    """Someone at the ``growth`` command line."""
    return Actor.cli(name)


def snapshot(obj: object, *columns: str, masked: Iterable[str] = ()) -> dict[str, Any]:
    """The chosen attributes of ``obj`` as JSON-able values; ``masked`` ones show their last four characters.

    Known secret names (``key_hash``, ``token``...) are redacted and account numbers masked when the
    entry is recorded anyway; ``masked`` is for other values that must not be stored in full.
    """
    values = {column: jsonable(getattr(obj, column)) for column in columns}
    for column in masked:
        if values[column] is not None:
            values[column] = mask_tail(str(values[column]))
    return values


def _facts(entry: AuditEntry | Row[Any]) -> EntryFacts:
    return EntryFacts(
        id=entry.id,
        sequence=entry.sequence,
        occurred_at=entry.occurred_at,
        actor_kind=entry.actor_kind,
        actor_id=entry.actor_id,
        actor_name=entry.actor_name,
        action=entry.action,
        subject_type=entry.subject_type,
        subject_id=entry.subject_id,
        before=entry.before,
        after=entry.after,
        request_id=entry.request_id,
    )


async def record(
    session: AsyncSession,
    *,
    action: str,
    subject_type: str,
    subject_id: str,
    before: Any = None,
    after: Any = None,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction, chained to the one before it; secrets are masked.

    The request id comes from the structlog context the request middleware binds; the actor defaults
    to the system. Call it after the change, as the transaction's last write: the chain's lock is held
    until the transaction ends, and a row lock taken after it could deadlock with a writer that holds
    that row and waits for the chain.
    """
    if not ACTION_PATTERN.fullmatch(action) or len(action) > 100:
        raise ValueError(f"an audit action is a dotted verb like 'api_key.created', not {action!r}")
    if not 0 < len(subject_id) <= 100 or not 0 < len(subject_type) <= 50:
        raise ValueError("subject_type (1-50 characters) and subject_id (1-100) are required")
    actor = actor or Actor.system()
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await repository.lock_chain(session)
    last = await repository.last_link(session)
    sequence, previous_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    entry = AuditEntry(
        id=uuid7(),
        sequence=sequence,
        occurred_at=now or utc_now(),
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_name=actor.name[:200],
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=redact(jsonable(before)),
        after=redact(jsonable(after)),
        request_id=None if request_id is None else str(request_id)[:64],
    )
    entry.entry_hash = entry_hash(previous_hash, _facts(entry))
    session.add(entry)
    # Written now, so the next record() in this transaction chains to this entry.
    await session.flush()
    return entry


def filters(**values: Any) -> Filters:
    """Filters from query values (see ``rules.parse_filters``); nonsense is ``InvalidAuditFilter``."""
    try:
        return parse_filters(**values)
    except ValueError as exc:
        raise InvalidAuditFilter(str(exc)) from exc


async def list_entries(session: AsyncSession, query: Filters, *, limit: int, offset: int) -> list[AuditEntry]:
    """Matching entries, newest first."""
    return await repository.list_entries(session, query, limit=limit, offset=offset)


async def get_entry(session: AsyncSession, entry_id: UUID) -> AuditEntry:
    entry = await session.get(AuditEntry, entry_id)
    if entry is None:
        raise AuditEntryNotFound(f"audit entry {entry_id} not found")
    return entry


async def export_csv(session_maker: SessionMaker, query: Filters) -> AsyncIterator[str]:
    """Matching entries as CSV, oldest first, a batch per chunk; spreadsheet-safe.

    Each batch is read in its own short transaction (the response is streamed to a client of any
    speed, and SQLite's transactions hold the write lock), up to the newest entry when it started.
    """
    yield csv_text([CSV_HEADER])
    async with session_maker() as session:
        last = await repository.last_link(session)
    after, up_to = 0, (last[0] if last else 0)
    while after < up_to:
        async with session_maker() as session:
            batch = await repository.batch_in_chain_order(
                session, query, after=after, up_to=up_to, limit=EXPORT_BATCH
            )
            rows = [csv_cells(_facts(row), row.entry_hash) for row in batch]
        if not batch:
            return
        yield csv_text(rows)
        after = batch[-1].sequence


@dataclass(frozen=True, slots=True)
class ChainVerification:
    is_valid: bool
    checked: int
    """How many entries, from the first, follow from the ones before them."""
    first_broken_sequence: int | None
    reason: str | None


async def verify_chain(session: AsyncSession) -> ChainVerification:
    """Walk the whole log in sequence order and recompute every hash; report where it first breaks."""
    walk, after = ChainWalk(), 0
    while walk.broken is None:
        batch = await repository.batch_in_chain_order(session, Filters(), after=after, limit=EXPORT_BATCH)
        if not batch:
            break
        walk.feed((_facts(row), row.entry_hash) for row in batch)
        after = batch[-1].sequence
    broken = walk.broken
    return ChainVerification(
        is_valid=broken is None,
        checked=walk.checked,
        first_broken_sequence=broken.sequence if broken else None,
        reason=broken.reason if broken else None,
    )


audit_port.install(record)

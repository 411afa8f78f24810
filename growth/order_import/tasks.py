"""CSV import outside a request (``growth orders import``): one transaction per batch of rows.

A batch also ends when its transaction has run ``max_transaction_seconds``: on SQLite it holds the
database's only write lock, which the web app and the jobs wait for at most their busy timeout.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import anyio

from growth.core.db import SessionMaker, hand_over_write_lock
from growth.core.errors import DomainError
from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.order_import import service
from growth.order_import.rules import RowResult

CHUNK_BYTES = 64 * 1024


@dataclass
class FileImport:
    results: list[RowResult] = field(default_factory=list)
    """The results of the committed rows."""
    error: DomainError | None = None
    """Why the file stopped being read (the rows of the batch it broke off in were rolled back)."""


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """The bytes of ``path``, chunk by chunk."""
    async with await anyio.open_file(path, "rb") as f:
        while chunk := await f.read(CHUNK_BYTES):
            yield chunk


async def import_file(
    session_maker: SessionMaker,
    path: Path,
    *,
    events: bool,
    batch_size: int,
    max_transaction_seconds: float = 1.0,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    intake: service.IntakeSettings | None = None,
    now: datetime,
) -> FileImport:
    """Import a CSV file of orders (or of order events), committing every ``batch_size`` rows, or sooner
    when the transaction has run ``max_transaction_seconds``."""
    done = FileImport()
    batch: list[RowResult] = []
    began = time.monotonic()
    async with session_maker() as session:
        if events:
            rows = service.apply_event_rows(session, file_chunks(path), now=now, max_rows=None)
        else:
            rows = service.ingest_order_rows(
                session,
                file_chunks(path),
                terms_lookup=terms_lookup,
                lead_lookup=lead_lookup,
                intake=intake,
                now=now,
                max_rows=None,
            )
        try:
            async for result in rows:
                batch.append(result)
                if len(batch) >= batch_size or time.monotonic() - began >= max_transaction_seconds:
                    await session.commit()
                    done.results += batch
                    batch = []
                    await hand_over_write_lock(session)
                    began = time.monotonic()
            await session.commit()
            done.results += batch
        except DomainError as exc:
            await session.rollback()
            done.error = exc
    return done

"""CSV import of orders and order events: the file streams in, one savepoint per order or event.

Every row goes through the intake the API uses (``order_service.ingest_order`` and
``apply_event_by_external_id``). A row that cannot be read or that a rule refuses is reported and
skipped: it never leaves half an order and never stops the rows after it. A file that cannot be read
as a whole (no header, unknown or missing columns, not UTF-8, too many rows) raises instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution import service as attribution_service
from growth.core.errors import DomainError
from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.order import service as order_service
from growth.order_import.errors import CsvTooLarge, MalformedCsv
from growth.order_import.rules import (
    MAX_ROWS,
    CsvReader,
    Kind,
    Outcome,
    Refusal,
    Row,
    RowResult,
    continues_order,
    count_outcomes,
    event_from_row,
    is_blank,
    order_from_rows,
    read_header,
    row_cells,
)
from growth.risk.service import RiskPolicy

log = structlog.get_logger()
TERMS_ORDERS = 500
"""Orders that share one read of each campaign's terms: a campaign changed during an import applies
from the next such chunk of rows, as it would to an order the API took a few seconds later."""


@dataclass(frozen=True, slots=True)
class IntakeSettings:
    """What the rows need from the service's settings: the secret that keys the address and IP
    hashes (as the order API's), and the risk firewall's program settings."""

    secret: str | None = None
    """None: rows with a shipping address or customer_ip are refused (nothing to hash them with)."""
    risk_policy: RiskPolicy | None = None


async def _rows(
    chunks: AsyncIterable[bytes], kind: Kind, max_rows: int | None
) -> AsyncIterator[tuple[int, Mapping[str, str], Refusal | None]]:
    """The data rows of a CSV file, each with its line, its cells by column and why it cannot be read."""
    reader = CsvReader()
    header: tuple[str, ...] | None = None
    count = 0

    async def parsed() -> AsyncIterator[tuple[int, list[str] | Refusal]]:
        async for chunk in chunks:
            for row in reader.feed(chunk):
                yield row
        for row in reader.feed(b"", final=True):
            yield row

    async for line, cells in parsed():
        if isinstance(cells, list) and is_blank(cells):
            continue
        if header is None:
            if isinstance(cells, Refusal):
                raise MalformedCsv(f"the header row cannot be read: {cells.message}")
            header = read_header(kind, cells)
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise CsvTooLarge(
                f"the file has more than {max_rows} rows: split it, or use `growth orders import`",
                max_rows=max_rows,
            )
        yield (line, {}, cells) if isinstance(cells, Refusal) else (line, *row_cells(header, cells))
    if header is None:
        raise MalformedCsv("the file is empty: the first row must be a header naming the columns")


async def _ingest(
    session: AsyncSession,
    rows: Sequence[Row],
    *,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    intake: IntakeSettings | None = None,
    now: datetime,
) -> RowResult:
    line, first = rows[0]
    external_id = first.get("external_id") or None
    settings = intake or IntakeSettings()
    order = order_from_rows(rows, secret=settings.secret)
    if isinstance(order, Refusal):
        return RowResult(line, external_id, Outcome.refused, order)
    try:
        async with session.begin_nested():
            ingested = await order_service.ingest_order(
                session,
                order,
                terms_lookup=terms_lookup,
                lead_lookup=lead_lookup,
                risk_policy=settings.risk_policy,
                now=now,
            )
    except DomainError as exc:
        return RowResult(line, external_id, Outcome.refused, Refusal(exc.code(), exc.message))
    return RowResult(line, external_id, Outcome.created if ingested.created else Outcome.duplicate)


async def ingest_order_rows(
    session: AsyncSession,
    chunks: AsyncIterable[bytes],
    *,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    intake: IntakeSettings | None = None,
    now: datetime,
    max_rows: int | None = MAX_ROWS,
) -> AsyncIterator[RowResult]:
    """Take in each order of a CSV file as the file streams in, yielding one result per order."""
    order: list[Row] = []
    taken = 0
    terms = attribution_service.remembering(terms_lookup)
    async for line, cells, unreadable in _rows(chunks, Kind.orders, max_rows):
        if order and (unreadable or not continues_order(order[0][1], cells)):
            yield await _ingest(
                session, order, terms_lookup=terms, lead_lookup=lead_lookup, intake=intake, now=now
            )
            order, taken = [], taken + 1
            if taken % TERMS_ORDERS == 0:
                terms = attribution_service.remembering(terms_lookup)
        if unreadable:
            yield RowResult(line, cells.get("external_id") or None, Outcome.refused, unreadable)
        else:
            order.append((line, cells))
    if order:
        yield await _ingest(
            session, order, terms_lookup=terms, lead_lookup=lead_lookup, intake=intake, now=now
        )


async def apply_event_rows(
    session: AsyncSession, chunks: AsyncIterable[bytes], *, now: datetime, max_rows: int | None = MAX_ROWS
) -> AsyncIterator[RowResult]:
    """Apply each order event of a CSV file as the file streams in, yielding one result per row."""
    async for line, cells, unreadable in _rows(chunks, Kind.events, max_rows):
        external_id = cells.get("order_external_id") or None
        parsed = unreadable or event_from_row(cells)
        if isinstance(parsed, Refusal):
            yield RowResult(line, external_id, Outcome.refused, parsed)
            continue
        order_external_id, event = parsed
        try:
            async with session.begin_nested():
                applied = await order_service.apply_event_by_external_id(
                    session, order_external_id, event, now=now
                )
        except DomainError as exc:
            yield RowResult(line, external_id, Outcome.refused, Refusal(exc.code(), exc.message))
            continue
        yield RowResult(line, external_id, Outcome.created if applied.created else Outcome.duplicate)


async def import_orders(
    session: AsyncSession,
    chunks: AsyncIterable[bytes],
    *,
    terms_lookup: CampaignTermsLookup,
    lead_lookup: LeadLookup,
    intake: IntakeSettings | None = None,
    now: datetime,
    max_rows: int | None = MAX_ROWS,
) -> list[RowResult]:
    """Import a CSV file of orders in the caller's transaction: the result of each order."""
    results = [
        result
        async for result in ingest_order_rows(
            session,
            chunks,
            terms_lookup=terms_lookup,
            lead_lookup=lead_lookup,
            intake=intake,
            now=now,
            max_rows=max_rows,
        )
    ]
    _log_done(Kind.orders, results)
    return results


async def import_events(
    session: AsyncSession, chunks: AsyncIterable[bytes], *, now: datetime, max_rows: int | None = MAX_ROWS
) -> list[RowResult]:
    """Import a CSV file of order events in the caller's transaction: the result of each row."""
    results = [result async for result in apply_event_rows(session, chunks, now=now, max_rows=max_rows)]
    _log_done(Kind.events, results)
    return results


def _log_done(kind: Kind, results: list[RowResult]) -> None:
    counts = count_outcomes(results)
    log.info("growth.order_import.done", kind=kind.value, **{k.value: v for k, v in counts.items()})

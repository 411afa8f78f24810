from __future__ import annotations

import msgspec


class RowErrorRead(msgspec.Struct):
    code: str
    message: str


class ImportRowRead(msgspec.Struct):
    line: int
    """Line of the file where the row (an order's first row) starts; the header is line 1."""
    external_id: str | None
    """The order's external id (for events: the event's order)."""
    outcome: str
    """``created``, ``duplicate`` (already there, same content) or ``refused`` (see ``error``)."""
    error: RowErrorRead | None


class ImportCountsRead(msgspec.Struct):
    created: int
    duplicate: int
    refused: int


class ImportReportRead(msgspec.Struct):
    counts: ImportCountsRead
    rows: list[ImportRowRead]

"""Statement answers shared by the finance API, the partner API and the portal: JSON, CSV or the
printable page of one statement, never cached."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import dashboard_context
from growth.settings import Settings
from payouts.statement import service as statement_service
from payouts.statement.errors import StatementNotFound
from payouts.statement.models import Statement
from payouts.statement.rules import describe, statement_ref
from payouts.statement.schemas import StatementDetailRead, StatementLineRead, StatementRead

NO_STORE = {"Cache-Control": "no-store"}
"""Statements are a partner's money: never kept by a browser or a proxy."""


def _fields(s: Statement) -> dict[str, Any]:
    return {
        "id": s.id,
        "partner_id": s.partner_id,
        "period": s.period,
        "sequence": s.sequence,
        "period_start": s.period_start,
        "period_end": s.period_end,
        "currency": s.currency,
        "opening_pending": s.opening_pending,
        "opening_payable": s.opening_payable,
        "closing_pending": s.closing_pending,
        "closing_payable": s.closing_payable,
        "issued_at": s.issued_at,
    }


def statement_read(s: Statement) -> StatementRead:
    return StatementRead(**_fields(s))


def detail_read(issued: statement_service.IssuedStatement) -> StatementDetailRead:
    lines = [
        StatementLineRead(
            position=line.position,
            entry_id=line.entry_id,
            entry_reference=line.entry_reference,
            kind=line.kind,
            description=describe(line.kind, line.order_external_id),
            order_external_id=line.order_external_id,
            occurred_at=line.occurred_at,
            pending_change=line.pending_change,
            payable_change=line.payable_change,
        )
        for line in issued.lines
    ]
    return StatementDetailRead(**_fields(issued.statement), lines=lines)


async def statement_response(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    ref: str,
    *,
    default: str,
    partner_id: UUID | None = None,
) -> Response[Any]:
    """The statement named by ``ref`` as JSON, CSV or the printable page."""
    parsed = statement_ref(ref, default=default)
    if parsed is None:
        raise StatementNotFound(f"statement {ref!r} not found")
    statement_id, fmt = parsed
    if fmt == "html":
        view = await statement_service.statement_view(db_session, statement_id, partner_id=partner_id)
        context = dashboard_context(request, settings) | {"statement": view}
        return Template(template_name="payouts/statement/detail.html.j2", context=context, headers=NO_STORE)
    issued = await statement_service.get_statement(db_session, statement_id, partner_id=partner_id)
    if fmt == "csv":
        filename = statement_service.csv_filename(issued)
        return Response(
            statement_service.statement_csv(issued, tz=settings.timezone),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'} | NO_STORE,
        )
    return Response(detail_read(issued), headers=NO_STORE)

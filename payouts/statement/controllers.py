"""Statements: finance issues and reads them; a partner reads its own; people print them.

``/{id}`` answers JSON (API) or the printable page (``/statements``); ``/{id}.csv`` the CSV
download and ``/{id}.html`` the printable page. Litestar matches whole path segments only, so the
suffix is parsed here rather than by the router.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.statement import service as statement_service
from payouts.statement.errors import StatementNotFound
from payouts.statement.models import Statement
from payouts.statement.rules import describe, statement_ref
from payouts.statement.schemas import (
    StatementDetailRead,
    StatementIssue,
    StatementIssueRead,
    StatementLineRead,
    StatementRead,
)

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


class StatementController(Controller):
    """Finance issues a month's statements for every partner and reads any of them."""

    path = "/api/statements"
    tags = ["Statements"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post(
        "/",
        status_code=200,
        summary="Issue a month's statements (YYYY-MM, once it is over); again: nothing new",
    )
    async def issue(
        self, db_session: AsyncSession, settings: Settings, data: StatementIssue
    ) -> StatementIssueRead:
        result = await statement_service.issue_statements(
            db_session, period=data.period, now=utc_now(), tz=settings.timezone
        )
        return StatementIssueRead(result.period, result.issued, result.skipped)

    @get("/", summary="List statements, newest month first")
    async def list_statements(
        self,
        db_session: AsyncSession,
        partner_id: UUID | None = None,
        period: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[StatementRead]:
        found = await statement_service.list_statements(
            db_session, partner_id=partner_id, period=period, limit=limit, offset=offset
        )
        return [statement_read(s) for s in found]

    @get(
        "/{statement:str}",
        summary="A statement with its lines; `{id}.csv` downloads it as CSV, `{id}.html` is printable",
    )
    async def get_statement(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, statement: str
    ) -> Response[Any]:
        return await statement_response(request, db_session, settings, statement, default="json")


class PartnerStatementController(Controller):
    """A partner's own statements; the partner comes from the key, and another's statement is not found."""

    path = "/api/partner/statements"
    tags = ["Partner portal"]
    guards = [api_key_guard]
    opt = roles(Role.partner)
    security = [{"ApiKey": []}]

    @get("/", summary="My statements, newest month first")
    async def my_statements(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        period: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[StatementRead]:
        found = await statement_service.list_statements(
            db_session,
            partner_id=partner_service.acting_partner_id(request.state.principal.subject_id),
            period=period,
            limit=limit,
            offset=offset,
        )
        return [statement_read(s) for s in found]

    @get(
        "/{statement:str}", summary="One of my statements; `{id}.csv` downloads it, `{id}.html` is printable"
    )
    async def my_statement(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, statement: str
    ) -> Response[Any]:
        partner_id = partner_service.acting_partner_id(request.state.principal.subject_id)
        return await statement_response(
            request, db_session, settings, statement, default="json", partner_id=partner_id
        )


class StatementPages(Controller):
    """The printable statement for signed-in finance people, and its CSV download."""

    path = "/statements"
    guards = [dashboard_guard]
    opt = roles(Role.finance)
    include_in_schema = False

    @get("/{statement:str}")
    async def statement_page(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, statement: str
    ) -> Response[Any]:
        return await statement_response(request, db_session, settings, statement, default="html")

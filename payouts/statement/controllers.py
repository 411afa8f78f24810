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
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.statement import service as statement_service
from payouts.statement.responses import statement_read, statement_response
from payouts.statement.schemas import StatementIssue, StatementIssueRead, StatementRead


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
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: StatementIssue,
    ) -> StatementIssueRead:
        result = await statement_service.issue_statements(
            db_session, period=data.period, now=utc_now(), tz=settings.timezone
        )
        if result.issued:
            await audit_service.record(
                db_session,
                action="statements.issued",
                subject_type="period",
                subject_id=result.period,
                after={"issued": result.issued, "skipped": result.skipped},
                actor=audit_service.actor_from_request(request),
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

"""The audit log over HTTP (admin and finance): read, export as CSV, verify. Nothing here writes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.audit.models import AuditEntry
from growth.audit.rules import DEFAULT_LIMIT, MAX_LIMIT
from growth.audit.schemas import AuditEntryRead, ChainVerificationRead
from growth.core.audit_port import ActorKind
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT)]
Action = Annotated[str | None, Parameter(description="`payout_run.created`, or a prefix: `payout.*`")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000)]


def to_read(e: AuditEntry) -> AuditEntryRead:
    return AuditEntryRead(
        id=e.id,
        sequence=e.sequence,
        occurred_at=e.occurred_at,
        actor_kind=ActorKind(e.actor_kind),
        actor_id=e.actor_id,
        actor_name=e.actor_name,
        action=e.action,
        subject_type=e.subject_type,
        subject_id=e.subject_id,
        before=e.before,
        after=e.after,
        request_id=e.request_id,
        entry_hash=e.entry_hash,
    )


def provide_filters(
    action: Action = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor_id: str | None = None,
    request_id: str | None = None,
    since: Annotated[datetime | None, Parameter(description="Inclusive, with a time zone")] = None,
    until: Annotated[datetime | None, Parameter(description="Exclusive, with a time zone")] = None,
) -> audit_service.Filters:
    """The filters shared by the list and the export, from the query string."""
    return audit_service.filters(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        request_id=request_id,
        since=since,
        until=until,
    )


class AuditController(Controller):
    """Append-only: the log is written by the actions it records, never through this API."""

    path = "/api/audit"
    tags = ["Audit"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]
    dependencies = {"filters": Provide(provide_filters, sync_to_thread=False)}

    @get("/", summary="Audit entries, newest first (filter by action, subject, actor, request, time)")
    async def list_entries(
        self,
        db_session: AsyncSession,
        filters: audit_service.Filters,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> list[AuditEntryRead]:
        entries = await audit_service.list_entries(db_session, filters, limit=limit, offset=offset)
        return [to_read(e) for e in entries]

    @get(
        "/export.csv",
        summary="The matching entries as CSV, oldest first (spreadsheet-safe)",
        media_type="text/csv",
    )
    async def export(self, request: Request[Any, Any, Any], filters: audit_service.Filters) -> Stream:
        return Stream(
            audit_service.export_csv(request.app.state.session_maker, filters),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
        )

    @get("/verify", summary="Whether the hash chain holds, and where it first breaks")
    async def verify(self, db_session: AsyncSession) -> ChainVerificationRead:
        v = await audit_service.verify_chain(db_session)
        return ChainVerificationRead(v.is_valid, v.checked, v.first_broken_sequence, v.reason)

    @get("/{entry_id:uuid}", summary="One audit entry")
    async def get_entry(self, db_session: AsyncSession, entry_id: UUID) -> AuditEntryRead:
        return to_read(await audit_service.get_entry(db_session, entry_id))

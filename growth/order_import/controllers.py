from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, post
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.core.time import utc_now
from growth.order_import import service as order_import_service
from growth.order_import.rules import MAX_FILE_BYTES, MAX_ROWS, Outcome, RowResult, count_outcomes
from growth.order_import.schemas import ImportCountsRead, ImportReportRead, ImportRowRead, RowErrorRead
from growth.order_import.service import IntakeSettings
from growth.risk.service import RiskPolicy
from growth.settings import Settings

_LIMITS = (
    f"Body: `text/csv`, UTF-8 (a byte-order mark is skipped), a header row first; at most "
    f"{MAX_FILE_BYTES // (1024 * 1024)} MB (413) and {MAX_ROWS} rows (413). A file that cannot be read "
    "as a whole is a 400; each refused row is reported in the answer, the others are taken."
)


@dataclass
class CsvUpload(Operation):
    """The OpenAPI operation of a route whose body is a CSV file (read as a stream, not a parameter)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description="The CSV file, header row first.",
            required=True,
        )


def csv_body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as it streams in; 415 unless it is sent as UTF-8 ``text/csv``."""
    media_type, options = request.content_type
    if media_type != "text/csv" or options.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise HTTPException(status_code=415, detail="send the file as 'Content-Type: text/csv' in UTF-8")
    return request.stream()


def report_read(results: list[RowResult]) -> ImportReportRead:
    counts = count_outcomes(results)
    return ImportReportRead(
        counts=ImportCountsRead(
            created=counts[Outcome.created],
            duplicate=counts[Outcome.duplicate],
            refused=counts[Outcome.refused],
        ),
        rows=[
            ImportRowRead(
                r.line,
                r.external_id,
                r.outcome.value,
                RowErrorRead(r.error.code, r.error.message) if r.error else None,
            )
            for r in results
        ],
    )


class OrderImportController(Controller):
    """Orders and order events imported from a CSV file, with a report of every row."""

    path = "/api/orders"
    tags = ["Orders"]
    guards = [api_key_guard]
    opt = roles(Role.shop)
    security = [{"ApiKey": []}]

    @post(
        "/import",
        summary="Import orders from CSV: per-row report (created, duplicate, refused)",
        description=_LIMITS,
        status_code=200,
        request_max_body_size=MAX_FILE_BYTES,
        operation_class=CsvUpload,
    )
    async def import_orders(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        terms_lookup: CampaignTermsLookup,
        lead_lookup: LeadLookup,
        settings: Settings,
        risk_policy: RiskPolicy,
    ) -> ImportReportRead:
        results = await order_import_service.import_orders(
            db_session,
            csv_body(request),
            terms_lookup=terms_lookup,
            lead_lookup=lead_lookup,
            intake=IntakeSettings(settings.resolved_secret(), risk_policy),
            now=utc_now(),
        )
        return report_read(results)

    @post(
        "/events/import",
        summary="Import order events (paid, refunded, ...) from CSV: per-row report",
        description=_LIMITS,
        status_code=200,
        request_max_body_size=MAX_FILE_BYTES,
        operation_class=CsvUpload,
    )
    async def import_events(
        self, request: Request[Any, Any, Any], db_session: AsyncSession
    ) -> ImportReportRead:
        results = await order_import_service.import_events(db_session, csv_body(request), now=utc_now())
        return report_read(results)

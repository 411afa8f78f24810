"""Delay alerts for marketing (and finance): the late items the periodic check found."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.alert import service as alert_service
from growth.alert.models import DelayAlert
from growth.alert.schemas import DelayAlertRead
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.ports import PartnerNamesLookup
from growth.settings import Settings

Limit = Annotated[int, Parameter(ge=1, le=500)]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000)]


def to_read(a: DelayAlert) -> DelayAlertRead:
    return DelayAlertRead(
        id=a.id,
        kind=a.kind,
        recipient_type=a.recipient_type,
        recipient_id=a.recipient_id,
        subject_id=a.subject_id,
        expected_at=a.expected_at,
        detected_at=a.detected_at,
        detail=a.detail,
        options=list(a.options),
        context=dict(a.context),
    )


class AlertController(Controller):
    path = "/api/alerts"
    tags = ["Delay alerts"]
    guards = [api_key_guard]
    opt = roles(Role.marketing, Role.finance)
    security = [{"ApiKey": []}]

    @get("/", summary="Delay alerts, newest first (filter by kind, recipient type, detected since)")
    async def list_alerts(
        self,
        db_session: AsyncSession,
        kind: str | None = None,
        recipient_type: str | None = None,
        since: Annotated[datetime | None, Parameter(description="Inclusive, with a time zone")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[list[DelayAlertRead]]:
        page = await alert_service.list_alerts(
            db_session, kind=kind, recipient_type=recipient_type, since=since, limit=limit, offset=offset
        )
        return Response([to_read(a) for a in page.alerts], headers={"X-Total-Count": str(page.total)})


class AlertPages(Controller):
    """Marketing's list of delay alerts (HTML)."""

    path = "/marketing/alerts"
    guards = [dashboard_guard]
    opt = roles(Role.marketing, Role.finance)
    include_in_schema = False

    @get("/")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        partner_names: PartnerNamesLookup,
        kind: str | None = None,
    ) -> Template:
        page = await alert_service.list_alerts(db_session, kind=kind or None, limit=200)
        names = await alert_service.recipient_names(db_session, page.alerts, partner_names=partner_names)
        return Template(
            template_name="growth/alert/list.html.j2",
            context=dashboard_context(request, settings)
            | {"alerts": page.alerts, "names": names, "total": page.total, "kind_filter": kind},
            headers={"Cache-Control": "no-store"},
        )

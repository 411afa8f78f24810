from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core import metrics as metrics_export
from growth.core.time import utc_now
from growth.health import service as health_service
from growth.settings import Settings

NO_STORE = {"Cache-Control": "no-store"}


class Health(msgspec.Struct):
    status: str
    database: str


class Ready(msgspec.Struct):
    status: str
    database: str
    migrations: str
    redis: str
    failed: list[str]
    """The checks that are not ``ok`` (empty when ready)."""


@get("/health", tags=["Health"], summary="Liveness and database check", cache_control=None)
async def health(db_session: AsyncSession) -> Response[Health]:
    is_up = await health_service.database_is_up(db_session)
    body = Health(status="ok" if is_up else "unavailable", database="ok" if is_up else "unreachable")
    return Response(body, status_code=200 if is_up else 503, headers=NO_STORE)


@get(
    "/ready",
    tags=["Health"],
    summary="Readiness: database reachable, schema at the newest migration, Redis reachable if configured",
)
async def ready(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Ready]:
    checks = await health_service.readiness(db_session, request.app.state.get("job_queue"))
    named = {"database": checks.database, "migrations": checks.migrations, "redis": checks.redis}
    failed = [name for name, value in named.items() if value not in ("ok", "not_configured")]
    body = Ready(status="ready" if checks.is_ready else "unavailable", failed=failed, **named)
    return Response(body, status_code=200 if checks.is_ready else 503, headers=NO_STORE)


@get("/metrics", tags=["Health"], summary="Prometheus metrics (text format)", include_in_schema=False)
async def metrics(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[bytes]:
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise NotAuthorizedException("metrics need the bearer token set in GROWTH_METRICS_TOKEN")
    snapshot = await health_service.snapshot(db_session, request.app.state.get("job_queue"), now=utc_now())
    body = metrics_export.render(
        snapshot, metrics_dir=settings.metrics_dir, clicks=request.app.state.get("click_metrics")
    )
    return Response(body, media_type=metrics_export.CONTENT_TYPE, headers=NO_STORE)

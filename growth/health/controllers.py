from __future__ import annotations

import msgspec
from litestar import Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from growth.health import service as health_service


class Health(msgspec.Struct):
    status: str
    database: str


@get("/health", tags=["Health"], summary="Liveness and database check", cache_control=None)
async def health(db_session: AsyncSession) -> Response[Health]:
    is_up = await health_service.database_is_up(db_session)
    body = Health(status="ok" if is_up else "unavailable", database="ok" if is_up else "unreachable")
    return Response(body, status_code=200 if is_up else 503, headers={"Cache-Control": "no-store"})

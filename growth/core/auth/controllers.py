from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth import service as auth_service
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.models import ApiKey
from growth.core.auth.rules import Role
from growth.core.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from growth.core.time import utc_now


def to_read(api_key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=api_key.id,
        name=api_key.name,
        role=Role(api_key.role),
        prefix=api_key.prefix,
        created_at=api_key.created_at,
        revoked_at=api_key.revoked_at,
        last_used_at=api_key.last_used_at,
        subject_id=api_key.subject_id,
    )


class ApiKeyController(Controller):
    """API keys (admin only)."""

    path = "/api/keys"
    tags = ["API keys"]
    guards = [api_key_guard]
    opt = roles()
    security = [{"ApiKey": []}]

    @post("/", summary="Create an API key (the secret is shown once)")
    async def create_key(self, db_session: AsyncSession, data: ApiKeyCreate) -> ApiKeyCreated:
        created = await auth_service.create_key(
            db_session, name=data.name, role=data.role, subject_id=data.subject_id
        )
        return ApiKeyCreated(**msgspec.structs.asdict(to_read(created.api_key)), key=created.secret)

    @get("/", summary="List API keys")
    async def list_keys(self, db_session: AsyncSession) -> list[ApiKeyRead]:
        return [to_read(k) for k in await auth_service.list_keys(db_session)]

    @delete("/{key_id:uuid}", status_code=200, summary="Revoke an API key")
    async def revoke_key(self, db_session: AsyncSession, key_id: UUID) -> ApiKeyRead:
        return to_read(await auth_service.revoke_key(db_session, key_id, now=utc_now()))

"""The API-key guard: authenticate the caller, then check the role the route asks for."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from growth.core.auth import service as auth_service
from growth.core.auth.errors import InvalidApiKey, RoleNotAllowed
from growth.core.auth.rules import Role, is_allowed
from growth.core.time import utc_now

DB_CONFIG_STATE_KEY = "db_config"


def roles(*allowed: Role) -> dict[str, Any]:
    """Route ``opt`` naming the roles (besides admin) that may call it."""
    return {"roles": frozenset(allowed)}


def bearer_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The API key from ``Authorization: Bearer`` or ``X-API-Key``."""
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return connection.headers.get("x-api-key")


async def api_key_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """401 without a valid key, 403 when the key's role may not call this route."""
    secret = bearer_key(connection)
    if not secret:
        raise InvalidApiKey("an API key is required (Authorization: Bearer <key>)")
    db_config = connection.app.state[DB_CONFIG_STATE_KEY]
    session = db_config.provide_session(connection.app.state, connection.scope)
    principal = await auth_service.authenticate(session, secret, now=utc_now())
    allowed: frozenset[Role] = handler.opt.get("roles", frozenset())
    if not is_allowed(principal.role, allowed):
        raise RoleNotAllowed(f"role {principal.role.value!r} may not call this endpoint")
    connection.state.principal = principal

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core import audit_port
from growth.core.audit_port import Actor
from growth.core.auth import service as auth_service
from growth.core.auth.errors import InvalidApiKey, RoleCannotSignIn
from growth.core.auth.guards import (
    DASHBOARD_HOME,
    SIGN_IN_PATH,
    api_key_guard,
    dashboard_context,
    dashboard_guard,
    roles,
    session_cookie,
)
from growth.core.auth.models import ApiKey
from growth.core.auth.rules import DashboardSession, Role, safe_next
from growth.core.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, SignInForm
from growth.core.rate_limit import SIGN_IN, TOO_MANY_SIGN_INS, RateLimits, client_key
from growth.core.time import utc_now
from growth.settings import Settings


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


async def _audit_key(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    action: str,
    api_key: ApiKey,
    *,
    before: dict[str, Any] | None,
) -> None:
    """Audit a key created (all its audited values) or changed (the fields named in ``before``)."""
    after = auth_service.audit_values(api_key)
    await audit_port.record(
        db_session,
        action=action,
        subject_type="api_key",
        subject_id=str(api_key.id),
        before=before,
        after=after if before is None else {name: after[name] for name in before},
        actor=Actor.of_principal(request.state.principal),
    )


class ApiKeyController(Controller):
    """API keys (admin only)."""

    path = "/api/keys"
    tags = ["API keys"]
    guards = [api_key_guard]
    opt = roles()
    security = [{"ApiKey": []}]

    @post("/", summary="Create an API key (the secret is shown once)")
    async def create_key(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: ApiKeyCreate
    ) -> ApiKeyCreated:
        created = await auth_service.create_key(
            db_session, name=data.name, role=data.role, subject_id=data.subject_id
        )
        await _audit_key(request, db_session, "api_key.created", created.api_key, before=None)
        return ApiKeyCreated(**msgspec.structs.asdict(to_read(created.api_key)), key=created.secret)

    @get("/", summary="List API keys")
    async def list_keys(self, db_session: AsyncSession) -> list[ApiKeyRead]:
        return [to_read(k) for k in await auth_service.list_keys(db_session)]

    @delete("/{key_id:uuid}", status_code=200, summary="Revoke an API key")
    async def revoke_key(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, key_id: UUID
    ) -> ApiKeyRead:
        now = utc_now()
        api_key = await auth_service.revoke_key(db_session, key_id, now=now)
        if api_key.revoked_at == now:  # revoked by this call; revoking again changes nothing
            await _audit_key(request, db_session, "api_key.revoked", api_key, before={"revoked_at": None})
        return to_read(api_key)


def _sign_in_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    *,
    next_path: str,
    error: InvalidApiKey | RoleCannotSignIn | None = None,
) -> Template:
    context = dashboard_context(request, settings)
    context |= {"next": next_path, "error_code": error.code() if error else None}
    context["error_role"] = error.details.get("role") if error else None
    return Template(
        template_name="growth/core/auth/sign_in.html.j2",
        context=context,
        status_code=error.status_code if error else 200,
        headers={"Cache-Control": "no-store"},
    )


class DashboardController(Controller):
    """The people's way in: paste an API key once, get a signed session cookie for the pages."""

    include_in_schema = False

    @get(SIGN_IN_PATH)
    async def sign_in_page(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        next_path: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template:
        return _sign_in_page(request, settings, next_path=safe_next(next_path, DASHBOARD_HOME))

    @post(SIGN_IN_PATH)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        rate_limits: RateLimits,
        data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        await rate_limits.check(SIGN_IN, client_key(request.scope), TOO_MANY_SIGN_INS)
        next_path, now = safe_next(data.next, DASHBOARD_HOME), utc_now()
        try:
            principal = await auth_service.sign_in(db_session, data.key.strip(), now=now)
        except (InvalidApiKey, RoleCannotSignIn) as error:
            return _sign_in_page(request, settings, next_path=next_path, error=error)
        await audit_port.record(
            db_session,
            action="dashboard.signed_in",
            subject_type="api_key",
            subject_id=str(principal.key_id),
            actor=Actor.of_principal(principal),
        )
        signed_in = DashboardSession(principal.key_id, principal.role, now)
        return Redirect(next_path, status_code=303, cookies=[session_cookie(settings, signed_in)])

    @post("/sign-out")
    async def sign_out(self, settings: Settings) -> Redirect:
        return Redirect(SIGN_IN_PATH, status_code=303, cookies=[session_cookie(settings, None)])

    @get(DASHBOARD_HOME, guards=[dashboard_guard], opt=roles(Role.marketing, Role.finance))
    async def home(self, request: Request[Any, Any, Any], settings: Settings) -> Template:
        return Template(
            template_name="growth/core/auth/home.html.j2",
            context=dashboard_context(request, settings),
            headers={"Cache-Control": "no-store"},
        )

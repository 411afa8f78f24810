"""Guards: the API key (machines) and the dashboard session (people), each checking the route's roles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from growth.core.auth import service as auth_service
from growth.core.auth.errors import InvalidApiKey, RoleNotAllowed, SignInRequired
from growth.core.auth.rules import (
    SESSION_MAX_AGE,
    DashboardSession,
    Role,
    decode_session,
    derived_secret,
    encode_session,
    is_allowed,
    safe_next,
)
from growth.core.i18n import HTML_LANG, chosen_language, negotiate_locale
from growth.core.time import utc_now
from growth.settings import Settings

DB_CONFIG_STATE_KEY = "db_config"
KEY_CACHE_STATE_KEY = "api_keys"


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
    keys: auth_service.KeyCache = connection.app.state[KEY_CACHE_STATE_KEY]
    principal = await keys.authenticate(session, secret, now=utc_now())
    allowed: frozenset[Role] = handler.opt.get("roles", frozenset())
    if not is_allowed(principal.role, allowed):
        raise RoleNotAllowed(f"role {principal.role.value!r} may not call this endpoint")
    connection.state.principal = principal


SESSION_COOKIE = "growth_session"
SIGN_IN_PATH = "/sign-in"
DASHBOARD_HOME = "/dashboard"
DASHBOARD_NAV: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("campaigns", "/marketing/campaigns", frozenset({Role.marketing})),
    ("payouts", "/finance/payouts", frozenset({Role.finance})),
)
"""Dashboard sections: (name, path, roles besides admin); the layout shows those the viewer may open."""


def session_cookie(settings: Settings, session: DashboardSession | None) -> Cookie:
    """The signed, HttpOnly, SameSite=Lax session cookie; ``None`` builds the one that deletes it."""
    value = (
        ""
        if session is None
        else encode_session(session, derived_secret(settings.resolved_secret(), "session"))
    )
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        max_age=0 if session is None else int(SESSION_MAX_AGE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


async def dashboard_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Pages: no valid session redirects to sign-in (``SignInRequired``); a wrong role is a 403 page."""
    settings: Settings = connection.app.state.settings
    now = utc_now()
    cookie = connection.cookies.get(SESSION_COOKIE)
    key = derived_secret(settings.resolved_secret(), "session")
    if not cookie or (signed_in := decode_session(cookie, key, now=now)) is None:
        raise SignInRequired("sign in to open this page")
    db_config = connection.app.state[DB_CONFIG_STATE_KEY]
    session = db_config.provide_session(connection.app.state, connection.scope)
    principal = await auth_service.signed_in_principal(session, signed_in.key_id, now=now)
    allowed: frozenset[Role] = handler.opt.get("roles", frozenset())
    if not is_allowed(principal.role, allowed):
        raise RoleNotAllowed(f"role {principal.role.value!r} may not open this page")
    connection.state.principal = principal


def sign_in_redirect(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    """303 to the sign-in page, coming back here afterwards (GET pages only), and forget the session."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    next_path = safe_next(target, DASHBOARD_HOME) if request.method == "GET" else DASHBOARD_HOME
    settings: Settings = request.app.state.settings
    return Redirect(
        f"{SIGN_IN_PATH}?{urlencode({'next': next_path})}",
        status_code=303,
        cookies=[session_cookie(settings, None)] if SESSION_COOKIE in request.cookies else [],
    )


def dashboard_context(request: Request[Any, Any, Any], settings: Settings) -> dict[str, Any]:
    """What every dashboard page's layout needs: locale, time zone and who is signed in."""
    locale = negotiate_locale(
        request.headers.get("accept-language"),
        override=chosen_language(request.query_params.get("lang"), request.cookies),
        default=settings.default_locale,
    )
    viewer: auth_service.Principal | None = getattr(request.state, "principal", None)
    return {
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "timezone": settings.timezone,
        "viewer": viewer,
        "nav": [
            (name, path) for name, path, roles in DASHBOARD_NAV if viewer and is_allowed(viewer.role, roles)
        ],
    }

"""Security headers on every HTTP answer, and the per-request nonce that lets our own inline code run.

Every page, API answer and redirect carries:

- ``Content-Security-Policy``: scripts and stylesheets only from this origin or inline with this
  request's nonce (``<script nonce="{{ csp_nonce() }}">``), no plug-ins, no ``<base>``, forms only to
  this origin, and ``frame-ancestors 'none'``: no other site may frame a page (click-jacking).
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (the same for old browsers),
  ``Referrer-Policy: same-origin``: a share page's address (its token) never leaves in a Referer.
- ``Strict-Transport-Security`` when the service is served over https (``GROWTH_BASE_URL``).

The OpenAPI viewers under ``/schema`` are third-party pages with their own inline code: they get
every header but the policy. A handler that sets a header itself keeps its own value.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.types import Message, Scope

NONCE_KEY = "csp_nonce"
"""Where the request's nonce lives in the ASGI scope's state (``request.state.csp_nonce``)."""
SCHEMA_PREFIX = "/schema"


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def fixed_headers(*, https: bool) -> dict[str, str]:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def nonce_of(scope: Scope) -> str:
    """The request's nonce, made on first use (by a template, or by the headers if no template asked)."""
    state = scope.setdefault("state", {})
    nonce = state.get(NONCE_KEY)
    if nonce is None:
        nonce = state[NONCE_KEY] = secrets.token_urlsafe(16)  # type: ignore[literal-required]
    return str(nonce)


def security_headers(*, https: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """A Litestar ``before_send`` hook adding the headers above. A hook rather than a middleware: it
    also sees the answers Litestar gives before any route's middleware runs (404, 405). Plain list
    work on raw headers: it runs on every answer, the redirects' included."""
    fixed = [(name.lower().encode(), value.encode()) for name, value in fixed_headers(https=https).items()]
    policy_name = b"content-security-policy"

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", ()))
        present = {name.lower() for name, _ in headers}
        headers.extend(header for header in fixed if header[0] not in present)
        if policy_name not in present and not scope["path"].startswith(SCHEMA_PREFIX):
            headers.append((policy_name, content_security_policy(nonce_of(scope)).encode()))
        message["headers"] = headers

    return hook


@pass_context
def csp_nonce(context: Context) -> str:
    """The nonce of the request a template is rendered for; empty outside a request (an e-mail body)."""
    request = context.get("request")
    return "" if request is None else nonce_of(request.scope)

"""Structured logging (structlog), with a request id bound to every line of a request."""

from __future__ import annotations

import logging
import sys

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from uuid_utils.compat import uuid7

REQUEST_ID_HEADER = "x-request-id"
_HEADER_NAME = REQUEST_ID_HEADER.encode()


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Configure structlog and the standard library to write one line per event to stderr."""
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # One line per HTTP call made by clients (webhooks, Stripe) is noise at INFO.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def request_id(scope: Scope) -> str:
    """The request's id: the caller's printable ``X-Request-ID`` (64 characters at most) or a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v for k, v in scope["headers"] if k == _HEADER_NAME), b"").decode("latin-1")[:64]
        state["request_id"] = given if given and given.isprintable() else str(uuid7())
    return str(state["request_id"])


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Bind ``request_id`` to every log line of a routed request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        # ``bound_contextvars`` without its context manager: the same bind and reset, cheaper.
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id(scope))
        try:
            await app(scope, receive, send)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    return middleware


async def echo_request_id(message: Message, scope: Scope) -> None:
    """Send the request id back on every response, unrouted 404s and 405s included (in place of any
    the handler set)."""
    if message["type"] == "http.response.start":
        # Plain list work: this runs on every response, the redirects' included.
        headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER_NAME]
        headers.append((_HEADER_NAME, request_id(scope).encode("latin-1")))
        message["headers"] = headers

"""Public link routes: the redirect, its QR codes, and the customer's share page."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils import url_quote
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.errors import NotFound
from growth.core.i18n import HTML_LANG, chosen_language
from growth.core.metrics import REQUEST_LATENCY
from growth.core.ports import CampaignTermsLookup, RewardsLookup, ShareSubmissionsLookup
from growth.core.rate_limit import CODE_LOOKUP, RateLimits, client_key
from growth.core.time import utc_now
from growth.link import service as link_service
from growth.link.rules import (
    QR_DEFAULT_SIZE,
    QR_MAX_SIZE,
    QR_MIN_SIZE,
    attribution_cookie_header,
    cookie_value,
    followed_code,
)
from growth.link.service import LinkOutcome, LinkTarget, Redirects
from growth.settings import Settings

QR_CACHE_SECONDS = 86_400
FOLLOW_ROUTE = "/r/{code}"
"""The redirect's route as Litestar names it in ``scope["path_template"]`` (the latency histogram's label)."""
TOO_MANY_CODES = "too many unknown referral codes from this address: wait and try again"


_EMPTY_TEXT_BODY = ((b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"0"))
_VISITOR_HEADERS = {b"user-agent": True, b"referer": True, b"cookie": True}


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _visitor(scope: Scope, cookie_name: str) -> link_service.Visitor:
    # The three headers a redirect reads, taken from the raw scope in one pass (``request.headers``
    # builds a multi-dict on each access).
    wanted = _VISITOR_HEADERS.get
    seen = {name: value for name, value in scope["headers"] if wanted(name)}
    cookie = seen.get(b"cookie")
    client = scope.get("client")
    return link_service.Visitor(
        client[0] if client else None,
        _text(seen.get(b"user-agent")),
        _text(seen.get(b"referer")),
        None if cookie is None else cookie_value(cookie.decode("latin-1"), cookie_name),
    )


def _redirect_headers(outcome: LinkOutcome, scope: Scope) -> dict[str, str]:
    headers = {"Cache-Control": "no-store"}
    if outcome.cookie is not None:
        # A header, not a ``Cookie``: Litestar deep-copies each ``Cookie`` to render it.
        headers["Set-Cookie"] = attribution_cookie_header(
            outcome.cookie.name,
            outcome.cookie.value,
            max_age=outcome.cookie.max_age,
            secure=scope["scheme"] == "https",
        )
    return headers


class CachedRedirects:
    """``GET /r/{code}`` for the codes this process has cached, answered ahead of Litestar's router.

    Routing, the route's middleware (request id binding, latency, CSRF) and the handler's machinery
    cost the redirect three times its own work (issue 8). ``create_app`` puts this in front of the
    router, behind Litestar's ``before_send`` hooks, so the answer carries the same headers as any
    other (request id, language cookie for ``?lang=``, security headers); it times itself into the
    same latency histogram. Everything else goes to Litestar unchanged: other paths and methods, and
    a code not cached, so a code's first use, an unknown code's 404 page and a failing database take
    the ordinary route through ``LinkController.follow_link``; so does a client refused for trying too
    many unknown codes (its 429). Nothing here logs, so the request id needs no binding to the log
    context.
    """

    def __init__(self, app: ASGIApp, redirects: Redirects, rate_limits: RateLimits) -> None:
        self._app = app
        self._redirects = redirects
        self._rate_limits = rate_limits
        self._latency = REQUEST_LATENCY.labels("GET", FOLLOW_ROUTE, "3xx")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            started = time.perf_counter()
            code = followed_code(scope["path"])
            target = None if code is None else self._redirects.links.cached(code)
            if target is not None and self._rate_limits.refused_for(CODE_LOOKUP, client_key(scope)) is None:
                await self._follow(target, scope, receive, send)
                self._latency.observe(time.perf_counter() - started)
                return
        await self._app(scope, receive, send)

    async def _follow(self, target: LinkTarget, scope: Scope, receive: Receive, send: Send) -> None:
        redirects = self._redirects
        visitor = _visitor(scope, redirects.cookie_name)
        outcome = await link_service.follow_target(redirects, target, visitor=visitor, now=utc_now())
        # The messages Litestar's ``Redirect`` sends, written out: building its response object costs
        # more than the redirect's own work.
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in _redirect_headers(outcome, scope).items()
        ]
        headers.append((b"location", url_quote(outcome.location).encode("latin-1")))
        headers.extend(_EMPTY_TEXT_BODY)
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@asynccontextmanager
async def _counting_unknown_codes(rate_limits: RateLimits, scope: Scope) -> AsyncIterator[None]:
    """Refuse a client past the limit (429), else count each code that does not work (and re-raise)."""
    client = client_key(scope)
    rate_limits.refuse_if_refused(CODE_LOOKUP, client, TOO_MANY_CODES)
    try:
        yield
    except NotFound:
        await rate_limits.check(CODE_LOOKUP, client, TOO_MANY_CODES)
        raise


async def _qr_code(
    request: Request,
    db_session: AsyncSession,
    code: str,
    fmt: str,
    size: int,
    settings: Settings,
    terms_lookup: CampaignTermsLookup,
    rate_limits: RateLimits,
) -> Response[bytes]:
    async with _counting_unknown_codes(rate_limits, request.scope):
        image = await link_service.qr_image(
            db_session, code=code, fmt=fmt, size=size, terms_lookup=terms_lookup, base_url=settings.base_url
        )
    headers = {"Cache-Control": f"public, max-age={QR_CACHE_SECONDS}", "ETag": f'"{image.etag}"'}
    if request.headers.get("if-none-match", "").strip('W/"') == image.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(image.content, media_type=image.media_type, headers=headers)


class LinkController(Controller):
    tags = ["Links"]

    @get("/r/{code:str}", summary="Follow a referral link (302 to the landing page)", status_code=302)
    async def follow_link(
        self, request: Request, code: str, redirects: Redirects, rate_limits: RateLimits
    ) -> Redirect:
        # The hot path (cached codes) is ``CachedRedirects``; this answers a code's first use and the
        # codes that do not work. The click goes to the writer's queue: a redirect never waits on it.
        visitor = _visitor(request.scope, redirects.cookie_name)
        async with _counting_unknown_codes(rate_limits, request.scope):
            outcome = await link_service.follow_link(redirects, code=code, visitor=visitor, now=utc_now())
        return Redirect(outcome.location, status_code=302, headers=_redirect_headers(outcome, request.scope))

    @get("/r/{code:str}/qr.png", summary="QR code of a referral link (PNG)", media_type="image/png")
    async def qr_png(
        self,
        request: Request,
        db_session: AsyncSession,
        code: str,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        rate_limits: RateLimits,
        size: Annotated[int, Parameter(ge=QR_MIN_SIZE, le=QR_MAX_SIZE)] = QR_DEFAULT_SIZE,
    ) -> Response[bytes]:
        return await _qr_code(request, db_session, code, "png", size, settings, terms_lookup, rate_limits)

    @get("/r/{code:str}/qr.svg", summary="QR code of a referral link (SVG)", media_type="image/svg+xml")
    async def qr_svg(
        self,
        request: Request,
        db_session: AsyncSession,
        code: str,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        rate_limits: RateLimits,
        size: Annotated[int, Parameter(ge=QR_MIN_SIZE, le=QR_MAX_SIZE)] = QR_DEFAULT_SIZE,
    ) -> Response[bytes]:
        return await _qr_code(request, db_session, code, "svg", size, settings, terms_lookup, rate_limits)

    @get("/share/{token:str}", summary="A customer's share page (signed link, no login)")
    async def share_page(
        self,
        request: Request,
        db_session: AsyncSession,
        token: str,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        submissions_lookup: ShareSubmissionsLookup,
        rewards_lookup: RewardsLookup,
        lang: str | None = None,
        submitted: str | None = None,
        error: str | None = None,
        address_saved: str | None = None,
        address_error: str | None = None,
        credit_taken: str | None = None,
        credit_error: str | None = None,
    ) -> Template:
        view = await link_service.share_view(
            db_session,
            token=token,
            accept_language=request.headers.get("accept-language"),
            lang=chosen_language(lang, request.cookies),
            terms_lookup=terms_lookup,
            settings=settings,
            submissions_lookup=submissions_lookup,
            submitted=submitted,
            error=error,
            rewards_lookup=rewards_lookup,
            address_notice="saved" if address_saved else address_error,
            credit_notice="taken" if credit_taken else credit_error,
        )
        return Template(
            template_name="growth/link/share.html.j2",
            context={
                "view": view,
                "locale": view.locale,
                "html_lang": HTML_LANG[view.locale],
                "timezone": settings.timezone,
            },
            headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
        )

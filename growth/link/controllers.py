"""Public link routes: the redirect, its QR codes, and the customer's share page."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.i18n import HTML_LANG, chosen_language
from growth.core.ports import CampaignTermsLookup, RewardsLookup, ShareSubmissionsLookup
from growth.core.time import utc_now
from growth.link import service as link_service
from growth.link.rules import QR_DEFAULT_SIZE, QR_MAX_SIZE, QR_MIN_SIZE, attribution_cookie_header
from growth.link.service import Redirects
from growth.settings import Settings

QR_CACHE_SECONDS = 86_400


_VISITOR_HEADERS = {b"user-agent": True, b"referer": True, b"cookie": True}


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


class LinkController(Controller):
    tags = ["Links"]

    @get("/r/{code:str}", summary="Follow a referral link (302 to the landing page)", status_code=302)
    async def follow_link(self, request: Request, code: str, redirects: Redirects) -> Redirect:
        # The hot path: the code comes from the process's cache and the click goes to the writer's
        # queue, so a redirect never waits on the database. The three headers it reads are taken from
        # the raw scope in one pass (``request.headers`` builds a multi-dict on each access).
        wanted = _VISITOR_HEADERS.get
        seen = {name: value for name, value in request.scope["headers"] if wanted(name)}
        cookie = seen.get(b"cookie")
        visitor = link_service.Visitor(
            request.scope["client"][0] if request.scope.get("client") else None,
            _text(seen.get(b"user-agent")),
            _text(seen.get(b"referer")),
            request.cookies.get(redirects.cookie_name) if cookie is not None else None,
        )
        outcome = await link_service.follow_link(redirects, code=code, visitor=visitor, now=utc_now())
        headers = {"Cache-Control": "no-store"}
        if outcome.cookie is not None:
            # A header, not a ``Cookie``: Litestar deep-copies each ``Cookie`` to render it.
            headers["Set-Cookie"] = attribution_cookie_header(
                outcome.cookie.name,
                outcome.cookie.value,
                max_age=outcome.cookie.max_age,
                secure=request.scope["scheme"] == "https",
            )
        return Redirect(outcome.location, status_code=302, headers=headers)

    @get(["/r/{code:str}/qr.png", "/r/{code:str}/qr.svg"], summary="QR code of a referral link (PNG or SVG)")
    async def qr_code(
        self,
        request: Request,
        db_session: AsyncSession,
        code: str,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        size: Annotated[int, Parameter(ge=QR_MIN_SIZE, le=QR_MAX_SIZE)] = QR_DEFAULT_SIZE,
    ) -> Response[bytes]:
        fmt = "svg" if request.url.path.endswith(".svg") else "png"
        image = await link_service.qr_image(
            db_session, code=code, fmt=fmt, size=size, terms_lookup=terms_lookup, base_url=settings.base_url
        )
        headers = {"Cache-Control": f"public, max-age={QR_CACHE_SECONDS}", "ETag": f'"{image.etag}"'}
        if request.headers.get("if-none-match", "").strip('W/"') == image.etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(image.content, media_type=image.media_type, headers=headers)

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

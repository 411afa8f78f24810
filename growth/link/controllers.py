"""Public link routes: the redirect, its QR codes, and the customer's share page."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click.service import ClickWriter
from growth.core.i18n import HTML_LANG, chosen_language
from growth.core.ports import CampaignTermsLookup, RewardsLookup, ShareSubmissionsLookup
from growth.core.time import utc_now
from growth.link import service as link_service
from growth.link.rules import QR_DEFAULT_SIZE, QR_MAX_SIZE, QR_MIN_SIZE
from growth.settings import Settings

QR_CACHE_SECONDS = 86_400


class LinkController(Controller):
    tags = ["Links"]

    @get("/r/{code:str}", summary="Follow a referral link (302 to the landing page)", status_code=302)
    async def follow_link(
        self,
        request: Request,
        db_session: AsyncSession,
        code: str,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        clicks: ClickWriter,
    ) -> Redirect:
        visitor = link_service.Visitor(
            request.client.host if request.client else None,
            request.headers.get("user-agent"),
            request.headers.get("referer"),
            request.cookies.get(settings.cookie_name),
        )
        outcome = await link_service.follow_link(
            db_session,
            code=code,
            visitor=visitor,
            terms_lookup=terms_lookup,
            clicks=clicks,
            settings=settings,
            now=utc_now(),
        )
        cookies = (
            []
            if outcome.cookie is None
            else [
                Cookie(
                    key=outcome.cookie.name,
                    value=outcome.cookie.value,
                    max_age=outcome.cookie.max_age,
                    path="/",
                    httponly=True,
                    samesite="lax",
                    secure=request.url.scheme == "https",
                )
            ]
        )
        return Redirect(
            outcome.location, status_code=302, cookies=cookies, headers={"Cache-Control": "no-store"}
        )

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

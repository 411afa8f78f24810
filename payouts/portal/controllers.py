"""The partner portal's pages: sign in with an e-mailed link, then read earnings, orders, statements,
payouts, links and leads. The partner is the one in the signed session cookie, never one in the URL."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core import rate_limit
from growth.core.auth.guards import DB_CONFIG_STATE_KEY
from growth.core.auth.rules import derived_secret
from growth.core.errors import DomainError
from growth.core.i18n import HTML_LANG, chosen_language, negotiate_locale
from growth.core.rate_limit import RateLimits, client_key
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.lead import service as lead_service
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.rules import parse_minimums
from payouts.portal import service as portal_service
from payouts.portal.errors import PartnerSignInRequired, SignInLinkNotUsable
from payouts.portal.rules import SESSION_MAX_AGE, PortalSession, decode_session, encode_session
from payouts.statement import service as statement_service
from payouts.statement.responses import statement_response

PORTAL = "/partner"
SIGN_IN = portal_service.SIGN_IN_PATH
COOKIE = "growth_partner"
PAGE_SIZE = 50
NO_STORE = {"Cache-Control": "no-store"}
NAV = (
    ("overview", PORTAL),
    ("orders", f"{PORTAL}/orders"),
    ("statements", f"{PORTAL}/statements"),
    ("payouts", f"{PORTAL}/payouts"),
    ("leads", f"{PORTAL}/leads"),
)


def _key(settings: Settings) -> bytes:
    return derived_secret(settings.resolved_secret(), "partner-session")


def portal_cookie(settings: Settings, session: PortalSession | None) -> Cookie:
    """HttpOnly, SameSite=Lax, only sent to the portal; ``None`` builds the cookie that signs out."""
    return Cookie(
        key=COOKIE,
        value="" if session is None else encode_session(session, _key(settings)),
        path=PORTAL,
        max_age=0 if session is None else int(SESSION_MAX_AGE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


async def portal_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """No valid partner session: ``PartnerSignInRequired`` (the browser is sent to sign in)."""
    settings: Settings = connection.app.state.settings
    cookie = connection.cookies.get(COOKIE)
    signed_in = decode_session(cookie, _key(settings), now=utc_now()) if cookie else None
    if signed_in is None:
        raise PartnerSignInRequired("sign in to your partner portal")
    db_config = connection.app.state[DB_CONFIG_STATE_KEY]
    session = db_config.provide_session(connection.app.state, connection.scope)
    connection.state.partner = await portal_service.signed_in_partner(session, signed_in.partner_id)


def sign_in_redirect(request: Request[Any, Any, Any], exc: PartnerSignInRequired) -> Response[Any]:
    """303 to the portal's sign-in page, forgetting a session that no longer holds."""
    settings: Settings = request.app.state.settings
    return Redirect(
        SIGN_IN,
        status_code=303,
        cookies=[portal_cookie(settings, None)] if COOKIE in request.cookies else [],
    )


def _locale(request: Request[Any, Any, Any], settings: Settings) -> str:
    return negotiate_locale(
        request.headers.get("accept-language"),
        override=chosen_language(request.query_params.get("lang"), request.cookies),
        default=settings.default_locale,
    )


def _page(
    request: Request[Any, Any, Any],
    settings: Settings,
    name: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    locale = _locale(request, settings)
    partner = getattr(request.state, "partner", None)
    base = {
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "timezone": settings.timezone,
        "partner": partner,
        "nav": NAV,
        "current_path": request.url.path,
    }
    return Template(
        template_name=f"payouts/portal/{name}.html.j2",
        context=base | context,
        status_code=status_code,
        headers=NO_STORE,
    )


class EmailForm(msgspec.Struct):
    email: str = ""


class LeadForm(msgspec.Struct):
    email: str = ""
    company: str = ""
    contact_name: str = ""
    note: str = ""


def _blank_to_none(value: str) -> str | None:
    return value.strip() or None


class PortalSignInController(Controller):
    """Ask for a link by e-mail; open it; press the button to sign in (scanners only open links)."""

    path = SIGN_IN
    include_in_schema = False

    @get("/")
    async def sign_in_page(
        self, request: Request[Any, Any, Any], settings: Settings, sent: bool = False
    ) -> Template:
        return _page(request, settings, "sign_in", sent=sent)

    @post("/")
    async def request_link(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        rate_limits: RateLimits,
        data: Annotated[EmailForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        await rate_limits.check(rate_limit.SIGN_IN, client_key(request.scope), rate_limit.TOO_MANY_SIGN_INS)
        if not data.email.strip():
            return _page(request, settings, "sign_in", status_code=422, problem="email_missing")
        locale = _locale(request, settings)
        await portal_service.request_link(
            db_session,
            email=data.email,
            now=utc_now(),
            base_url=settings.base_url,
            locale=locale,
            smtp_url=settings.smtp_url,
            sender=settings.mail_from,
        )
        # The same answer whether or not the address belongs to a partner.
        return Redirect(f"{SIGN_IN}?{urlencode({'sent': 'true', 'lang': locale})}", status_code=303)

    @get("/{token:str}")
    async def link_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        rate_limits: RateLimits,
        token: str,
    ) -> Template:
        await rate_limits.check(rate_limit.SIGN_IN, client_key(request.scope), rate_limit.TOO_MANY_SIGN_INS)
        try:
            await portal_service.check_link(db_session, token, now=utc_now())
        except SignInLinkNotUsable:
            return _page(request, settings, "sign_in", status_code=410, link_problem=True)
        return _page(request, settings, "use_link", token=token)

    @post("/{token:str}")
    async def use_link(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        rate_limits: RateLimits,
        token: str,
    ) -> Response[Any]:
        await rate_limits.check(rate_limit.SIGN_IN, client_key(request.scope), rate_limit.TOO_MANY_SIGN_INS)
        now = utc_now()
        try:
            partner_id = await portal_service.use_link(db_session, token, now=now)
        except (SignInLinkNotUsable, PartnerSignInRequired):
            return _page(request, settings, "sign_in", status_code=410, link_problem=True)
        await audit_service.record(
            db_session,
            action="partner.signed_in",
            subject_type="partner",
            subject_id=str(partner_id),
            actor=audit_service.Actor(
                audit_service.ActorKind.partner_session, str(partner_id), "partner portal"
            ),
        )
        return Redirect(
            PORTAL, status_code=303, cookies=[portal_cookie(settings, PortalSession(partner_id, now))]
        )


class PortalController(Controller):
    """The signed-in partner's pages."""

    path = PORTAL
    guards = [portal_guard]
    include_in_schema = False

    @post("/sign-out")
    async def sign_out(self, settings: Settings) -> Redirect:
        return Redirect(SIGN_IN, status_code=303, cookies=[portal_cookie(settings, None)])

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        found = await portal_service.overview(
            db_session,
            request.state.partner.id,
            now=utc_now(),
            tz=settings.timezone,
            minimums=parse_minimums(settings.payout_minimums),
            base_url=settings.base_url,
            secret=settings.resolved_secret(),
        )
        return _page(request, settings, "overview", overview=found)

    @get("/orders")
    async def orders(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        page: Annotated[int, Parameter(ge=1, le=10_000)] = 1,
    ) -> Template:
        rows = await portal_service.orders(
            db_session,
            request.state.partner.id,
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
            now=utc_now(),
            tz=settings.timezone,
        )
        return _page(
            request, settings, "orders", rows=rows[:PAGE_SIZE], page=page, has_more=len(rows) > PAGE_SIZE
        )

    @get("/statements")
    async def statements(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        found = await statement_service.list_statements(
            db_session, partner_id=request.state.partner.id, limit=500
        )
        return _page(request, settings, "statements", statements=found)

    @get("/statements/{statement:str}")
    async def statement(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, statement: str
    ) -> Response[Any]:
        """Printable (``{id}`` or ``{id}.html``) or CSV (``{id}.csv``); another partner's is not found."""
        return await statement_response(
            request, db_session, settings, statement, default="html", partner_id=request.state.partner.id
        )

    @get("/payouts")
    async def payouts(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        found = await payout_run_service.partner_payouts(db_session, request.state.partner.id)
        return _page(request, settings, "payouts", payouts=found)

    async def _leads_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        now = utc_now()
        leads = await lead_service.list_leads(db_session, request.state.partner.id, limit=200)
        rows = [(lead, lead_service.status_of(lead, now=now)) for lead in leads]
        return _page(
            request,
            settings,
            "leads",
            status_code=status_code,
            leads=rows,
            valid_days=settings.lead_valid_days,
            **context,
        )

    @get("/leads")
    async def leads(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        registered: str | None = None,
    ) -> Template:
        return await self._leads_page(request, db_session, settings, registered=registered)

    @post("/leads")
    async def register_lead(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: Annotated[LeadForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        try:
            async with db_session.begin_nested():
                registered = await lead_service.register_lead(
                    db_session,
                    partner_id=request.state.partner.id,
                    email=_blank_to_none(data.email),
                    company=_blank_to_none(data.company),
                    contact_name=_blank_to_none(data.contact_name),
                    note=_blank_to_none(data.note),
                    valid_days=settings.lead_valid_days,
                    now=utc_now(),
                )
        except DomainError as error:
            # Shown on the form (taken by another partner, already a customer, missing prospect).
            return await self._leads_page(
                request,
                db_session,
                settings,
                status_code=error.status_code,
                error_code=error.code(),
                error=error.message,
                form=data,
            )
        return Redirect(
            f"{PORTAL}/leads?{urlencode({'registered': registered.lead.reference})}", status_code=303
        )

"""Notifications over HTTP: the e-mail outbox (marketing), webhook endpoints and deliveries (admin),
as JSON and as dashboard pages."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.email import mask_email
from growth.core.errors import DomainError
from growth.core.time import utc_now
from growth.notification import forms
from growth.notification import service as notification_service
from growth.notification.errors import InvalidNotificationFilter
from growth.notification.models import NotificationEmail, WebhookEndpoint
from growth.notification.rules import DeliveryStatus, EmailStatus, Kind
from growth.notification.schemas import (
    NotificationEmailRead,
    WebhookAttemptRead,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
)
from growth.settings import Settings

Limit = Annotated[int, Parameter(ge=1, le=500)]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000)]


def _email_read(e: NotificationEmail) -> NotificationEmailRead:
    return NotificationEmailRead(
        e.id,
        e.kind,
        e.recipient_type,
        mask_email(e.to_address) or "***",
        e.locale,
        e.subject,
        e.status,
        e.created_at,
        e.sent_at,
    )


def _endpoint_read(e: WebhookEndpoint, *, secret: str | None = None) -> WebhookEndpointRead:
    return WebhookEndpointRead(e.id, e.url, list(e.event_kinds), e.created_at, secret)


def _delivery_read(view: notification_service.DeliveryView) -> WebhookDeliveryRead:
    d = view.delivery
    log = [
        WebhookAttemptRead(a.attempt, a.attempted_at, a.status_code, a.error, a.duration_ms, a.next_retry_at)
        for a in view.attempts
    ]
    return WebhookDeliveryRead(
        d.id,
        d.endpoint_id,
        d.event_id,
        d.kind,
        d.status,
        d.attempts,
        d.next_attempt_at,
        d.delivered_at,
        d.payload,
        log,
        d.created_at,
    )


class NotificationController(Controller):
    """The e-mails the service made: sent over SMTP, or stored when none is configured."""

    path = "/api/notifications"
    tags = ["Notifications"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @get("/emails", summary="The e-mail outbox, newest first (recipients masked)")
    async def list_emails(
        self,
        db_session: AsyncSession,
        kind: str | None = None,
        status: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[NotificationEmailRead]:
        emails = await notification_service.list_emails(
            db_session, kind=kind, status=status, limit=limit, offset=offset
        )
        return [_email_read(e) for e in emails]


class WebhookController(Controller):
    """Outgoing webhooks: endpoints, the delivery log, re-sending (admin only)."""

    path = "/api/webhooks"
    tags = ["Webhooks"]
    guards = [api_key_guard]
    opt = roles()
    security = [{"ApiKey": []}]

    @post("/endpoints", summary="Register an endpoint; its signing secret is shown in this response only")
    async def create_endpoint(
        self, db_session: AsyncSession, data: WebhookEndpointCreate
    ) -> WebhookEndpointRead:
        endpoint = await notification_service.create_endpoint(
            db_session, url=data.url, event_kinds=data.event_kinds, secret=data.secret
        )
        return _endpoint_read(endpoint, secret=endpoint.secret)

    @get("/endpoints", summary="The registered endpoints (without their secrets)")
    async def list_endpoints(self, db_session: AsyncSession) -> list[WebhookEndpointRead]:
        return [_endpoint_read(e) for e in await notification_service.list_endpoints(db_session)]

    @delete("/endpoints/{endpoint_id:uuid}", summary="Stop delivering to an endpoint (its log is kept)")
    async def delete_endpoint(self, db_session: AsyncSession, endpoint_id: UUID) -> None:
        await notification_service.delete_endpoint(db_session, endpoint_id)

    @get("/deliveries", summary="The delivery log, newest first, with each attempt")
    async def list_deliveries(
        self,
        db_session: AsyncSession,
        endpoint_id: UUID | None = None,
        status: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[WebhookDeliveryRead]:
        views = await notification_service.list_deliveries(
            db_session, endpoint_id=endpoint_id, status=status, limit=limit, offset=offset
        )
        return [_delivery_read(v) for v in views]

    @post("/deliveries/{delivery_id:uuid}/resend", summary="Attempt a delivery again now", status_code=200)
    async def resend(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, delivery_id: UUID
    ) -> WebhookDeliveryRead:
        view = await notification_service.resend(
            db_session, delivery_id, settings=request.app.state.settings, now=utc_now()
        )
        return _delivery_read(view)


# --- pages --------------------------------------------------------------------------------------

PageNumber = Annotated[int, Parameter(ge=1, le=forms.MAX_PAGE)]
LogFormData = Annotated[forms.LogForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
EndpointFormData = Annotated[forms.EndpointForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
NO_STORE = {"Cache-Control": "no-store"}


def endpoint_filter(value: str | None) -> UUID | None:
    """The log's endpoint filter: none for "all", a 400 that says so for what is not an id."""
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise InvalidNotificationFilter(f"not a webhook endpoint id (a UUID): {value[:40]!r}") from None


class NotificationPages(Controller):
    """Marketing's e-mail outbox: what the service told customers and partners (recipients masked)."""

    path = forms.EMAILS_PAGE
    guards = [dashboard_guard]
    opt = roles(Role.marketing)
    include_in_schema = False

    @get("/")
    async def outbox_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        kind: str | None = None,
        status: str | None = None,
        page: PageNumber = 1,
    ) -> Template:
        kind, status = kind or None, status or None  # the form's "All" sends an empty value
        outbox = await notification_service.email_outbox(
            db_session, kind=kind, status=status, limit=forms.PAGE_SIZE, offset=(page - 1) * forms.PAGE_SIZE
        )
        filters = {"kind": kind, "status": status}
        return Template(
            template_name="growth/notification/emails.html.j2",
            context=dashboard_context(request, settings)
            | {
                "emails": [_email_read(e) for e in outbox.emails],
                "total": outbox.total,
                "kind_filter": kind,
                "status_filter": status,
                "kinds": [k.value for k in Kind],
                "statuses": [s.value for s in EmailStatus],
                "paging": forms.paging(
                    forms.EMAILS_PAGE, filters, page=page, total=outbox.total, size=forms.PAGE_SIZE
                ),
            },
            headers=NO_STORE,
        )

    @get("/{email_id:uuid}")
    async def email_page(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, email_id: UUID
    ) -> Template:
        email = await notification_service.get_email(db_session, email_id)
        masked = mask_email(email.to_address) or "***"
        return Template(
            template_name="growth/notification/email.html.j2",
            context=dashboard_context(request, settings)
            # Only the masked address reaches the template, the body's copy of it included.
            | {"email": _email_read(email), "body": email.body.replace(email.to_address, masked)},
            headers=NO_STORE,
        )


class WebhookPages(Controller):
    """The admin's webhook page: endpoints (register, delete), the delivery log of attempts, re-sending."""

    path = forms.WEBHOOKS_PAGE
    guards = [dashboard_guard]
    opt = roles()
    include_in_schema = False

    @get("/")
    async def log_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        endpoint_id: str | None = None,
        status: str | None = None,
        page: PageNumber = 1,
    ) -> Template:
        chosen, status = endpoint_filter(endpoint_id), status or None
        log = await notification_service.delivery_log(
            db_session,
            endpoint_id=chosen,
            status=status,
            limit=forms.PAGE_SIZE,
            offset=(page - 1) * forms.PAGE_SIZE,
        )
        endpoints = await notification_service.list_endpoints(db_session)
        filters = {"endpoint_id": str(chosen) if chosen else None, "status": status}
        return Template(
            template_name="growth/notification/webhooks.html.j2",
            context=dashboard_context(request, settings)
            | {
                "endpoints": [_endpoint_read(e) for e in endpoints],
                "deliveries": [_delivery_read(v) for v in log.deliveries],
                "urls": {e.id: e.url for e in log.endpoints.values()},
                "active": {e.id for e in log.endpoints.values() if e.is_active},
                "total": log.total,
                "endpoint_filter": filters["endpoint_id"],
                "status_filter": status,
                "statuses": [s.value for s in DeliveryStatus],
                "paging": forms.paging(
                    forms.WEBHOOKS_PAGE, filters, page=page, total=log.total, size=forms.PAGE_SIZE
                ),
                "notice": forms.read_notice(request.query_params),
                "is_endpoint_deleted": forms.is_endpoint_deleted(request.query_params),
                "kinds": [k.value for k in Kind],
                "error": forms.read_error(request.query_params),
            },
            headers=NO_STORE,
        )

    @post("/deliveries/{delivery_id:uuid}/resend")
    async def resend(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        delivery_id: UUID,
        data: LogFormData,
    ) -> Redirect:
        """One attempt now, then back to the log (same filters) with what the endpoint answered."""
        try:
            view = await notification_service.resend(
                db_session, delivery_id, settings=settings, now=utc_now()
            )
        except DomainError as error:
            await db_session.rollback()  # the redirect would commit: keep nothing of a refused re-send
            return Redirect(forms.webhooks_url(data, {"error": error.code()}), status_code=303)
        last = view.attempts[-1]
        notice = forms.after_resend(delivery_id, view.delivery.status, last.status_code)
        return Redirect(forms.webhooks_url(data, notice), status_code=303)

    @post("/endpoints")
    async def create_endpoint(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: EndpointFormData,
    ) -> Response[Any]:
        """The new endpoint's page shows its signing secret, this once; a refusal goes back to the log."""
        try:
            endpoint = await notification_service.create_endpoint(
                db_session, url=data.url, event_kinds=data.kinds, secret=None
            )
        except DomainError as error:
            await db_session.rollback()
            return Redirect(forms.webhooks_url(forms.LogForm(), {"error": error.code()}), status_code=303)
        return Template(
            template_name="growth/notification/endpoint_created.html.j2",
            context=dashboard_context(request, settings)
            | {"endpoint": _endpoint_read(endpoint, secret=endpoint.secret)},
            headers=NO_STORE,
        )

    @post("/endpoints/{endpoint_id:uuid}/delete")
    async def delete_endpoint(self, db_session: AsyncSession, endpoint_id: UUID) -> Redirect:
        """No new deliveries to it; its log stays."""
        try:
            await notification_service.delete_endpoint(db_session, endpoint_id)
        except DomainError as error:
            await db_session.rollback()
            return Redirect(forms.webhooks_url(forms.LogForm(), {"error": error.code()}), status_code=303)
        return Redirect(forms.webhooks_url(forms.LogForm(), {"done": "endpoint_deleted"}), status_code=303)

"""Notifications over HTTP: the e-mail outbox (marketing), webhook endpoints and deliveries (admin)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.email import mask_email
from growth.core.time import utc_now
from growth.notification import service as notification_service
from growth.notification.models import NotificationEmail, WebhookEndpoint
from growth.notification.schemas import (
    NotificationEmailRead,
    WebhookAttemptRead,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
)

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

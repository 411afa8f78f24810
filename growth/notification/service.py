"""Notifications: outbox events become e-mails to customers and partners and signed webhook deliveries.

Each notification is made once per (event, recipient, kind): the e-mail row and the webhook delivery
rows are written under unique constraints *before* anything leaves, so a replayed event finds them and
sends nothing twice. Without ``GROWTH_SMTP_URL`` the e-mail is only stored (the embedded default's
outbox the dashboard shows); with it, a refused e-mail raises so the outbox rolls back and retries.

Webhook deliveries are attempted by ``deliver_due`` (a periodic job): each attempt is logged, a failure
is retried with exponential back-off (``rules.next_retry``) until ``webhook_max_attempts``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import httpx
import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core import mail
from growth.core.events.service import DomainEvent
from growth.core.i18n import translations
from growth.core.time import utc_now
from growth.customer import service as customer_service
from growth.customer.rules import initials
from growth.notification import repository
from growth.notification.errors import (
    InvalidNotificationFilter,
    InvalidWebhookEndpoint,
    NotificationEmailNotFound,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
)
from growth.notification.models import NotificationEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from growth.notification.rules import (
    EVENTS,
    DeliveryStatus,
    EmailStatus,
    Kind,
    Notice,
    Recipient,
    RecipientType,
    filter_problem,
    kinds_problem,
    next_retry,
    notices_for,
    render,
    signature_headers,
    url_problem,
    webhook_body,
)
from growth.referral_code import service as referral_code_service
from growth.settings import Settings

log = structlog.get_logger()

NOTIFYING_EVENTS = tuple(EVENTS)
"""The outbox events the app factory subscribes ``make_event_handler`` to."""
RecipientLookup = Callable[[AsyncSession, RecipientType, str], Awaitable[Recipient | None]]
"""Finds a customer's or partner's address, name and language (the app factory composes it)."""
Handler = Callable[[AsyncSession, DomainEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EmailPage:
    """One page of the e-mail outbox and how many e-mails the filter matches in all."""

    emails: list[NotificationEmail]
    total: int


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    """One page of the delivery log, how many deliveries match, and the endpoints they went to."""

    deliveries: list[DeliveryView]
    total: int
    endpoints: dict[UUID, WebhookEndpoint]
    """The endpoints of these deliveries, deleted ones included."""


def _check_filter(name: str, value: str | None, known: type[StrEnum]) -> None:
    if problem := filter_problem(name, value, known):
        raise InvalidNotificationFilter(problem)


# --- notifying ----------------------------------------------------------------------------------


async def _with_friend(session: AsyncSession, notice: Notice) -> Notice:
    """A friend-ordered notice names the friend by initials only, never by address."""
    if notice.kind is not Kind.friend_ordered or not notice.data.get("referee_customer_id"):
        return notice
    friend_id = UUID(str(notice.data["referee_customer_id"]))
    friend = (await customer_service.customers_by_id(session, [friend_id])).get(friend_id)
    data = {**notice.data, "friend_initials": initials(friend.name if friend else None)}
    return Notice(notice.kind, notice.recipient_type, notice.recipient_id, data)


def _with_share_url(notice: Notice, settings: Settings) -> Notice:
    """A customer's delay alert links the share page where they choose what to do (the e-mail only:
    the link opens the page without signing in, so webhook bodies never carry it)."""
    context = notice.data.get("context") or {}
    if notice.kind is not Kind.delay_alert or not context.get("share_code"):
        return notice
    links = referral_code_service.links_for(
        str(context["share_code"]), base_url=settings.base_url, secret=settings.resolved_secret()
    )
    data = {**notice.data, "share_url": f"{links.share_url}#rewards"}
    return Notice(notice.kind, notice.recipient_type, notice.recipient_id, data)


async def _email(
    session: AsyncSession,
    event_id: UUID,
    notice: Notice,
    recipient: Recipient,
    *,
    settings: Settings,
    now: datetime,
) -> NotificationEmail | None:
    if not recipient.email:
        return None
    keys = {"recipient_type": notice.recipient_type.value, "recipient_id": notice.recipient_id}
    if await repository.find_email(session, event_id=event_id, kind=notice.kind.value, **keys):
        return None  # a replay: this one was made (and sent) already
    subject, text = render(
        notice,
        gettext=translations(recipient.locale).gettext,
        locale=recipient.locale,
        tz=settings.timezone,
        name=recipient.name,
    )
    is_smtp = bool(settings.smtp_url)
    row = NotificationEmail(
        event_id=event_id,
        kind=notice.kind.value,
        to_address=recipient.email,
        locale=recipient.locale,
        subject=subject,
        body=text,
        status="sent" if is_smtp else "stored",
        sent_at=now if is_smtp else None,
        **keys,
    )
    # The row is flushed first: a concurrent worker's copy fails on the unique constraint before sending.
    session.add(row)
    await session.flush()
    if is_smtp:
        message = mail.Mail(to=recipient.email, to_name=recipient.name, subject=subject, text=text)
        await mail.send(message, smtp_url=settings.smtp_url, sender=settings.mail_from)
    log.info("notification.email", kind=notice.kind.value, email_id=str(row.id), status=row.status)
    return row


async def _queue_webhooks(
    session: AsyncSession, event_id: UUID, occurred_at: datetime, notice: Notice, *, now: datetime
) -> int:
    queued = 0
    for endpoint in await repository.active_endpoints(session):
        if notice.kind.value not in endpoint.event_kinds:
            continue
        keys = {"kind": notice.kind.value, "recipient_id": notice.recipient_id}
        if await repository.find_delivery(session, endpoint_id=endpoint.id, event_id=event_id, **keys):
            continue
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event_id,
            payload={},
            status="pending",
            next_attempt_at=now,
            **keys,
        )
        session.add(delivery)
        await session.flush()
        delivery.payload = webhook_body(
            delivery_id=str(delivery.id), event_id=str(event_id), notice=notice, occurred_at=occurred_at
        )
        queued += 1
    return queued


async def notify(
    session: AsyncSession,
    event_id: UUID,
    notice: Notice,
    *,
    occurred_at: datetime,
    settings: Settings,
    recipients: RecipientLookup,
    now: datetime,
) -> NotificationEmail | None:
    """Tell one recipient about one event: the e-mail (once) and a delivery to each subscribed endpoint."""
    notice = await _with_friend(session, notice)
    recipient = await recipients(session, notice.recipient_type, notice.recipient_id)
    email = None
    if recipient is not None and notice.emailed:
        email = await _email(
            session, event_id, _with_share_url(notice, settings), recipient, settings=settings, now=now
        )
    await _queue_webhooks(session, event_id, occurred_at, notice, now=now)
    return email


def make_event_handler(settings: Settings, recipients: RecipientLookup) -> Handler:
    """The outbox subscriber of ``NOTIFYING_EVENTS``, bound to the settings and the recipient lookup."""

    async def on_event(session: AsyncSession, event: DomainEvent) -> None:
        for notice in notices_for(event.name, event.payload):
            await notify(
                session,
                event.id,
                notice,
                occurred_at=event.occurred_at,
                settings=settings,
                recipients=recipients,
                now=utc_now(),
            )

    return on_event


async def list_emails(
    session: AsyncSession,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[NotificationEmail]:
    """The e-mail outbox, newest first; ``InvalidNotificationFilter`` for an unknown kind or status."""
    _check_filter("kind", kind, Kind)
    _check_filter("status", status, EmailStatus)
    return await repository.list_emails(session, kind=kind, status=status, limit=limit, offset=offset)


async def email_outbox(
    session: AsyncSession, *, kind: str | None, status: str | None, limit: int, offset: int
) -> EmailPage:
    """A page of the e-mail outbox, newest first, and the number of e-mails the filter matches."""
    emails = await list_emails(session, kind=kind, status=status, limit=limit, offset=offset)
    return EmailPage(emails, await repository.count_emails(session, kind=kind, status=status))


async def get_email(session: AsyncSession, email_id: UUID) -> NotificationEmail:
    """One e-mail of the outbox; ``NotificationEmailNotFound`` when unknown."""
    email = await repository.get_email(session, email_id)
    if email is None:
        raise NotificationEmailNotFound(f"no e-mail {email_id}")
    return email


# --- webhook endpoints --------------------------------------------------------------------------


async def create_endpoint(
    session: AsyncSession, *, url: str, event_kinds: list[str], secret: str | None
) -> WebhookEndpoint:
    """Register a webhook endpoint; a secret is generated unless one is given."""
    if problem := url_problem(url) or kinds_problem(event_kinds):
        raise InvalidWebhookEndpoint(problem)
    if secret is not None and not 16 <= len(secret) <= 200:
        raise InvalidWebhookEndpoint("the secret must be 16 to 200 characters long")
    endpoint = WebhookEndpoint(
        url=url.strip(),
        secret=secret or f"whsec_{secrets.token_urlsafe(32)}",
        event_kinds=sorted(set(event_kinds)),
        is_active=True,
    )
    session.add(endpoint)
    await session.flush()
    log.info("notification.webhook_endpoint_created", endpoint_id=str(endpoint.id))
    return endpoint


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    """The registered (not deleted) endpoints."""
    return await repository.active_endpoints(session)


async def get_endpoint(session: AsyncSession, endpoint_id: UUID) -> WebhookEndpoint:
    """A registered endpoint; ``WebhookEndpointNotFound`` when unknown or deleted."""
    endpoint = await repository.get_endpoint(session, endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint_id: UUID) -> None:
    """Stop delivering to an endpoint; its delivery log is kept."""
    endpoint = await get_endpoint(session, endpoint_id)
    endpoint.is_active = False
    await session.flush()


# --- webhook deliveries -------------------------------------------------------------------------


async def _attempt(
    session: AsyncSession,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    *,
    client: httpx.AsyncClient,
    max_attempts: int,
    now: datetime,
) -> WebhookAttempt:
    body = msgspec.json.encode(delivery.payload)
    # The signature carries the real sending time: receivers compare it with their clock.
    headers = {
        "Content-Type": "application/json",
        "X-Growth-Event": delivery.kind,
        "X-Growth-Delivery": str(delivery.id),
        **signature_headers(endpoint.secret, int(utc_now().timestamp()), body),
    }
    status_code: int | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        response = await client.post(endpoint.url, content=body, headers=headers)
        status_code = response.status_code
        if not response.is_success:
            error = f"the endpoint answered {status_code}"
    except httpx.HTTPError as exc:
        error = f"unreachable: {exc!r}"[:2000]
    duration_ms = int((time.perf_counter() - started) * 1000)
    delivery.attempts += 1
    retry_at = None if error is None else next_retry(delivery.attempts, max_attempts=max_attempts, now=now)
    if error is None:
        delivery.status, delivery.delivered_at = "delivered", now
    else:
        delivery.status = "pending" if retry_at else "failed"
    delivery.next_attempt_at = retry_at
    attempt = WebhookAttempt(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        attempted_at=now,
        status_code=status_code,
        error=error,
        duration_ms=duration_ms,
        next_retry_at=retry_at,
    )
    session.add(attempt)
    await session.flush()
    log.info(
        "notification.webhook_attempt",
        delivery_id=str(delivery.id),
        attempt=attempt.attempt,
        status_code=status_code,
        status=delivery.status,
    )
    return attempt


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(settings.webhook_timeout_seconds), follow_redirects=False)


async def deliver_due(session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 50) -> int:
    """Attempt the deliveries that are due; returns how many were attempted."""
    deliveries = await repository.due_deliveries(session, now=now, limit=limit)
    if not deliveries:
        return 0
    async with _client(settings) as client:
        for delivery in deliveries:
            endpoint = await repository.get_endpoint(session, delivery.endpoint_id)
            if endpoint is None:  # deleted since: nothing more is sent to it
                delivery.status, delivery.next_attempt_at = "failed", None
                continue
            await _attempt(
                session,
                delivery,
                endpoint,
                client=client,
                max_attempts=settings.webhook_max_attempts,
                now=now,
            )
    return len(deliveries)


async def resend(
    session: AsyncSession, delivery_id: UUID, *, settings: Settings, now: datetime
) -> DeliveryView:
    """Attempt a delivery again now, whatever its state (the dashboard's re-send)."""
    delivery = await repository.get_delivery(session, delivery_id, for_update=True)
    if delivery is None:
        raise WebhookDeliveryNotFound(f"no webhook delivery {delivery_id}")
    endpoint = await get_endpoint(session, delivery.endpoint_id)
    async with _client(settings) as client:
        # A re-send is one try on top of the automatic ones; a failed delivery stays failed if it fails.
        max_attempts = max(settings.webhook_max_attempts, delivery.attempts + 1)
        await _attempt(session, delivery, endpoint, client=client, max_attempts=max_attempts, now=now)
    return (await _views(session, [delivery]))[0]


async def _views(session: AsyncSession, deliveries: list[WebhookDelivery]) -> list[DeliveryView]:
    attempts = await repository.attempts_of(session, [d.id for d in deliveries])
    return [DeliveryView(d, [a for a in attempts if a.delivery_id == d.id]) for d in deliveries]


async def list_deliveries(
    session: AsyncSession,
    *,
    endpoint_id: UUID | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[DeliveryView]:
    """The delivery log, newest first, each with its attempts; ``InvalidNotificationFilter`` for an
    unknown status."""
    _check_filter("status", status, DeliveryStatus)
    deliveries = await repository.list_deliveries(
        session, endpoint_id=endpoint_id, status=status, limit=limit, offset=offset
    )
    return await _views(session, deliveries)


async def delivery_log(
    session: AsyncSession, *, endpoint_id: UUID | None, status: str | None, limit: int, offset: int
) -> DeliveryLog:
    """A page of the delivery log with each attempt, the number of matching deliveries and their endpoints."""
    views = await list_deliveries(session, endpoint_id=endpoint_id, status=status, limit=limit, offset=offset)
    total = await repository.count_deliveries(session, endpoint_id=endpoint_id, status=status)
    endpoints = await repository.endpoints_by_id(session, [v.delivery.endpoint_id for v in views])
    return DeliveryLog(views, total, endpoints)

"""Queries of notifications: the e-mail outbox, webhook endpoints, deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.notification.models import NotificationEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def find_email(
    session: AsyncSession, *, event_id: UUID, recipient_type: str, recipient_id: str, kind: str
) -> NotificationEmail | None:
    """The e-mail already made for this event, recipient and kind, if any."""
    return await session.scalar(
        select(NotificationEmail).where(
            NotificationEmail.event_id == event_id,
            NotificationEmail.recipient_type == recipient_type,
            NotificationEmail.recipient_id == recipient_id,
            NotificationEmail.kind == kind,
        )
    )


async def list_emails(
    session: AsyncSession, *, kind: str | None, status: str | None, limit: int, offset: int
) -> list[NotificationEmail]:
    """The newest e-mails first, optionally of one kind or status."""
    query = select(NotificationEmail)
    if kind:
        query = query.where(NotificationEmail.kind == kind)
    if status:
        query = query.where(NotificationEmail.status == status)
    query = query.order_by(NotificationEmail.created_at.desc(), NotificationEmail.id.desc())
    return list(await session.scalars(query.limit(limit).offset(offset)))


async def active_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    return list(
        await session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True)).order_by(WebhookEndpoint.id)
        )
    )


async def get_endpoint(session: AsyncSession, endpoint_id: UUID) -> WebhookEndpoint | None:
    return await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.is_active.is_(True))
    )


async def find_delivery(
    session: AsyncSession, *, endpoint_id: UUID, event_id: UUID, kind: str, recipient_id: str
) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.event_id == event_id,
            WebhookDelivery.kind == kind,
            WebhookDelivery.recipient_id == recipient_id,
        )
    )


async def get_delivery(
    session: AsyncSession, delivery_id: UUID, *, for_update: bool = False
) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    return await session.scalar(query.with_for_update() if for_update else query)


async def due_deliveries(session: AsyncSession, *, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Pending deliveries whose next attempt is due, locked (skipping those another worker holds)."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def list_deliveries(
    session: AsyncSession, *, endpoint_id: UUID | None, status: str | None, limit: int, offset: int
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery)
    if endpoint_id:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return list(await session.scalars(query.limit(limit).offset(offset)))


async def attempts_of(session: AsyncSession, delivery_ids: list[UUID]) -> list[WebhookAttempt]:
    """The attempts of these deliveries, in order."""
    if not delivery_ids:
        return []
    return list(
        await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
        )
    )

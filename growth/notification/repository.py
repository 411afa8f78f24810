"""Queries of notifications: the e-mail outbox, webhook endpoints, deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.notification.models import NotificationEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint

Query = TypeVar("Query", bound=Select[Any])


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


def _emails_where(query: Query, kind: str | None, status: str | None) -> Query:
    if kind:
        query = query.where(NotificationEmail.kind == kind)
    if status:
        query = query.where(NotificationEmail.status == status)
    return query


async def list_emails(
    session: AsyncSession, *, kind: str | None, status: str | None, limit: int, offset: int
) -> list[NotificationEmail]:
    """The newest e-mails first, optionally of one kind or status."""
    query = _emails_where(select(NotificationEmail), kind, status)
    query = query.order_by(NotificationEmail.created_at.desc(), NotificationEmail.id.desc())
    return list(await session.scalars(query.limit(limit).offset(offset)))


async def count_emails(session: AsyncSession, *, kind: str | None, status: str | None) -> int:
    """How many e-mails ``list_emails`` pages through."""
    query = _emails_where(select(func.count()).select_from(NotificationEmail), kind, status)
    return int(await session.scalar(query) or 0)


async def get_email(session: AsyncSession, email_id: UUID) -> NotificationEmail | None:
    return await session.get(NotificationEmail, email_id)


async def endpoints_by_id(session: AsyncSession, endpoint_ids: list[UUID]) -> dict[UUID, WebhookEndpoint]:
    """These endpoints, deleted ones included (the log names them)."""
    if not endpoint_ids:
        return {}
    found = await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(set(endpoint_ids))))
    return {e.id: e for e in found}


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


def _deliveries_where(query: Query, endpoint_id: UUID | None, status: str | None) -> Query:
    if endpoint_id:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return query


async def count_deliveries(session: AsyncSession, *, endpoint_id: UUID | None, status: str | None) -> int:
    """How many deliveries ``list_deliveries`` pages through."""
    query = _deliveries_where(select(func.count()).select_from(WebhookDelivery), endpoint_id, status)
    return int(await session.scalar(query) or 0)


async def list_deliveries(
    session: AsyncSession, *, endpoint_id: UUID | None, status: str | None, limit: int, offset: int
) -> list[WebhookDelivery]:
    query = _deliveries_where(select(WebhookDelivery), endpoint_id, status)
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

"""Queries of the Stripe intake: claiming an event id, serialising related events, and the two
order questions only this intake asks (orders by subscription, refunds waiting for their order)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from growth.order.models import Order, PendingOrderEvent
from growth.stripe_webhook.models import ExternalEvent


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None, "the session must be bound to an engine"
    return session.bind.dialect.name


async def claim_event(
    session: AsyncSession, *, source: str, external_id: str, type: str, now: datetime
) -> bool:
    """Insert the event's marker; False when the event was already claimed (a duplicate delivery).

    ``ON CONFLICT DO NOTHING`` lets the unique constraint decide: on PostgreSQL a concurrent
    delivery waits here until the first one commits (then it is a duplicate) or rolls back
    (then it claims the event itself).
    """
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = (
        insert(ExternalEvent)
        .values(source=source, external_id=external_id, type=type, received_at=now)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(ExternalEvent.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def mark_handled(
    session: AsyncSession, *, source: str, external_id: str, now: datetime, note: str | None
) -> None:
    await session.execute(
        update(ExternalEvent)
        .where(ExternalEvent.source == source, ExternalEvent.external_id == external_id)
        .values(handled_at=now, note=note, updated_at=now)
    )


async def lock(session: AsyncSession, keys: list[str]) -> None:
    """Hold transaction-scoped locks on ``keys`` (callers pass them sorted, so no deadlock).

    PostgreSQL: advisory locks, released at commit. SQLite needs none: every transaction
    starts with ``BEGIN IMMEDIATE``, so writers are already serialised.
    """
    if _dialect(session) != "postgresql":
        return
    for key in keys:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


async def first_order_of_subscription(session: AsyncSession, subscription_id: str) -> Order | None:
    return await session.scalar(
        select(Order).where(Order.subscription_id == subscription_id).order_by(Order.placed_at).limit(1)
    )


async def deferred_refunds(session: AsyncSession, match_key: str) -> int:
    """Minor units of refunds waiting under ``match_key`` for their order."""
    return (
        await session.scalar(
            select(func.coalesce(func.sum(PendingOrderEvent.amount), 0)).where(
                PendingOrderEvent.match_key == match_key,
                PendingOrderEvent.event == "refunded",
                PendingOrderEvent.applied_at.is_(None),
            )
        )
        or 0
    )

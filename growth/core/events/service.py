"""Publishing domain events to the outbox and handling them exactly once per subscriber.

A subscriber's writes and the row that marks the event handled by it commit in one
transaction, guarded by ``UNIQUE(event_id, handler)``: a handler that fails is rolled back and
retried later, and two workers racing on one event cannot both commit its effects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from growth.core.db import SessionMaker
from growth.core.events.models import OutboxDelivery, OutboxEvent
from growth.core.time import utc_now

log = structlog.get_logger()

NOTIFIER_KEY = "outbox_notifier"
_DIRTY_KEY = "outbox_dirty"
MAX_BACKOFF = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """What a subscriber receives: the event's id, name, payload and time."""

    id: UUID
    name: str
    payload: dict[str, Any]
    occurred_at: datetime


Handler = Callable[[AsyncSession, DomainEvent], Awaitable[None]]


@dataclass
class Subscriptions:
    """Which handlers react to which event names; composed once by the app factory."""

    _by_event: dict[str, dict[str, Handler]] = field(default_factory=dict)

    def add(self, event_name: str, handler_name: str, handler: Handler) -> None:
        """Subscribe ``handler`` (a stable, unique ``handler_name``) to ``event_name``."""
        handlers = self._by_event.setdefault(event_name, {})
        if handler_name in handlers:
            raise ValueError(f"handler {handler_name!r} already subscribed to {event_name!r}")
        handlers[handler_name] = handler

    def event_names(self) -> list[str]:
        return [name for name, handlers in self._by_event.items() if handlers]

    def handlers_for(self, event_name: str) -> dict[str, Handler]:
        return self._by_event.get(event_name, {})


async def publish(
    session: AsyncSession, name: str, payload: dict[str, Any], *, now: datetime | None = None
) -> None:
    """Record ``name`` in the outbox inside the caller's transaction."""
    session.add(OutboxEvent(name=name, payload=payload, occurred_at=now or utc_now()))
    session.info[_DIRTY_KEY] = True


@sa_event.listens_for(Session, "after_commit")
def _kick_after_commit(session: Session) -> None:
    # Wake the in-process worker only after the events are visible to other connections.
    if session.info.pop(_DIRTY_KEY, False):
        notifier = session.info.get(NOTIFIER_KEY)
        if notifier is not None:
            notifier()


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY_KEY, None)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the ``attempts``-th failure, capped."""
    return min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


async def _close_unsubscribed(session_maker: SessionMaker, subscriptions: Subscriptions) -> int:
    """Mark every event nobody subscribes to as processed, in one statement."""
    async with session_maker() as session, session.begin():
        result = await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None), OutboxEvent.name.not_in(subscriptions.event_names()))
            .values(processed_at=utc_now())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _pending_events(session_maker: SessionMaker, now: datetime, limit: int) -> list[DomainEvent]:
    async with session_maker() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None))
            .where((OutboxEvent.next_attempt_at.is_(None)) | (OutboxEvent.next_attempt_at <= now))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        return [DomainEvent(e.id, e.name, dict(e.payload), e.occurred_at) for e in rows]


async def _handled_by(session_maker: SessionMaker, event_id: UUID) -> set[str]:
    async with session_maker() as session:
        rows = await session.scalars(
            select(OutboxDelivery.handler).where(OutboxDelivery.event_id == event_id)
        )
        return set(rows)


async def _run_handler(session_maker: SessionMaker, event: DomainEvent, name: str, handler: Handler) -> bool:
    """Run one subscriber; False when another worker holds the event (it will run it)."""
    try:
        async with session_maker() as session, session.begin():
            # Two workers that picked the same event: the first locks its row for the handler's
            # transaction; the second waits for it (a caller that drains must find the event handled
            # when it returns) and then finds the delivery recorded instead of running the handler's
            # effects again. SQLite has one writer at a time and no row locks.
            await session.scalar(select(OutboxEvent.id).where(OutboxEvent.id == event.id).with_for_update())
            done = await session.scalar(
                select(OutboxDelivery.id).where(
                    OutboxDelivery.event_id == event.id, OutboxDelivery.handler == name
                )
            )
            if done is not None:
                return True
            await handler(session, event)
            session.add(OutboxDelivery(event_id=event.id, handler=name, handled_at=utc_now()))
    except IntegrityError:
        # Another worker committed this delivery first; our copy of the effects was rolled back.
        if name not in await _handled_by(session_maker, event.id):
            raise
    return True


async def _mark(session_maker: SessionMaker, event_id: UUID, **values: Any) -> None:
    async with session_maker() as session, session.begin():
        await session.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(**values))


async def handle_event(session_maker: SessionMaker, subscriptions: Subscriptions, event: DomainEvent) -> bool:
    """Run every subscriber that has not yet handled ``event``; True when all have."""
    done = await _handled_by(session_maker, event.id)
    for name, handler in subscriptions.handlers_for(event.name).items():
        if name in done:
            continue
        try:
            if not await _run_handler(session_maker, event, name, handler):
                return False  # another worker is handling it now
        except Exception as exc:
            async with session_maker() as session:
                attempts = (
                    await session.scalar(select(OutboxEvent.attempts).where(OutboxEvent.id == event.id)) or 0
                )
            log.warning(
                "outbox.handler_failed",
                event_id=str(event.id),
                event_name=event.name,
                handler=name,
                attempts=attempts + 1,
                error=repr(exc),
            )
            await _mark(
                session_maker,
                event.id,
                attempts=attempts + 1,
                last_error=f"{name}: {exc!r}"[:2000],
                next_attempt_at=utc_now() + retry_delay(attempts + 1),
            )
            return False
    await _mark(session_maker, event.id, processed_at=utc_now(), next_attempt_at=None)
    return True


async def dispatch_pending(
    session_maker: SessionMaker,
    subscriptions: Subscriptions,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Handle the events that are due; returns how many were fully handled."""
    handled = await _close_unsubscribed(session_maker, subscriptions)
    for event in await _pending_events(session_maker, now or utc_now(), limit):
        handled += await handle_event(session_maker, subscriptions, event)
    return handled


async def backlog(session: AsyncSession, *, now: datetime) -> tuple[int, float]:
    """How many events wait for a subscriber, and the age in seconds of the oldest (0 when none)."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxEvent.occurred_at)).where(OutboxEvent.processed_at.is_(None))
        )
    ).one()
    return int(count), max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


async def dispatch_in_transaction(session: AsyncSession, subscriptions: Subscriptions) -> int:
    """Handle every pending event inside the caller's transaction; returns how many were handled
    (events the handlers publish meanwhile included).

    For a batch load whose next step needs its events handled (the demo's history): one transaction
    instead of several per event. A handler that fails fails the caller's transaction (nothing of the
    batch is kept), rather than leaving its event to the worker.
    """
    handled = 0
    while rows := list(
        await session.scalars(
            select(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).order_by(OutboxEvent.id).limit(500)
        )
    ):
        done = set(
            await session.execute(
                select(OutboxDelivery.event_id, OutboxDelivery.handler).where(
                    OutboxDelivery.event_id.in_([row.id for row in rows])
                )
            )
        )
        for row in rows:
            event = DomainEvent(row.id, row.name, dict(row.payload), row.occurred_at)
            for name, handler in subscriptions.handlers_for(row.name).items():
                if (row.id, name) not in done:
                    await handler(session, event)
                    session.add(OutboxDelivery(event_id=row.id, handler=name, handled_at=utc_now()))
            row.processed_at = utc_now()
            handled += 1
        await session.flush()
    return handled

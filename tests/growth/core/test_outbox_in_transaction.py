"""Handling the outbox inside the caller's transaction (a batch load such as the demo's history)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.events.models import OutboxDelivery, OutboxEvent
from growth.core.events.service import DomainEvent, Subscriptions, dispatch_in_transaction, publish


async def test_events_and_those_their_handlers_publish_are_handled_once(session: AsyncSession) -> None:
    seen: list[tuple[str, str]] = []

    async def first(s: AsyncSession, event: DomainEvent) -> None:
        seen.append(("first", event.payload["n"]))
        await publish(s, "demo.second", {"n": event.payload["n"]})

    async def second(s: AsyncSession, event: DomainEvent) -> None:
        seen.append(("second", event.payload["n"]))

    subscriptions = Subscriptions()
    subscriptions.add("demo.first", "test.first", first)
    subscriptions.add("demo.second", "test.second", second)
    async with session.begin():
        for n in ("1", "2"):
            await publish(session, "demo.first", {"n": n})
        await publish(session, "demo.nobody", {})

        assert await dispatch_in_transaction(session, subscriptions) == 5
        assert await dispatch_in_transaction(session, subscriptions) == 0

    assert seen == [("first", "1"), ("first", "2"), ("second", "1"), ("second", "2")]
    assert await session.scalar(select(func.count()).where(OutboxEvent.processed_at.is_(None))) == 0
    assert await session.scalar(select(func.count()).select_from(OutboxDelivery)) == 4


async def test_a_failing_handler_fails_the_whole_transaction(session: AsyncSession) -> None:
    async def broken(s: AsyncSession, event: DomainEvent) -> None:
        raise RuntimeError("broken handler")

    subscriptions = Subscriptions()
    subscriptions.add("demo.first", "test.broken", broken)
    with pytest.raises(RuntimeError, match="broken handler"):
        async with session.begin():
            await publish(session, "demo.first", {"n": "1"})
            await dispatch_in_transaction(session, subscriptions)

    assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0

"""The production profile's job queue (SAQ on Redis): job keys, cron ticks, and two workers on one queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.events.service import DomainEvent, Subscriptions, publish
from growth.core.queue import OUTBOX_DRAIN, JobQueue, cron_for, kick_key, make_queue
from growth.settings import Settings
from growth.worker import GrowthWorker, build_worker

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_is_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_is_up(), reason="needs Redis on 127.0.0.1:6379")


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (0.2, "* * * * * */1"),
        (1, "* * * * * */1"),
        (10, "* * * * * */10"),
        (59.6, "*/1 * * * *"),
        (60, "*/1 * * * *"),
        (300, "*/5 * * * *"),
        (7200, "*/59 * * * *"),
    ],
)
def test_cron_for_an_interval(seconds: float, cron: str) -> None:
    assert cron_for(seconds) == cron


def test_kicks_share_a_key_within_a_window() -> None:
    assert kick_key(1000.01) == kick_key(1000.09) == f"{OUTBOX_DRAIN}:10000"
    assert kick_key(1000.11) != kick_key(1000.09)


@pytest.fixture
async def queue_name() -> AsyncIterator[str]:
    name = f"growth-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(f"saq:{name}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@needs_redis
async def test_a_key_is_enqueued_once_while_it_waits(queue_name: str) -> None:
    jobs = JobQueue(make_queue(REDIS_URL, queue_name))
    await jobs.connect()
    try:
        assert await jobs.defer("payouts.execute_run", key="payout-run:1", run_id="1") is True
        assert await jobs.defer("payouts.execute_run", key="payout-run:1", run_id="1") is False
        assert await jobs.defer("payouts.execute_run", key="payout-run:2", run_id="2") is True
        assert await jobs.depth() == 2
        assert await jobs.is_up() is True
    finally:
        await jobs.disconnect()


async def _run(worker: GrowthWorker) -> None:
    await worker.queue.connect()
    await worker.start()


@needs_redis
async def test_two_workers_handle_each_event_once(
    settings: Settings, session_maker: SessionMaker, queue_name: str
) -> None:
    seen: list[Any] = []

    async def handler(session: AsyncSession, event: DomainEvent) -> None:
        seen.append(event.id)
        await asyncio.sleep(0.01)  # long enough for the other worker to reach the same event

    subscriptions = Subscriptions()
    subscriptions.add("test.happened", "tests.count", handler)
    async with session_maker() as session, session.begin():
        for n in range(20):
            await publish(session, "test.happened", {"n": n})
    configured = settings.with_overrides(redis_url=REDIS_URL, queue_name=queue_name)
    workers = [build_worker(configured, concurrency=4, subscriptions=subscriptions) for _ in range(2)]
    for worker in workers:
        worker.SIGNALS = []  # the test's loop, not the process, decides when they stop
    runs = [asyncio.create_task(_run(worker)) for worker in workers]
    kicks = JobQueue(make_queue(REDIS_URL, queue_name))
    await kicks.connect()
    try:
        # Several drains at once, on both workers (distinct keys, so none is dropped as a duplicate).
        for n in range(8):
            await kicks.defer(OUTBOX_DRAIN, key=f"{OUTBOX_DRAIN}:test-{n}")

        async def pending() -> int:
            async with session_maker() as session:
                return int(
                    await session.scalar(
                        select(func.count())
                        .select_from(OutboxEvent)
                        .where(OutboxEvent.processed_at.is_(None))
                    )
                    or 0
                )

        for _ in range(200):
            if not await pending():
                break
            await asyncio.sleep(0.05)
        assert await pending() == 0
    finally:
        await kicks.disconnect()
        for worker in workers:
            await worker.stop()
        await asyncio.gather(*runs)

    assert len(seen) == 20 and len(set(seen)) == 20

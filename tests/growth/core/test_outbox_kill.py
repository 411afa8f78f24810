"""The outbox worker killed with SIGKILL mid-batch, again and again, then restarted: every event is
handled, by every subscriber, once; nothing is lost and nothing is applied twice.

The production profile's ``growth worker`` (SAQ on the Redis of 127.0.0.1:6379) drains events that
partner orders left through the API of a web app that runs no jobs itself. Each kill lands after
the worker handled at least one more event than before (mid-batch), plus a random jitter.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.app import create_app
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxDelivery, OutboxEvent
from growth.ledger.models import LedgerEntry
from growth.settings import Settings
from payouts.commission.models import Commission
from tests.conftest import SECRET
from tests.factories import bearer, create_key
from tests.growth.core.test_queue import REDIS_URL, needs_redis
from tests.payouts.payout_run.helpers import assert_ledger_sound

ORDERS = 120
KILLS = 20
WORKER = [sys.executable, "-c", "from growth.cli import main; main()", "worker", "--concurrency", "2"]


pytestmark = needs_redis


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = f"test-kill-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"saq:{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def settings(settings: Settings, queue_name: str) -> Settings:
    # The web app leaves every job to `growth worker` processes: the events wait in the outbox.
    return settings.with_overrides(redis_url=REDIS_URL, queue_name=queue_name)


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def _ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _leave_partner_orders(web: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]) -> None:
    """A partner program and ``ORDERS`` orders through its code, each paid and closed."""
    campaign = await _ok(
        await web.post(
            "/api/campaigns",
            json={
                "name": "Consultants",
                "kind": "partner",
                "landing_url": "https://shop.example/b2b",
                "currency": "CNY",
                "status": "active",
                "new_customers_only": False,
            },
            headers=keys["admin"],
        ),
        201,
    )
    partner = await _ok(
        await web.post(
            "/api/partners", json={"name": "Northwind", "email": "nw@example.com"}, headers=keys["finance"]
        ),
        201,
    )
    code = await _ok(
        await web.post(
            f"/api/partners/{partner['id']}/referral-codes",
            json={"campaign_id": campaign["id"]},
            headers=keys["finance"],
        ),
        201,
    )
    plan = await _ok(
        await web.post(
            "/api/commission-plans",
            json={
                "name": "Standard",
                "kind": "percent",
                "currency": "CNY",
                "rate_bps": 1000,
                "hold_days": 30,
            },
            headers=keys["finance"],
        ),
        201,
    )
    await _ok(
        await web.post(
            f"/api/partners/{partner['id']}/plan", json={"plan_id": plan["id"]}, headers=keys["finance"]
        ),
        201,
    )
    for n in range(ORDERS):
        external_id = f"kill-{n}"
        body = {
            "external_id": external_id,
            "customer": {"external_id": f"client-{n}"},
            "amount": 10_000 + n,
            "currency": "CNY",
            "placed_at": datetime.now(UTC).isoformat(),
            "referral_code": code["code"],
        }
        await _ok(await web.post("/api/orders", json=body, headers=keys["shop"]), 201)
        for kind in ("paid", "closed"):
            r = await web.post(
                f"/api/orders/{external_id}/events",
                json={"type": kind, "event_id": f"{external_id}-{kind}"},
                headers=keys["shop"],
            )
            assert r.status_code in (200, 201), r.text


async def _count(session_maker: SessionMaker, query: Any) -> int:
    async with session_maker() as s:
        return int(await s.scalar(query) or 0)


def _deliveries(session_maker: SessionMaker, loop: asyncio.AbstractEventLoop) -> int:
    query = select(func.count()).select_from(OutboxDelivery)
    return asyncio.run_coroutine_threadsafe(_count(session_maker, query), loop).result()


def _kill_mid_batch(env: dict[str, str], rng: random.Random, progress: Any, pending: Any) -> bool:
    """Start a worker; once it handled one more event than before (or after 20 s), SIGKILL it after a
    jitter. Whether it was killed while events were still waiting."""
    before = progress()
    worker = subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while progress() <= before and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.05))
    mid_batch = pending() > 0
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    return mid_batch


def _drain_to_the_end(env: dict[str, str], pending: Any) -> None:
    """Start a worker and stop it (SIGTERM) once no event waits."""
    worker = subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while pending():
            assert time.monotonic() < deadline, "the restarted worker did not drain the outbox"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


async def test_a_killed_worker_loses_nothing_and_applies_nothing_twice(
    web: AsyncTestClient[Litestar],
    session: AsyncSession,
    session_maker: SessionMaker,
    database_url: str,
    queue_name: str,
) -> None:
    keys = {
        role.value: bearer(await create_key(session, role=role))
        for role in (Role.admin, Role.finance, Role.shop)
    }
    await session.commit()
    await _leave_partner_orders(web, keys)
    waiting = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
    assert await _count(session_maker, waiting) >= 3 * ORDERS  # attributed, paid, closed: none handled yet

    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")} | {
        "GROWTH_DATABASE_URL": database_url,
        "GROWTH_REDIS_URL": REDIS_URL,
        "GROWTH_QUEUE_NAME": queue_name,
        "GROWTH_SECRET_KEY": SECRET,
        "GROWTH_OUTBOX_SWEEP_SECONDS": "1",
        "GROWTH_LOG_LEVEL": "WARNING",
        "GROWTH_REWARD_JOB_INTERVAL_SECONDS": "3600",
    }
    loop = asyncio.get_running_loop()

    def progress() -> int:
        return _deliveries(session_maker, loop)

    def pending() -> int:
        return asyncio.run_coroutine_threadsafe(_count(session_maker, waiting), loop).result()

    rng = random.Random(20261127)
    mid_batch = 0
    for _ in range(KILLS):
        mid_batch += await asyncio.to_thread(_kill_mid_batch, env, rng, progress, pending)
    print(f"outbox worker: {mid_batch} of {KILLS} SIGKILLs landed with events waiting")
    assert mid_batch >= KILLS // 2  # most kills cut a batch short

    await asyncio.to_thread(_drain_to_the_end, env, pending)

    # Nothing lost: every order has its commission, accrued once; nothing twice: one accrual entry each.
    per_order = (
        select(Commission.order_id, func.count()).group_by(Commission.order_id).having(func.count() > 1)
    )
    async with session_maker() as s:
        assert list(await s.execute(per_order)) == []
        assert await s.scalar(select(func.count()).select_from(Commission)) == ORDERS
        references = list(await s.scalars(select(LedgerEntry.reference)))
        failed = await s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.attempts > 0))
    assert len(references) == len(set(references)) and len(references) >= ORDERS
    assert failed == 0  # a kill is not a handler failure: no event was retried for an error
    await assert_ledger_sound(session_maker)

"""Periodic in-process jobs: the first run one interval after start, a failed run retried, a prompt stop."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.core.jobs import PeriodicJob, run_once


async def test_runs_after_each_interval_not_at_start(session_maker: SessionMaker) -> None:
    runs: list[datetime] = []

    async def job(session: AsyncSession, now: datetime) -> int:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1  # a real transaction
        runs.append(now)
        return 1

    periodic = PeriodicJob(session_maker, "count", job, interval_seconds=0.2)
    periodic.start()
    await asyncio.sleep(0.1)
    assert runs == []  # not at start: a fixture writing data at start is not raced
    await asyncio.sleep(0.5)
    await periodic.stop()
    assert 2 <= len(runs) <= 3
    stopped_at = len(runs)
    await asyncio.sleep(0.3)
    assert len(runs) == stopped_at


async def test_a_failed_run_is_tried_again(session_maker: SessionMaker) -> None:
    calls = 0

    async def flaky(session: AsyncSession, now: datetime) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database hiccup")
        return 0

    periodic = PeriodicJob(session_maker, "flaky", flaky, interval_seconds=0.05)
    periodic.start()
    for _ in range(100):
        if calls >= 2:
            break
        await asyncio.sleep(0.02)
    await periodic.stop()
    assert calls >= 2


async def test_stop_does_not_wait_for_the_interval(session_maker: SessionMaker) -> None:
    async def job(session: AsyncSession, now: datetime) -> int:
        return 0

    periodic = PeriodicJob(session_maker, "slow", job, interval_seconds=3600)
    periodic.start()
    await asyncio.wait_for(periodic.stop(), timeout=2)
    assert await run_once(session_maker, job) == 0

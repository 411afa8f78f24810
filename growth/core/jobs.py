"""Periodic jobs of the embedded profile (approving rewards past their hold, ...), run in-process.

A job is ``async def job(session, now) -> int`` in one transaction per run; it must be safe to run
twice at once (rows are claimed with row locks), since several processes may run it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.core.time import utc_now

log = structlog.get_logger()

Job = Callable[[AsyncSession, datetime], Awaitable[int]]


async def run_once(session_maker: SessionMaker, job: Job, *, now: datetime | None = None) -> int:
    """Run ``job`` in one transaction; returns what it reports (rows moved)."""
    async with session_maker() as session, session.begin():
        return await job(session, now or utc_now())


class PeriodicJob:
    """Runs a job every ``interval_seconds`` until stopped; a failed run is logged and tried next time."""

    def __init__(self, session_maker: SessionMaker, name: str, job: Job, interval_seconds: float) -> None:
        self._session_maker = session_maker
        self._name = name
        self._job = job
        self._interval = interval_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        # The first run comes one interval after start, not at start: what was due while the service
        # was down waits that long, and a process that starts next to one writing data (a test's
        # fixture, a migration's backfill) does not race it on the real clock.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._interval)
            if self._stop.is_set():
                return
            try:
                await run_once(self._session_maker, self._job)
            except Exception:  # the loop must survive a database hiccup
                log.exception("growth.jobs.failed", job=self._name)

    def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=f"job-{self._name}")

    async def stop(self) -> None:
        """Let the current run finish (never cancel mid-transaction), then stop."""
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None

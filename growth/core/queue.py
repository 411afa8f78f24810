"""The production profile's job queue: SAQ on Redis, shared by every web and worker process.

Web processes only enqueue (the outbox kick after a commit, a payout run's execution); ``growth worker``
processes run the jobs. A job is done once because two layers agree:

- SAQ drops an enqueue whose job key is already queued or running (a kick per 100 ms window, one
  execution per payout run, one cron run per tick), and
- each job claims its rows in the database (``FOR UPDATE SKIP LOCKED``, unique constraints), so a
  second copy that slips through (a key re-used after the first finished, a worker's retry) finds
  nothing left to do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import structlog
from saq import Queue

log = structlog.get_logger()

OUTBOX_DRAIN = "outbox.drain"
PAYOUT_RUN_EXECUTE = "payouts.execute_run"
KICK_WINDOW_SECONDS = 0.1
"""Kicks within one window share a job key: a burst of commits becomes one drain."""


def make_queue(redis_url: str, name: str) -> Queue:
    """The deployment's queue (``saq:<name>:*`` keys in Redis); not yet connected."""
    # SAQ logs every enqueue and job at INFO through its own handler: a line per commit. Job runs and
    # failures are in the metrics (and failures in our own logs), so only its warnings are kept.
    logging.getLogger("saq").setLevel(logging.WARNING)
    return Queue.from_url(redis_url, name=name)


def kick_key(now: float) -> str:
    """The outbox drain's job key for the kick window ``now`` falls in."""
    return f"{OUTBOX_DRAIN}:{int(now / KICK_WINDOW_SECONDS)}"


def cron_for(interval_seconds: float) -> str:
    """A cron expression (croniter, seconds as the sixth field) that fires about every ``interval_seconds``.

    Below a minute the step is whole seconds; from a minute on, whole minutes (a 90 s setting runs
    every minute, 150 s every two). Never more often than once a second.
    """
    seconds = max(1, round(interval_seconds))
    if seconds < 60:
        return f"* * * * * */{seconds}"
    minutes = min(seconds // 60, 59)
    return f"*/{minutes} * * * *"


class JobQueue:
    """What a web process needs of the queue: enqueue, kick the outbox drain, and be checked."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._pending: set[asyncio.Task[Any]] = set()

    async def connect(self) -> None:
        await self.queue.connect()

    async def settle(self) -> None:
        """Wait for the kicks still in flight."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def disconnect(self) -> None:
        """Send the kicks still in flight, then close the connections."""
        await self.settle()
        try:
            await self.queue.disconnect()
        except Exception as exc:  # Redis already gone: nothing left to close cleanly
            log.warning("queue.disconnect_failed", error=repr(exc))

    async def defer(self, function: str, *, key: str, time_limit: int = 600, **kwargs: Any) -> bool:
        """Enqueue ``function(**kwargs)`` under ``key``; False when a job with that key is already waiting
        or running (it will do the work)."""
        job = await self.queue.enqueue(function, key=key, timeout=time_limit, retries=1, **kwargs)
        return job is not None

    def kick_outbox(self) -> None:
        """Ask a worker to drain the outbox (called after a commit that published events)."""
        try:
            task = asyncio.get_running_loop().create_task(self._kick())
        except RuntimeError:  # a commit outside any event loop (never in the app): the sweep finds it
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _kick(self) -> None:
        try:
            await self.defer(OUTBOX_DRAIN, key=kick_key(time.time()), time_limit=300)
        except Exception as exc:  # Redis away: the workers' sweep picks the events up later
            log.warning("queue.kick_failed", error=repr(exc))

    async def is_up(self) -> bool:
        """True when Redis answers."""
        try:
            await asyncio.wait_for(self.queue.redis.ping(), timeout=2)  # type: ignore[attr-defined]
        except Exception:
            return False
        return True

    async def depth(self) -> int:
        """Jobs waiting to run (not those scheduled for later)."""
        return int(await self.queue.count("queued"))

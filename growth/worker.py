"""``growth worker``: a process that runs the production profile's jobs from the Redis queue.

A composition root like ``growth/app.py``: it wires the same subscriptions and periodic jobs, which the
web processes then no longer run. Jobs:

- ``outbox.drain``: handle every due outbox event (enqueued by a web process after each commit that
  published events), and ``outbox.sweep``, the same on a timer for events no kick announced;
- the periodic jobs of :func:`growth.app.periodic_jobs`, as SAQ cron jobs (one run per tick across all
  workers: the cron job's key is unique while it waits or runs);
- ``payouts.execute_run``: a payout run's transfers, started by ``POST /api/payout-runs/{id}/execute``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import structlog
from saq import CronJob, Worker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.app import build_subscriptions, periodic_jobs
from growth.core.db import make_db_config, make_engine
from growth.core.events.service import NOTIFIER_KEY, Subscriptions, dispatch_pending
from growth.core.events.worker import Notifier
from growth.core.jobs import Job, run_once
from growth.core.logging import configure_logging
from growth.core.metrics import count_job
from growth.core.queue import OUTBOX_DRAIN, PAYOUT_RUN_EXECUTE, JobQueue, cron_for, make_queue
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
from payouts.provider import service as provider_service

log = structlog.get_logger()

LOCK_SECONDS = 300
"""The longest a drain waits for the Redis lock (non-PostgreSQL databases)."""
LEASE_SECONDS = 5
"""How long the Redis lock outlives a holder that stopped renewing it (a killed worker)."""
SHUTDOWN_GRACE_SECONDS = 60.0
"""How long a stopping worker lets its running jobs finish before cancelling them (they are retried)."""

Context = dict[str, Any]


def _named(name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``fn`` registered under the dotted job ``name``, counted in the job metrics."""

    async def job(ctx: Context, **kwargs: Any) -> Any:
        try:
            result = await fn(ctx, **kwargs)
        except Exception:
            count_job(name, failed=True)
            log.exception("growth.jobs.failed", job=name)
            raise
        count_job(name, failed=False)
        return result

    # SAQ names a function by its __qualname__, cron jobs included.
    job.__qualname__ = job.__name__ = name
    return job


@asynccontextmanager
async def one_at_a_time(engine: AsyncEngine, job_queue: JobQueue, name: str) -> AsyncIterator[None]:
    """Hold a cluster-wide lock named ``name`` while the block runs, waiting for it if need be.

    PostgreSQL: a session advisory lock, released by the server if this process dies. Other
    databases: a Redis lock leased for ``LEASE_SECONDS`` and renewed while held, so that it expires
    soon after this process dies holding it; a waiter gives up after ``LOCK_SECONDS``.
    """
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"growth:{name}".encode()).digest()[:8], "big", signed=True)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    lock = job_queue.queue.redis.lock(  # type: ignore[attr-defined]
        f"saq:{job_queue.queue.name}:lock:{name}", timeout=LEASE_SECONDS, blocking_timeout=LOCK_SECONDS
    )
    async with lock:
        # A lease, renewed while the block runs: a worker killed holding it lets the next one in
        # within LEASE_SECONDS, while a long drain keeps it.
        renewing = asyncio.create_task(_renew(lock))
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing


async def _renew(lock: Any) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        await lock.reacquire()


class GrowthWorker(Worker):  # type: ignore[type-arg]
    """A SAQ worker that, asked to stop, takes no new job and lets the running ones finish first."""

    async def stop(self) -> None:
        self.event.set()  # no new dequeue loops from here on
        running = [context["task"] for context in self.job_task_contexts.values()]
        if running:
            await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)
        # What is left are idle dequeues and upkeep timers: cancelled at once.
        await super().stop()


def build_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    subscriptions: Subscriptions | None = None,
) -> GrowthWorker:
    """A worker for ``settings.redis_url``'s queue, with every job of the production profile."""
    if not settings.redis_url:
        raise ValueError("growth worker needs GROWTH_REDIS_URL (the embedded profile runs jobs in-process)")
    subscriptions = subscriptions or build_subscriptions(settings=settings)
    queue = make_queue(settings.redis_url, settings.queue_name)
    job_queue = JobQueue(queue)

    async def startup(ctx: Context) -> None:
        notifier = Notifier()
        # Events a handler publishes are announced like a web process's: another drain is enqueued.
        notifier.forward_to(job_queue.kick_outbox)
        engine = make_engine(settings.database_url)
        ctx["engine"] = engine
        ctx["session_maker"] = make_db_config(engine, info={NOTIFIER_KEY: notifier}).create_session_maker()

    async def shutdown(ctx: Context) -> None:
        await job_queue.settle()
        if (engine := ctx.get("engine")) is not None:
            await engine.dispose()

    async def drain(ctx: Context) -> int:
        # One drain at a time across all workers: events are handled in the order they were published
        # (an order's "closed" after its "attributed"), as the embedded worker does. A kick that finds
        # the lock taken waits for it rather than leaving its event to the sweep.
        async with one_at_a_time(ctx["engine"], job_queue, "outbox"):
            handled = 0
            while moved := await dispatch_pending(ctx["session_maker"], subscriptions):
                handled += moved
            return handled

    async def execute_run(ctx: Context, *, run_id: str) -> str:
        summary = await payout_run_service.execute_run(
            ctx["session_maker"],
            UUID(run_id),
            providers=provider_service.providers(settings),
            now=utc_now(),
            tiers=partner_service.tier_policy(settings),
        )
        return summary.status.value

    def periodic(job: Job) -> Callable[[Context], Awaitable[int]]:
        async def run(ctx: Context) -> int:
            return await run_once(ctx["session_maker"], job)

        return run

    outbox_sweep = _named("outbox.sweep", drain)
    cron_jobs = [CronJob(outbox_sweep, cron=cron_for(settings.outbox_sweep_seconds), timeout=300)]
    for name, job, interval in periodic_jobs(settings):
        cron_jobs.append(CronJob(_named(name, periodic(job)), cron=cron_for(interval), timeout=600))
    return GrowthWorker(
        queue,
        functions=[_named(OUTBOX_DRAIN, drain), _named(PAYOUT_RUN_EXECUTE, execute_run)],
        cron_jobs=cron_jobs,
        concurrency=concurrency or settings.worker_concurrency,
        startup=startup,
        shutdown=shutdown,
        # The sweep re-queues a job whose worker died (its heartbeat stopped) after this many seconds.
        timers={"sweep": 30, "worker_info": 10},
    )


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run a worker until SIGTERM or SIGINT; a running job finishes first."""
    configure_logging(settings.log_level, json=settings.log_json)
    worker = build_worker(settings, concurrency=concurrency)
    await worker.queue.connect()
    log.info("growth.worker.started", queue=settings.queue_name, concurrency=worker.concurrency)
    try:
        await worker.start()
    finally:
        await worker.queue.disconnect()
        log.info("growth.worker.stopped", queue=settings.queue_name)

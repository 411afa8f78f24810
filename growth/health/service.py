"""Liveness, readiness and the figures ``/metrics`` reads from the shared stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import alembic_config
from growth.core.events import service as events_service
from growth.core.metrics import Snapshot
from growth.core.queue import JobQueue


async def database_is_up(session: AsyncSession) -> bool:
    """True when the database answers a trivial query."""
    try:
        await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The newest migration(s) of this code's ``migrations/`` (read from the files once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def applied_migrations(session: AsyncSession) -> frozenset[str]:
    """The revisions the database says it is at (empty when it has never been migrated)."""
    try:
        rows = await session.scalars(text("SELECT version_num FROM alembic_version"))
        return frozenset(rows)
    except Exception:
        return frozenset()


@dataclass(frozen=True)
class Readiness:
    """Each check: ``ok``, or what is wrong; ``redis`` is ``not_configured`` in the embedded profile."""

    database: str
    migrations: str
    redis: str

    @property
    def is_ready(self) -> bool:
        checks = (self.database, self.migrations, self.redis)
        return all(check in ("ok", "not_configured") for check in checks)


async def readiness(session: AsyncSession, job_queue: JobQueue | None) -> Readiness:
    """Can this process serve: database reachable, schema at the newest migration, Redis reachable."""
    database = "ok" if await database_is_up(session) else "unreachable"
    if database != "ok":
        await session.rollback()  # leave the session usable for nothing more; the checks below need none
        migrations = "unknown"
    else:
        applied, heads = await applied_migrations(session), migration_heads()
        migrations = "ok" if applied == heads else ("not_migrated" if not applied else "behind_or_ahead")
    if job_queue is None:
        redis = "not_configured"
    else:
        redis = "ok" if await job_queue.is_up() else "unreachable"
    return Readiness(database, migrations, redis)


async def snapshot(session: AsyncSession, job_queue: JobQueue | None, *, now: datetime) -> Snapshot:
    """The outbox backlog and the job queue's depth, for a scrape."""
    pending, lag = await events_service.backlog(session, now=now)
    depth = None
    if job_queue is not None:
        try:
            depth = await job_queue.depth()
        except Exception:  # Redis away: /ready says so; the scrape still reports the rest
            depth = None
    return Snapshot(outbox_pending=pending, outbox_lag_seconds=lag, job_queue_depth=depth)

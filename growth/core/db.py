"""Database kernel: the declarative base, engines, session makers and the Alembic entry points."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

Base = UUIDv7AuditBase
"""Base of every model: UUIDv7 primary key, ``created_at``/``updated_at`` in UTC."""
metadata = orm_registry.metadata
"""One metadata with advanced-alchemy's constraint naming convention."""

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, foreign_keys: bool = True) -> None:
    # SQLite ignores foreign keys unless told; WAL lets the click writer and readers overlap.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # FULL: a committed transaction survives a power loss (WAL with NORMAL may lose the last commits);
    # the order intake groups its commits (growth.order.tasks) so the fsync is paid once per group.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
    # SQL functions PostgreSQL has built in (casts to uuid), for set-based INSERT ... SELECT.
    dbapi_connection.create_function("uuid_bytes", 1, _uuid_bytes, deterministic=True)
    dbapi_connection.create_function("uuid_from_ints", 2, _uuid_from_ints, deterministic=True)
    # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINT works (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _uuid_bytes(text: object) -> bytes | None:
    """SQLite ``uuid_bytes(text)``: a UUID in text (read as ``uuid.UUID`` does) as bytes, else NULL."""
    if not isinstance(text, str):
        return None
    try:
        return uuid.UUID(text).bytes
    except ValueError:
        return None


def _uuid_from_ints(high: int, low: int) -> bytes:
    """SQLite ``uuid_from_ints(high, low)``: the UUID of two 64-bit halves (two's complement) as 16 bytes."""
    mask = (1 << 64) - 1
    return ((high & mask) << 64 | (low & mask)).to_bytes(16, "big")


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    # writes can fail at once with SQLITE_BUSY when another writer got in between.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


SQLITE_HANDOFF_SECONDS = 0.15
"""Longer than the longest sleep of SQLite's busy handler (100 ms): a writer waiting for the lock
wakes up, finds it free and takes it."""


async def hand_over_write_lock(session: AsyncSession) -> None:
    """After a commit in a long job, give SQLite's write lock to whoever waits for it.

    A job that begins its next transaction at once takes the lock back before a waiting writer
    (the web app, another job) wakes up; those wait past their busy timeout ("database is locked").
    PostgreSQL locks rows, not the database: nothing to do.
    """
    if session.get_bind().dialect.name == "sqlite":
        await asyncio.sleep(SQLITE_HANDOFF_SECONDS)


def engine_options(url: str) -> dict[str, Any]:
    """Options for ``create_async_engine`` suited to the database behind ``url``."""
    if url.startswith("sqlite"):
        # One connection, handed out in turn: SQLite has one writer anyway, and queueing in the
        # pool is fair and immediate where SQLite's busy handler sleeps and retries.
        return {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def make_engine(url: str, *, foreign_keys: bool = True, **overrides: Any) -> AsyncEngine:
    """An async engine; SQLite connections get foreign keys, WAL and a busy timeout.

    Migrations turn SQLite's foreign keys off: its ALTER TABLE copies and drops tables.
    """
    engine = create_async_engine(url, **{**engine_options(url), **overrides})
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, foreign_keys=foreign_keys))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def make_db_config(engine: AsyncEngine, info: dict[str, Any] | None = None) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy config shared by requests, workers and the CLI.

    Requests commit on 2xx and 3xx (a form post answers with a redirect: post/redirect/get) and
    roll back otherwise; services never commit.
    Sessions keep loaded attributes after commit because responses are built after it.
    """
    # advanced-alchemy makes clashing state keys unique by recursing once per earlier config with the
    # same key: a process that builds many apps (the test suite) would hit the recursion limit.
    n = next(_CONFIG_NUMBERS)
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        before_send_handler="autocommit_include_redirects",
        session_config=AsyncSessionConfig(expire_on_commit=False, info=info or {}),
        session_scope_key=f"_sqlalchemy_db_session_{n}",
        engine_app_state_key=f"db_engine_{n}",
        session_maker_app_state_key=f"session_maker_class_{n}",
    )


_CONFIG_NUMBERS = itertools.count(1)


SessionMaker = Callable[[], AsyncSession]


def alembic_config(url: str) -> AlembicConfig:
    """Alembic configuration of this project, pointed at ``url``."""
    cfg = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade_head(url: str) -> None:
    """Create or upgrade the schema to the newest migration (the only way the schema changes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def check_models_match(url: str) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(url))

"""Test fixtures: a real database per xdist worker, built by ``alembic upgrade head``.

SQLite by default; PostgreSQL when ``GROWTH_TEST_DATABASE_URL`` points at a server (a fresh
database is created per worker and dropped at the end). The app under test commits for real
(its click writer and outbox worker use their own transactions), so every table is emptied
after each test instead of rolling back an outer transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import PROJECT_ROOT, SessionMaker, make_db_config, make_engine, metadata, upgrade_head
from growth.settings import Settings, test_database_url

hypothesis.settings.register_profile("nightly", max_examples=1_000, deadline=None)
"""``pytest --hypothesis-profile=nightly``: ten times the default examples of every property test; the
ledger state machine (tests/payouts/test_money_properties.py) runs its nightly figures."""

SECRET = "test-secret-not-for-production"
BASE_URL = "https://growth.test"
SCREENSHOTS = Path(
    os.environ.get("GROWTH_SCREENSHOTS_DIR") or PROJECT_ROOT / "test-artifacts" / "screenshots"
)
"""Where the browser tests leave a picture of each page they check (README "Tests"; CI keeps the folder)."""


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def pg_admin(server_url: str, statement: str) -> None:
    """Run one statement on the server outside a transaction (CREATE/DROP DATABASE)."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this worker."""
    server = test_database_url()
    if server is None:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / f'growth-{_worker()}.db'}"
        upgrade_head(url)
        yield url
        return
    name = f"growth_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_head(url)
        yield url
    finally:
        asyncio.run(pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL (set GROWTH_TEST_DATABASE_URL): SQLite serialises writers, so no race")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test database, emptied after the test."""
    engine = make_engine(database_url)
    yield engine
    await empty_all_tables(engine)
    await engine.dispose()


@contextlib.asynccontextmanager
async def triggers_bypassed(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction in which no trigger fires: how tests empty (or tamper with) the append-only audit log.

    PostgreSQL: ``session_replication_role = replica`` skips ordinary triggers for this transaction
    only (a superuser's or a role granted that setting's right; the application never does it).
    SQLite cannot switch a trigger off: they are dropped and, before commit, created again from
    their own definitions, in the same transaction.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            yield connection
            return
        triggers = list(
            await connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        )
        for name, _ in triggers:
            await connection.execute(text(f'DROP TRIGGER "{name}"'))
        yield connection
        for _, sql in triggers:
            await connection.exec_driver_sql(sql)


async def empty_all_tables(engine: AsyncEngine) -> None:
    async with triggers_bypassed(engine) as connection:
        tables = [t.name for t in reversed(metadata.sorted_tables)]
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def session_maker(engine: AsyncEngine) -> SessionMaker:
    return make_db_config(engine).create_session_maker()


@pytest.fixture
async def session(session_maker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A session for service tests; the test commits when the code under test would be committed."""
    async with session_maker() as session:
        yield session


@pytest.fixture
def settings(database_url: str, engine: AsyncEngine) -> Settings:
    # Depends on ``engine`` so the tables are emptied after the app has stopped.
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        base_url=BASE_URL,
        outbox_poll_seconds=0.05,
        log_level="WARNING",
        # The approval jobs run at start, then hourly: tests approve at the instants they name, and a
        # run in between on the real clock would approve first.
        reward_job_interval_seconds=3600,
        # Credit tiers add no hold and no cap unless a test names them (tests/payouts/partner/test_tiers.py).
        partner_tier_hold_days="",
        partner_tier_caps="",
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    from growth.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        yield client


async def in_app_loop(client: AsyncTestClient[Litestar], fn: Any) -> Any:
    """Await ``fn()`` on the event loop the app runs on (the test client serves it from another thread)."""
    return await asyncio.to_thread(client.blocking_portal.call, fn)


async def flush_clicks(client: AsyncTestClient[Litestar]) -> None:
    """Wait until the app's click writer has written every queued click."""
    await in_app_loop(client, client.app.state.clicks.flush)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_admin_key(url: str) -> str:
    """A committed admin key in the database at ``url`` (for tests that talk to a live server)."""
    engine = make_engine(url)
    try:
        async with make_db_config(engine).create_session_maker()() as session, session.begin():
            return (await auth_service.create_key(session, name="live", role=Role.admin)).secret
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    engine = make_engine(url)
    try:
        await empty_all_tables(engine)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app with ``settings`` served by uvicorn on a free loopback port; its base URL is yielded.
    ``settings.base_url`` is replaced by the server's own address."""
    from growth.app import create_app

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings.with_overrides(base_url=base)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        asyncio.run(_empty(settings.database_url))


@pytest.fixture
def live_server(database_url: str) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, demo shop included."""
    settings = Settings(database_url=database_url, secret_key=SECRET, demo=True, log_level="WARNING")
    with serve(settings) as base:
        yield base


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``page.screenshot(path=screenshot("share-zh.png"))``: the path of a page's picture, named after the
    test, in ``SCREENSHOTS/<engine>/`` (the SQLite and PostgreSQL runs each keep theirs)."""
    engine = "postgresql" if os.environ.get("GROWTH_TEST_DATABASE_URL") else "sqlite"
    folder = SCREENSHOTS / engine
    folder.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    return lambda name: str(folder / f"{test}--{name}")

"""``growth orders import`` on the SQLite file the web app also writes to.

SQLite has one write lock for the whole database. An import holding it for a batch of 500 orders
(seconds), then taking it back the moment it committed, left other writers waiting past their 10 s
busy timeout ("database is locked"). A batch now also ends after ``--max-transaction-seconds`` and
the import waits for SQLite's busy handler to hand the lock over before it goes on.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.core.db import make_db_config
from growth.customer import service as customer_service
from growth.order.models import Order
from tests.conftest import SECRET

ORDERS = 1_000
"""Enough for two default batches of 500, each of them seconds of one transaction."""
LONGEST_WAIT = 3.0
"""Seconds a web write may wait for the lock: the import's transactions last at most about one."""
HEADER = "external_id,customer_external_id,amount,currency,placed_at"


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    return database_url


async def test_the_web_app_writes_while_an_import_runs(
    sqlite_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    rows = (f"share-{n:05d},buyer-{n},{1_000 + n},CNY,2026-11-20T10:00:00Z" for n in range(ORDERS))
    path.write_text("\n".join((HEADER, *rows)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")} | {
        "GROWTH_DATABASE_URL": sqlite_url,
        "GROWTH_SECRET_KEY": SECRET,
        "GROWTH_LOG_LEVEL": "WARNING",
    }
    session_maker = make_db_config(engine).create_session_maker()

    async def imported() -> int:
        async with session_maker() as session:
            return (await session.execute(select(func.count()).select_from(Order))).scalar_one()

    importer = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", "from growth.cli import main; main()", "orders", "import", str(path)),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        while await imported() == 0:  # the import has begun committing
            assert importer.returncode is None, await importer.communicate()
            await asyncio.sleep(0.05)
        # A web request's write, over and over while the import runs: a customer signs up.
        waits = []
        while importer.returncode is None:
            started = time.monotonic()
            async with session_maker() as session:
                await customer_service.upsert_customer(
                    session, external_id=f"web-{len(waits)}", email=f"web{len(waits)}@example.com", name=None
                )
                await session.commit()
            waits.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
        stdout, stderr = await importer.communicate()
    finally:
        if importer.returncode is None:
            importer.kill()
            await importer.wait()

    assert importer.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == f"created {ORDERS}, duplicate 0, refused 0"
    assert await imported() == ORDERS
    assert len(waits) >= 5, f"only {len(waits)} writes overlapped the import"
    assert max(waits) < LONGEST_WAIT, f"a write waited {max(waits):.1f} s for the import's lock"

"""Baseline for the order intake benchmark: the least an order API can do durably.

A bare Litestar app whose ``POST /orders`` inserts the order's JSON into one table and commits, one
transaction per request, answered after the commit. Same engine settings as the real app
(``growth.core.db.make_engine``: on SQLite its pool, WAL and ``synchronous`` pragma; on PostgreSQL
``synchronous_commit`` as the server has it). ``benchmarks.orders`` runs it side by side with the real
app; it is not part of the service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, post
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.core.db import make_engine

TABLE = "baseline_orders"


async def create_table(engine: AsyncEngine) -> None:
    """The baseline's one table (in the benchmark's database, beside the real schema)."""
    async with engine.begin() as connection:
        await connection.execute(
            text(f"CREATE TABLE IF NOT EXISTS {TABLE} (id VARCHAR(36) PRIMARY KEY, body TEXT NOT NULL)")
        )


def create_baseline_app(url: str) -> Litestar:
    """``POST /orders``: one INSERT and one COMMIT per order, answered 201 after the commit."""
    engine = make_engine(url)
    insert = text(f"INSERT INTO {TABLE} (id, body) VALUES (:id, :body)")

    @post("/orders")
    async def create_order(request: Request[Any, Any, Any]) -> dict[str, str]:
        body = await request.json()
        order_id = str(uuid.uuid4())
        async with engine.begin() as connection:
            await connection.execute(insert, {"id": order_id, "body": json.dumps(body)})
        return {"id": order_id, "external_id": str(body.get("external_id"))}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await create_table(engine)
        try:
            yield
        finally:
            await engine.dispose()

    return Litestar(route_handlers=[create_order], lifespan=[lifespan])

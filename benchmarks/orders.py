"""Benchmark: orders ingested per second with attribution, one by one (JSON API) and by CSV import.

Runs the real app under uvicorn on a free loopback port against a fresh database (SQLite by
default, or a new database on the PostgreSQL server given with --postgres), seeds a campaign with
referrers, codes and clicks, then reports throughput and latency. A benchmark, not a test:

    .venv/bin/python -m benchmarks.orders [--orders 2000] [--concurrency 8] [--csv-rows 20000]
    .venv/bin/python -m benchmarks.orders --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine, upgrade_head
from growth.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _admin(server: str, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def _key(url: str) -> str:
    engine = make_engine(url)
    async with make_db_config(engine).create_session_maker()() as session, session.begin():
        secret = (await auth_service.create_key(session, name="bench", role=Role.admin)).secret
    await engine.dispose()
    return secret


async def _seed(api: httpx.AsyncClient, base: str, referrers: int) -> tuple[list[str], list[str]]:
    campaign = (
        await api.post(
            "/api/campaigns",
            json={
                "name": "Bench",
                "landing_url": "https://shop.example/",
                "status": "active",
                "currency": "CNY",
            },
        )
    ).json()
    codes, clicks = [], []
    for i in range(referrers):
        await api.put(f"/api/customers/ref-{i}", json={"email": f"ref{i}@example.com"})
        code = (
            await api.post(
                "/api/referral-codes",
                json={"campaign_id": campaign["id"], "customer_external_id": f"ref-{i}"},
            )
        ).json()["code"]
        codes.append(code)
        redirect = await api.get(f"{base}/r/{code}", follow_redirects=False)
        clicks.append(redirect.cookies["growth_ref"])
    await asyncio.sleep(1.5)  # let the click writer flush
    return codes, clicks


def _order(n: int, codes: list[str], clicks: list[str], rng: random.Random) -> dict[str, object]:
    body: dict[str, object] = {
        "external_id": f"bench-{n}",
        "customer": {"external_id": f"buyer-{n}", "email": f"buyer{n}@example.com"},
        "amount": rng.randint(1_000, 500_000),
        "currency": "CNY",
        "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lines": [{"sku": f"SKU-{n % 50}", "quantity": 1 + n % 3, "unit_amount": 1000}],
    }
    kind = n % 3
    if kind == 0:
        body["referral_code"] = rng.choice(codes)
    elif kind == 1:
        body["click_ids"] = [rng.choice(clicks)]
    return body


async def _single(
    api: httpx.AsyncClient, orders: int, concurrency: int, codes: list[str], clicks: list[str]
) -> tuple[float, list[float]]:
    rng = random.Random(7)
    bodies = [_order(n, codes, clicks, rng) for n in range(orders)]
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            response = await api.post("/api/orders", json=body)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return time.perf_counter() - started, latencies


def _csv(rows: int, codes: list[str], clicks: list[str]) -> bytes:
    rng = random.Random(11)
    out = io.StringIO()
    out.write(
        "external_id,customer_external_id,customer_email,amount,currency,placed_at,referral_code,click_id\n"
    )
    placed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for n in range(rows):
        code = rng.choice(codes) if n % 3 == 0 else ""
        click = rng.choice(clicks) if n % 3 == 1 else ""
        amount = rng.randint(1_000, 500_000)
        out.write(f"csv-{n},csvbuyer-{n},csvbuyer{n}@example.com,{amount},CNY,{placed},{code},{click}\n")
    return out.getvalue().encode()


async def run(url: str, orders: int, concurrency: int, csv_rows: int, referrers: int) -> None:
    from growth.app import create_app

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=url, secret_key="bench", base_url=base, log_level="WARNING")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    key = await _key(url)
    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600, limits=limits
    ) as api:
        codes, clicks = await _seed(api, base, referrers)
        seconds, latencies = await _single(api, orders, concurrency, codes, clicks)
        ms = sorted(latency * 1000 for latency in latencies)
        p95, p99 = ms[int(len(ms) * 0.95)], ms[int(len(ms) * 0.99)]
        print(
            f"  JSON API, {orders} orders, {concurrency} concurrent clients: {orders / seconds:,.0f} orders/s"
            f" (p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms)"
        )
        if csv_rows:
            body = _csv(csv_rows, codes, clicks)
            started = time.perf_counter()
            response = await api.post(
                "/api/orders/import", content=body, headers={"Content-Type": "text/csv"}
            )
            seconds = time.perf_counter() - started
            if response.status_code == 404:
                print("  CSV import: endpoint not available")
            else:
                counts = response.json().get("counts", {})
                print(
                    f"  CSV import, {csv_rows} rows ({len(body) / 1e6:.1f} MB) in one request: "
                    f"{csv_rows / seconds:,.0f} orders/s ({seconds:.1f} s; {counts})"
                )
    server.should_exit = True
    thread.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--csv-rows", type=int, default=20000)
    parser.add_argument("--referrers", type=int, default=50)
    parser.add_argument("--postgres", help="PostgreSQL server URL; a fresh database is created and dropped")
    args = parser.parse_args()
    if args.postgres:
        name = f"growth_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    else:
        folder = tempfile.mkdtemp(prefix="growth-bench-")
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
    try:
        upgrade_head(url)
        print(f"orders benchmark on {make_url(url).get_backend_name()}")
        asyncio.run(run(url, args.orders, args.concurrency, args.csv_rows, args.referrers))
    finally:
        if args.postgres:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

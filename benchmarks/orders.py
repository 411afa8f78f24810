"""Benchmark: order intake with attribution and risk scoring, against baselines from the same run.

One run, on a fresh database (SQLite by default, or a new database on the PostgreSQL server given with
--postgres, dropped afterwards), side by side:

1. ``POST /api/orders`` of the real app (attribution, risk scoring, outbox; grouped commits, each order
   in its own savepoint, answered after its group's COMMIT) against ``benchmarks.baseline_orders`` (one
   INSERT + COMMIT per order), at 16 and 64 concurrent clients: orders/s, p50, p99. Targets: at least
   3x the baseline's orders/s; p99 under 50 ms at 16 clients.
2. CSV import (``POST /api/orders/import``, the real per-order intake) against a plain bulk INSERT of
   the same rows into a bare table (executemany on SQLite, COPY on PostgreSQL). Target: at least 50%
   of the bulk rate.

Each app runs in its own process under uvicorn (one worker), pinned to CPU 0 when the machine has two
or more; the load generator (httpx, in this process) is pinned to CPU 1. A benchmark, not a test:

    .venv/bin/python -m benchmarks.orders [--orders 2000] [--concurrency 16,64] [--csv-rows 100000]
    .venv/bin/python -m benchmarks.orders --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine, upgrade_head
from growth.settings import Settings

TARGET_RATIO = 3.0
TARGET_P99_MS = 50.0
TARGET_CSV_SHARE = 0.5


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


@dataclass(frozen=True)
class Load:
    orders: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.orders / self.seconds

    def pct(self, q: float) -> float:
        ms = sorted(self.latencies_ms)
        return ms[min(len(ms) - 1, int(len(ms) * q))]

    def line(self) -> str:
        return (
            f"{self.rate:8,.0f} orders/s  p50 {statistics.median(self.latencies_ms):6.1f} ms"
            f"  p99 {self.pct(0.99):6.1f} ms"
        )


async def _post_all(
    api: httpx.AsyncClient, path: str, bodies: list[dict[str, object]], concurrency: int
) -> Load:
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            response = await api.post(path, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return Load(len(bodies), time.perf_counter() - started, latencies)


def _csv(rows: int, codes: list[str], clicks: list[str], prefix: str) -> bytes:
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
        out.write(
            f"{prefix}-{n},{prefix}buyer-{n},{prefix}buyer{n}@example.com,{amount},CNY,{placed},{code},{click}\n"
        )
    return out.getvalue().encode()


async def _bulk_insert(url: str, body: bytes) -> float:
    """Seconds to parse the CSV and bulk-INSERT its rows into a bare table, in one transaction."""
    engine = make_engine(url)
    columns = (
        "external_id, customer_external_id, customer_email, amount, currency, placed_at, "
        "referral_code, click_id"
    )
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS baseline_import"))
        await connection.execute(
            text(
                "CREATE TABLE baseline_import (external_id VARCHAR(64) PRIMARY KEY, customer_external_id "
                "VARCHAR(64), customer_email VARCHAR(255), amount BIGINT, currency VARCHAR(3), placed_at "
                "VARCHAR(32), referral_code VARCHAR(64), click_id VARCHAR(64))"
            )
        )
    started = time.perf_counter()
    reader = csv.reader(io.StringIO(body.decode()))
    next(reader)
    rows = [(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6] or None, r[7] or None) for r in reader]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            raw = await connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "baseline_import", records=rows, columns=[c.strip() for c in columns.split(",")]
            )
        else:
            names = ", ".join(f":c{i}" for i in range(8))
            await connection.execute(
                text(f"INSERT INTO baseline_import ({columns}) VALUES ({names})"),
                [{f"c{i}": v for i, v in enumerate(row)} for row in rows],
            )
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds


def real_app() -> Litestar:
    """The service as deployed (``uvicorn --factory benchmarks.orders:real_app``), from the environment."""
    from growth.app import create_app

    return create_app(
        Settings(
            database_url=os.environ["BENCH_DATABASE_URL"],
            secret_key="bench",
            base_url=os.environ["BENCH_BASE_URL"],
            log_level="WARNING",
        )
    )


def baseline_app() -> Litestar:
    """``benchmarks.baseline_orders`` on the same database (``uvicorn --factory``)."""
    from benchmarks.baseline_orders import create_baseline_app

    return create_baseline_app(os.environ["BENCH_DATABASE_URL"])


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})


async def _serve(factory: str, url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_BASE_URL": base}
    command = [sys.executable, "-m", "uvicorn", "--factory", f"benchmarks.orders:{factory}"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env, preexec_fn=lambda: _pin(0))  # noqa: ASYNC220
    async with httpx.AsyncClient() as probe:
        for _ in range(600):
            try:
                await probe.get(f"{base}/health")
                return process, base
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{factory} did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server; one still draining the import's outbox events after a minute is killed (the
    figures are taken by then), and said so."""
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        print("    (the server was still handling the orders' events a minute after SIGTERM: killed)")
        process.kill()
        process.wait(timeout=10)


async def run(url: str, orders: int, concurrencies: list[int], csv_rows: int, referrers: int) -> None:
    _pin(1)
    real, real_base = await _serve("real_app", url)
    baseline, baseline_base = await _serve("baseline_app", url)
    key = await _key(url)
    limits = httpx.Limits(max_connections=max(concurrencies) + 2)
    try:
        async with (
            httpx.AsyncClient(
                base_url=real_base, headers={"Authorization": f"Bearer {key}"}, timeout=3600, limits=limits
            ) as api,
            httpx.AsyncClient(base_url=baseline_base, timeout=600, limits=limits) as bare,
        ):
            codes, clicks = await _seed(api, real_base, referrers)
            rng = random.Random(7)
            print(f"  order API, {orders} orders per run (real app vs one INSERT+COMMIT per order):")
            for concurrency in concurrencies:
                n0 = concurrency * 1_000_000
                bodies = [_order(n0 + n, codes, clicks, rng) for n in range(orders)]
                base_load = await _post_all(bare, "/orders", bodies, concurrency)
                real_load = await _post_all(api, "/api/orders", bodies, concurrency)
                ratio = real_load.rate / base_load.rate
                p99 = real_load.pct(0.99)
                p99_ok = "" if concurrency != 16 else f"; p99 target < {TARGET_P99_MS:.0f} ms: "
                p99_ok += "" if concurrency != 16 else ("met" if p99 < TARGET_P99_MS else "MISSED")
                print(f"    {concurrency:3d} clients  baseline {base_load.line()}")
                print(f"    {concurrency:3d} clients  real     {real_load.line()}")
                print(
                    f"    {concurrency:3d} clients  ratio {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x: "
                    f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}{p99_ok})"
                )
            if csv_rows:
                body = _csv(csv_rows, codes, clicks, "csv")
                bulk_seconds = await _bulk_insert(url, body)
                started = time.perf_counter()
                response = await api.post(
                    "/api/orders/import", content=body, headers={"Content-Type": "text/csv"}
                )
                seconds = time.perf_counter() - started
                assert response.status_code == 200, response.text[:500]
                counts = response.json().get("counts", {})
                real_rate, bulk_rate = csv_rows / seconds, csv_rows / bulk_seconds
                share = real_rate / bulk_rate
                print(f"  CSV import, {csv_rows} rows ({len(body) / 1e6:.1f} MB):")
                print(f"    bulk INSERT {bulk_rate:10,.0f} rows/s ({bulk_seconds:.2f} s)")
                print(f"    real import {real_rate:10,.0f} orders/s ({seconds:.1f} s; {counts})")
                print(
                    f"    share {share:.1%} (target >= {TARGET_CSV_SHARE:.0%}: "
                    f"{'met' if share >= TARGET_CSV_SHARE else 'MISSED'})"
                )
    finally:
        _stop(baseline)
        _stop(real)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000, help="orders per run (per concurrency)")
    parser.add_argument("--concurrency", default="16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--csv-rows", type=int, default=100_000)
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
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    try:
        upgrade_head(url)
        print(f"orders benchmark on {make_url(url).get_backend_name()}")
        asyncio.run(run(url, args.orders, concurrencies, args.csv_rows, args.referrers))
    finally:
        if args.postgres:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

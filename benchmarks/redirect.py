"""Benchmark: the referral redirect ``/r/{code}`` with click recording, against a bare 302 app.

Seeds a fresh database (a SQLite file, or a new database on the PostgreSQL server given with
--postgres) with one running campaign and ``--codes`` referral codes, then serves the real app
(``growth.app:create_app``) and the baseline (``benchmarks.baseline_redirect:create_app``, a bare
Litestar app answering the same 302 with the same cookie) under granian with the same settings.
The servers run on core 1 and wrk on core 0 (``taskset``); wrk spreads its requests over every code.

Rounds alternate baseline and app at each connection count; the figure that counts is the median of
the per-round ratios. Then the app with 2 workers against the app with 1. After every app round it
counts the clicks in the database against the 302s wrk received (a click per answered redirect; up to
one per connection more, for answers wrk stopped reading at the end of its run), within the flush
interval plus a second; after the app servers' graceful stop (SIGTERM), the total stored against every
302 answered (no click lost). Before measuring, each server is warmed by walking every code in turn.

    python -m benchmarks.redirect [--rounds 3] [--duration 10] [--codes 10000]
    python -m benchmarks.redirect --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from campaigns.campaign import service as campaign_service
from growth.click.models import Click
from growth.core.db import make_db_config, make_engine, upgrade_head
from growth.customer.models import Customer
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import code_key, generate_code
from growth.settings import Settings

TARGET_RATIO = 0.70
FLOOR_RATIO = 0.60
TARGET_P99_RATIO = 2.0
TARGET_SCALING = 1.4
SERVER_CPUS = "1"
WRK_CPUS = "0"
WRK_TIMEOUT = "2s"

LUA = """
local codes = {}
local walk = false
local i = 0
init = function(args)
  for line in io.lines(args[1]) do codes[#codes + 1] = line end
  walk = args[2] == "walk"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
request = function()
  if walk then
    i = i + 1
    return wrk.format("GET", "/r/" .. codes[(i % #codes) + 1])
  end
  return wrk.format("GET", "/r/" .. codes[math.random(#codes)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Run:
    """One wrk run: throughput, latency (microseconds) and what went wrong."""

    requests: int
    seconds: float
    p50_us: int
    p99_us: int
    socket_errors: int
    non_3xx: int
    timeouts: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def answered(self) -> int:
        """Responses wrk read that were redirects (only 302 or an error status come back)."""
        return self.requests - self.non_3xx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cpus: str) -> list[str]:
    return ["taskset", "-c", cpus] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


async def _admin(server: str, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def _seed(url: str, codes: int) -> list[str]:
    """One running campaign and ``codes`` customers, each with a referral code; returns the codes."""
    engine = make_engine(url)
    session_maker = make_db_config(engine).create_session_maker()
    async with session_maker() as session, session.begin():
        campaign = await campaign_service.create_campaign(
            session,
            default_currency="USD",
            name="Redirect benchmark",
            landing_url="https://shop.example/landing?utm_source=ref",
            status="active",
        )
        campaign_id = campaign.id
    issued: list[str] = []
    for start in range(0, codes, 2_000):
        count = min(2_000, codes - start)
        customer_ids = [uuid.uuid4() for _ in range(count)]
        batch = [generate_code() for _ in range(count)]
        async with session_maker() as session, session.begin():
            await session.execute(
                insert(Customer),
                [{"id": cid, "external_id": f"bench-{start + i}"} for i, cid in enumerate(customer_ids)],
            )
            await session.execute(
                insert(ReferralCode),
                [
                    {"code": code, "code_key": code_key(code), "campaign_id": campaign_id, "customer_id": cid}
                    for code, cid in zip(batch, customer_ids, strict=True)
                ],
            )
        issued.extend(batch)
    await engine.dispose()
    return issued


async def _count_clicks(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Click)) or 0)
    finally:
        await engine.dispose()


class Server:
    """A granian process serving ``target`` on a free loopback port, pinned to the server core(s)."""

    def __init__(self, name: str, target: str, *, workers: int, env: dict[str, str], cpus: str) -> None:
        self.name = name
        self.port = _free_port()
        granian = Path(sys.executable).with_name("granian")
        command = [
            *_pin(cpus),
            str(granian) if granian.exists() else "granian",
            "--interface", "asgi",
            "--factory",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", str(workers),
            "--no-ws",
            "--log-level", "warning",
            "--no-access-log",
            target,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, env={**os.environ, **env}, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready(workers)

    def _wait_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.url}/health", timeout=1)
                time.sleep(1.0 * workers)  # every worker up, not just the first
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        """SIGTERM: a graceful stop, which flushes the app's buffered clicks."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wrk(
    url: str, script: Path, codes_file: Path, *, connections: int, duration: int, walk: bool = False
) -> Run:
    """One wrk run (a single thread on the wrk core), with its Lua summary parsed; ``walk``: every code
    in turn (warming caches) instead of random ones."""
    out = subprocess.run(
        [
            *_pin(WRK_CPUS),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            f"--timeout={WRK_TIMEOUT}",
            "-s",
            str(script),
            url,
            "--",
            str(codes_file),
            "walk" if walk else "random",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    requests, duration_us, connect, read, write, status, timeout, p50, p99, _max = map(int, line.split()[1:])
    return Run(requests, duration_us / 1e6, p50, p99, connect + read + write, status, timeout)


async def _clicks_settle(url: str, before: int, answered: int, interval_ms: int) -> tuple[int, float]:
    """Clicks written since ``before``, polled until they cover ``answered`` or flush interval + 1 s."""
    started = time.monotonic()
    deadline = started + interval_ms / 1000 + 1.0
    while True:
        stored = await _count_clicks(url) - before
        if stored >= answered or time.monotonic() >= deadline:
            return stored, time.monotonic() - started
        await asyncio.sleep(0.05)


def _ms(us: int) -> str:
    return f"{us / 1000:.1f}"


def _verdict(
    value: float, target: float, floor: float | None = None, *, lower_is_better: bool = False
) -> str:
    ok = value <= target if lower_is_better else value >= target
    if ok:
        return "met"
    if floor is not None and value >= floor:
        return "above floor, below target"
    return "MISSED"


@contextlib.contextmanager
def _database(postgres: str | None) -> Iterator[str]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            upgrade_head(url)
            yield url
        return
    name = f"growth_bench_redirect_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(postgres, f'CREATE DATABASE "{name}"'))
    url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_head(url)
        yield url
    finally:
        asyncio.run(_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="PostgreSQL server URL; a fresh database is created and dropped")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--codes", type=int, default=10_000)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--skip-scaling", action="store_true", help="leave out 2 workers vs 1")
    parser.add_argument("--warmup", type=int, default=5, help="seconds walking every code before measuring")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    interval_ms = Settings().click_flush_interval_ms

    with _database(args.postgres) as url, tempfile.TemporaryDirectory() as tmp:
        codes = asyncio.run(_seed(url, args.codes))
        codes_file, script = Path(tmp) / "codes.txt", Path(tmp) / "redirect.lua"
        codes_file.write_text("\n".join(codes) + "\n")
        script.write_text(LUA)
        env = {
            "GROWTH_DATABASE_URL": url,
            "GROWTH_SECRET_KEY": "benchmark-secret",
            "GROWTH_LOG_LEVEL": "WARNING",
            "GROWTH_SECRET_FILE": str(Path(tmp) / "secret"),
        }
        engine = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"# Redirect benchmark on {engine}: {args.codes} codes, {args.rounds} x {args.duration}s rounds"
        )
        print(f"# server cores {SERVER_CPUS} (granian, 1 worker unless said), wrk core {WRK_CPUS}")
        print(f"# {os.cpu_count()} cores; pinning {'on' if _pin('0') else 'OFF (taskset missing or 1 core)'}")

        def run(server: Server, c: int) -> Run:
            return wrk(server.url, script, codes_file, connections=c, duration=args.duration)

        # Every 302 the app answered, and how many more it may have answered unseen (one per connection).
        answered = {"302s": 0, "slack": 0}

        def warm(server: Server) -> None:
            result = wrk(server.url, script, codes_file, connections=16, duration=args.warmup, walk=True)
            if server.name != "baseline":
                answered["302s"] += result.answered
                answered["slack"] += 16
                time.sleep(interval_ms / 1000 + 0.5)  # its clicks stored before a round counts its own

        def checked(server: Server, c: int) -> tuple[Run, str]:
            before = asyncio.run(_count_clicks(url))
            result = run(server, c)
            stored, waited = asyncio.run(_clicks_settle(url, before, result.answered, interval_ms))
            extra = stored - result.answered
            ok = 0 <= extra <= c
            note = f"clicks {stored} / 302s {result.answered} ({extra:+d}) in {waited:.2f}s"
            answered["302s"] += result.answered
            answered["slack"] += c
            return result, note + ("" if ok else "  LATE" if extra < 0 else "  TOO MANY")

        base_target = "benchmarks.baseline_redirect:create_app"
        baseline = Server("baseline", base_target, workers=1, env={}, cpus=SERVER_CPUS)
        app = Server("app", "growth.app:create_app", workers=1, env=env, cpus=SERVER_CPUS)
        summary: list[str] = []
        try:
            for server in (baseline, app):  # warm up: caches, connections, the code paths
                warm(server)
            header = (
                f"{'conns':>5} {'round':>5} | {'base req/s':>10} {'p50':>6} {'p99':>6} {'err':>4} | "
                f"{'app req/s':>10} {'p50':>6} {'p99':>6} {'err':>4} | {'ratio':>5} {'p99x':>5} | clicks"
            )
            print(header)
            for c in connections:
                ratios, p99_ratios = [], []
                for r in range(1, args.rounds + 1):
                    b = run(baseline, c)
                    a, note = checked(app, c)
                    ratios.append(a.rps / b.rps)
                    p99_ratios.append(a.p99_us / max(b.p99_us, 1))
                    b_err = b.socket_errors + b.non_3xx + b.timeouts
                    a_err = a.socket_errors + a.non_3xx + a.timeouts
                    print(
                        f"{c:>5} {r:>5} | {b.rps:>10.0f} {_ms(b.p50_us):>6} {_ms(b.p99_us):>6} {b_err:>4} | "
                        f"{a.rps:>10.0f} {_ms(a.p50_us):>6} {_ms(a.p99_us):>6} {a_err:>4} | "
                        f"{ratios[-1]:>5.2f} {p99_ratios[-1]:>5.2f} | {note}",
                        flush=True,
                    )
                ratio, p99_ratio = statistics.median(ratios), statistics.median(p99_ratios)
                summary.append(
                    f"{c} connections: median req/s ratio {ratio:.2f}x (target >= {TARGET_RATIO}, floor "
                    f"{FLOOR_RATIO}): {_verdict(ratio, TARGET_RATIO, FLOOR_RATIO)}; median p99 ratio "
                    f"{p99_ratio:.2f}x (target <= {TARGET_P99_RATIO}): "
                    f"{_verdict(p99_ratio, TARGET_P99_RATIO, lower_is_better=True)}"
                )
        finally:
            baseline.stop()
            app.stop()

        if not args.skip_scaling:
            c = max(connections)
            print(f"\n# 2 workers vs 1, app only, {c} connections, both on core {SERVER_CPUS} "
                  "(with wrk pinned to the other core of 2, two workers share one core)")  # fmt: skip
            # One app server at a time (started, warmed, measured, stopped in turn): idle servers on the
            # same SQLite file would still take its write lock for their periodic jobs.
            setups = [
                ("1 worker", 1, SERVER_CPUS),
                ("2 workers", 2, SERVER_CPUS),
                ("2 workers, cores 0,1", 2, "0,1"),
            ]

            def measured(name: str, workers: int, cpus: str) -> tuple[Run, str]:
                server = Server(name, "growth.app:create_app", workers=workers, env=env, cpus=cpus)
                try:
                    warm(server)
                    return checked(server, c)
                finally:
                    server.stop()

            scaling, spread_scaling = [], []
            for r in range(1, args.rounds + 1):
                (a1, note1), (a2, note2), (a3, note3) = (measured(*setup) for setup in setups)
                scaling.append(a2.rps / a1.rps)
                spread_scaling.append(a3.rps / a1.rps)
                print(
                    f"round {r}: 1 worker {a1.rps:.0f} req/s p99 {_ms(a1.p99_us)} ms ({note1}); "
                    f"2 workers {a2.rps:.0f} req/s p99 {_ms(a2.p99_us)} ms ({note2}) -> {scaling[-1]:.2f}x; "
                    f"2 workers on cores 0,1 (sharing wrk's core) {a3.rps:.0f} req/s ({note3}) "
                    f"-> {spread_scaling[-1]:.2f}x",
                    flush=True,
                )
            ratio = statistics.median(scaling)
            summary.append(
                f"2 workers / 1 worker on one core: median {ratio:.2f}x (target >= {TARGET_SCALING}): "
                f"{_verdict(ratio, TARGET_SCALING)}; on cores 0,1 sharing wrk's core: "
                f"{statistics.median(spread_scaling):.2f}x"
            )

        # The servers stopped gracefully (SIGTERM): nothing they answered may be missing now.
        stored = asyncio.run(_count_clicks(url))
        extra = stored - answered["302s"]
        summary.append(
            f"after a graceful stop of every app server: {stored} clicks stored for {answered['302s']} "
            f"302s wrk read ({extra:+d}; allowed 0 to +{answered['slack']}, answers wrk did not read): "
            + ("no click lost" if 0 <= extra <= answered["slack"] else "MISMATCH")
        )
        print("\n# Summary (" + engine + ")")
        for line in summary:
            print("- " + line)


if __name__ == "__main__":
    main()

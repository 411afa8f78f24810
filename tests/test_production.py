"""The production profile end to end: two web processes and two queue workers on PostgreSQL and Redis.

Real processes (``growth serve``, ``growth worker``) on loopback share one fresh database and one Redis
queue. Over HTTP, two partners bring an order each (a click on web #1, the order on web #2); the
workers handle the events, approve the commissions and, once the month is over, pay the payout run
(Stripe through the local stand-in, a bank transfer that finance confirms). Then nothing was done
twice: each event once per subscriber, one transfer per Stripe payout, one payout per partner, each
webhook delivered once, each e-mail made once, and the ledger balanced.

A payout run needs its month to be over, and a commission is approved on the clock of the worker
that approves it. Every process (and this test's "now") runs on one shared clock that the test moves:
``tests/production_clock/sitecustomize.py`` on the children's ``PYTHONPATH`` (see there). The flow
runs late on 31 October 2026; the clock then jumps past midnight for the statements and the payout.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from growth.app import build_subscriptions
from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine, upgrade_head
from growth.settings import Settings
from growth.settings import test_database_url as server_url
from tests.conftest import _free_port, pg_admin
from tests.payouts.stripe_standin import API_KEY, StripeStandIn
from tests.payouts.stripe_standin import serve as serve_stripe

REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "e2e-secret-not-for-production"
MIDNIGHT = datetime(2026, 11, 1, tzinfo=UTC)
START = MIDNIGHT - timedelta(minutes=10)
"""Where the shared clock starts: late in October; the test moves it past midnight when it is time."""
CLOCK = Path(__file__).parent / "production_clock"
TAX_FORM = {"tax_form_type": "W-8BEN-E", "tax_form_on": "2026-09-30"}
PYTHON = [sys.executable, "-c", "from growth.cli import main; main()"]
T = TypeVar("T")


def _redis_is_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


pytestmark = [
    pytest.mark.skipif(
        not (server_url() or "").startswith("postgresql"),
        reason="needs PostgreSQL (set GROWTH_TEST_DATABASE_URL)",
    ),
    pytest.mark.skipif(not _redis_is_up(), reason="needs Redis on 127.0.0.1:6379"),
]


def wait_for(what: str, probe: Callable[[], T | None], *, seconds: float = 20.0) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def query(url: str, sql: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                return list(await connection.execute(text(sql), params))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def create_key(url: str) -> str:
    async def run() -> str:
        engine = make_engine(url)
        try:
            async with make_db_config(engine).create_session_maker()() as session, session.begin():
                return (await auth_service.create_key(session, name="e2e", role=Role.admin)).secret
        finally:
            await engine.dispose()

    return asyncio.run(run())


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each delivery id it is sent."""

    def __init__(self) -> None:
        self.deliveries: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append(self.headers["X-Growth-Delivery"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def database() -> Iterator[str]:
    server = server_url()
    assert server is not None
    name = f"growth_e2e_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_head(url)
        yield url
    finally:
        asyncio.run(pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = f"growth-e2e-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"saq:{name}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def stripe() -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn()
    server = serve_stripe(stand_in)
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


class Cluster:
    """The processes of one production profile, and the clock they share (an offset in a file)."""

    def __init__(self, env: dict[str, str], clock_file: Path, webs: list[str]) -> None:
        self.env, self.clock_file, self.webs = env, clock_file, webs
        self.processes: list[subprocess.Popen[bytes]] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=float(self.clock_file.read_text()))

    def move_to(self, at: datetime) -> None:
        """Set every process's clock to ``at`` (they follow within a few tens of milliseconds)."""
        staged = self.clock_file.with_suffix(".new")
        staged.write_text(str((at - datetime.now(UTC)).total_seconds()))
        staged.replace(self.clock_file)
        time.sleep(0.2)

    def start(self, args: list[str], log: Path) -> None:
        with log.open("wb") as out:
            self.processes.append(
                subprocess.Popen([*PYTHON, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT)
            )

    def stop(self) -> list[int]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes


@pytest.fixture
def cluster(database: str, queue_name: str, stripe: StripeStandIn, tmp_path: Path) -> Iterator[Cluster]:
    clock_file = tmp_path / "clock-offset"
    clock_file.write_text(str((START - datetime.now(UTC)).total_seconds()))
    (tmp_path / "metrics").mkdir()
    ports = [_free_port(), _free_port()]
    webs = [f"http://127.0.0.1:{port}" for port in ports]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")},
        "PYTHONPATH": os.pathsep.join([str(CLOCK), str(Path(__file__).parents[1])]),
        "GROWTH_E2E_CLOCK_FILE": str(clock_file),
        "GROWTH_DATABASE_URL": database,
        "GROWTH_REDIS_URL": REDIS_URL,
        "GROWTH_QUEUE_NAME": queue_name,
        "GROWTH_SECRET_KEY": SECRET,
        "GROWTH_BASE_URL": webs[0],
        "GROWTH_LOG_LEVEL": "WARNING",
        "GROWTH_REWARD_JOB_INTERVAL_SECONDS": "1",
        "GROWTH_WEBHOOK_JOB_INTERVAL_SECONDS": "1",
        "GROWTH_OUTBOX_SWEEP_SECONDS": "2",
        "GROWTH_PARTNER_TIER_HOLD_DAYS": "new:0,standard:0,trusted:0",
        "GROWTH_PAYOUT_COOLING_OFF_DAYS": "0",
        "GROWTH_STRIPE_API_KEY": API_KEY,
        "GROWTH_STRIPE_API_BASE": stripe.base,
        "GROWTH_METRICS_DIR": str(tmp_path / "metrics"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    running = Cluster(env, clock_file, webs)
    try:
        for i, port in enumerate(ports):
            running.start(["serve", "--port", str(port), "--workers", "1"], tmp_path / f"web{i}.log")
        for i in range(2):
            running.start(["worker", "--concurrency", "4"], tmp_path / f"worker{i}.log")
        for web in webs:
            wait_for(f"{web}/ready", lambda web=web: _ready(web), seconds=60)
        yield running
    finally:
        codes = running.stop()
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
        print(logs)  # shown when the test fails
        assert codes == [0, 0, 0, 0], f"exit codes {codes}\n{logs}"


def _ready(web: str) -> bool:
    try:
        return httpx.get(f"{web}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


def sign_up(http: httpx.Client, web: str, campaign_id: str, plan_id: str, name: str, account: dict) -> tuple:
    """A partner with the plan, a verified payout account and a referral code: (partner id, code)."""
    partner = ok(
        http.post(
            f"{web}/api/partners",
            json={"name": name, "email": f"{name.lower()}@partners.example", "country": "DE"},
        ),
        201,
    )
    pid = partner["id"]
    ok(http.post(f"{web}/api/partners/{pid}/plan", json={"plan_id": plan_id}), 201)
    ok(http.put(f"{web}/api/partners/{pid}/payout-account", json=account))
    ok(http.post(f"{web}/api/partners/{pid}/identity-verification", json={"is_verified": True}))
    ok(http.post(f"{web}/api/partners/{pid}/payout-account/verification", json={"is_verified": True}))
    code = ok(http.post(f"{web}/api/partners/{pid}/referral-codes", json={"campaign_id": campaign_id}), 201)
    return pid, code["code"]


def test_order_to_payout_on_two_web_processes_and_two_workers(
    cluster: Cluster, database: str, stripe: StripeStandIn
) -> None:
    web1, web2 = cluster.webs
    key = create_key(database)
    receiver = Receiver()
    http = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10)

    ok(
        http.post(
            f"{web1}/api/webhooks/endpoints",
            json={"url": receiver.url, "event_kinds": ["statement_ready", "payout_sent"]},
        ),
        201,
    )
    campaign = ok(
        http.post(
            f"{web1}/api/campaigns",
            json={
                "name": "Consultants",
                "landing_url": "https://shop.example/b2b",
                "kind": "partner",
                "status": "active",
                "currency": "CNY",
                "new_customers_only": False,
            },
        ),
        201,
    )
    plan = ok(
        http.post(
            f"{web2}/api/commission-plans",
            json={
                "name": "Ten percent",
                "kind": "percent",
                "currency": "CNY",
                "rate_bps": 1000,
                "hold_days": 0,
            },
        ),
        201,
    )
    stripe_pid, stripe_code = sign_up(
        http, web1, campaign["id"], plan["id"], "Northwind",
        {"provider": "stripe", "stripe_account_id": "acct_1E2ENorthwind", **TAX_FORM},
    )  # fmt: skip
    bank_pid, bank_code = sign_up(
        http, web2, campaign["id"], plan["id"], "Contoso",
        {
            "provider": "bank",
            "bank_holder_name": "Contoso GmbH",
            "bank_name": "ICBC",
            "bank_account_number": "6222 0212 3456 7890",
            **TAX_FORM,
        },
    )  # fmt: skip

    # A friend clicks Northwind's link on web #1; the shop reports both orders to web #2.
    redirect = httpx.get(f"{web1}/r/{stripe_code}", follow_redirects=False)
    assert redirect.status_code == 302
    click_id = re.search(r"ref_click=([0-9a-f-]{36})", redirect.headers["location"]).group(1)  # type: ignore[union-attr]
    wait_for("the click row", lambda: query(database, "SELECT 1 FROM clicks WHERE id = :id", id=click_id))
    placed = cluster.now()
    orders = [
        {"external_id": "E2E-1", "click_ids": [click_id], "email": "ming@shop-customers.example"},
        {"external_id": "E2E-2", "referral_code": bank_code, "email": "hong@shop-customers.example"},
    ]
    for n, order in enumerate(orders):
        body = {
            "external_id": order["external_id"],
            "customer": {"external_id": f"customer-{n}", "email": order["email"]},
            "amount": 250_000,
            "currency": "CNY",
            "placed_at": placed.isoformat(),
            **{k: order[k] for k in ("click_ids", "referral_code") if k in order},
        }
        created = ok(http.post(f"{web2}/api/orders", json=body), 201)
        assert created["attribution"]["partner_id"] == (stripe_pid, bank_pid)[n], created["attribution"]
        for kind, web in (("paid", web1), ("closed", web2)):
            ok(http.post(f"{web}/api/orders/{order['external_id']}/events", json={"type": kind}), 201)

    # The workers accrue the commissions from the events and their cron job approves them, in October.
    def approved() -> list[Any] | None:
        rows = ok(http.get(f"{web1}/api/commissions"))
        return rows if len(rows) == 2 and all(c["status"] == "approved" for c in rows) else None

    commissions = wait_for("approved commissions", approved, seconds=30)
    assert sorted(c["amount"] for c in commissions) == [25_000, 25_000]
    assert all(datetime.fromisoformat(c["approved_at"]) < MIDNIGHT for c in commissions)

    # November: statements, the payout run (executed by a worker, asked for three times), the bank confirm.
    cluster.move_to(MIDNIGHT + timedelta(seconds=1))

    def issue() -> httpx.Response | None:  # each process's clock follows within a few milliseconds
        response = http.post(f"{web2}/api/statements", json={"period": "2026-10"})
        return None if "period_not_over" in response.text else response

    issued = ok(wait_for("October to be over", issue, seconds=5))
    assert issued["issued"] == 2
    run = ok(http.post(f"{web1}/api/payout-runs", json={"period": "2026-10", "currency": "CNY"}), 201)
    for web in (web1, web2, web1):
        ok(http.post(f"{web}/api/payout-runs/{run['id']}/execute"), 202)

    def paid_run() -> dict[str, Any] | None:
        detail = ok(http.get(f"{web2}/api/payout-runs/{run['id']}"))
        return detail if detail["run"]["status"] == "completed" else None

    detail = wait_for("the payout run's transfers", paid_run, seconds=20)
    assert detail["skips"] == []
    payouts = {p["partner_id"]: p for p in detail["payouts"]}
    assert set(payouts) == {stripe_pid, bank_pid} and len(detail["payouts"]) == 2
    assert {(p["amount"], p["status"]) for p in payouts.values()} == {(25_000, "sent")}
    confirmed = ok(http.post(f"{web1}/api/payouts/{payouts[bank_pid]['id']}/confirm"))
    assert confirmed["status"] == "paid"

    # Once, each: a transfer per Stripe payout, every webhook delivery, every subscriber of every event.
    transfers = [r for r in stripe.requests if r["path"] == "/v1/transfers"]
    assert len(transfers) == 1 and transfers[0]["form"]["destination"] == "acct_1E2ENorthwind"

    # Two statements ready, at least one payout sent: each delivery made once, and received once.
    def deliveries() -> list[Any] | None:
        rows = query(database, "SELECT id, status FROM webhook_deliveries")
        return rows if len(rows) >= 3 and all(status == "delivered" for _, status in rows) else None

    delivered = wait_for("webhook deliveries", deliveries)
    assert sorted(receiver.deliveries) == sorted(str(i) for i, _ in delivered)
    wait_for("the outbox drained", lambda: not query(database, _PENDING))
    subscriptions = build_subscriptions(settings=Settings(secret_key=SECRET))
    events = query(database, "SELECT id, name FROM outbox_events")
    handled = Counter(query(database, "SELECT event_id, handler FROM outbox_deliveries"))
    expected = Counter((e, h) for e, name in events for h in subscriptions.handlers_for(name))
    assert handled == expected
    emails = query(database, "SELECT event_id, kind, recipient_id FROM notification_emails")
    assert emails and len(emails) == len(set(emails))
    [(unbalanced,)] = query(
        database,
        "SELECT count(*) FROM (SELECT entry_id FROM ledger_lines GROUP BY entry_id, currency"
        " HAVING sum(amount) <> 0) AS t",
    )
    assert unbalanced == 0
    assert query(database, "SELECT count(*) FROM payouts") == [(2,)]

    # The workers' job counters reach /metrics of any web process (one multiprocess directory).
    scraped = httpx.get(f"{web2}/metrics").text
    runs = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^growth_job_runs_total\{job="([^"]+)"\} (\S+)$', scraped, re.M)
    }
    assert runs.get("payouts.execute_run", 0) >= 1 and runs.get("outbox.drain", 0) >= 1, runs
    assert "growth_outbox_lag_seconds 0.0" in scraped and json.dumps(runs)


_PENDING = "SELECT 1 FROM outbox_events WHERE processed_at IS NULL"


def test_growth_production_starts_everything_and_stops_on_sigterm(
    database: str, queue_name: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GROWTH_", "PROMETHEUS_"))},
        "GROWTH_DATABASE_URL": database,
        "GROWTH_REDIS_URL": REDIS_URL,
        "GROWTH_QUEUE_NAME": queue_name,
        "GROWTH_SECRET_KEY": SECRET,
        "GROWTH_LOG_LEVEL": "WARNING",
        "GROWTH_METRICS_DIR": str(tmp_path / "metrics"),
    }
    log = tmp_path / "production.log"
    answered = 0
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [*PYTHON, "production", "--host", "127.0.0.1", "--port", str(port), "--web-workers", "2",
             "--queue-workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        web = f"http://127.0.0.1:{port}"
        wait_for("the production profile", lambda: _ready(web), seconds=90)
        scraped = httpx.get(f"{web}/metrics").text
        assert "growth_job_queue_depth" in scraped and "growth_http_request_duration_seconds" in scraped
        # Redirects just before the stop: every click answered is stored once the processes are gone.
        http = httpx.Client(base_url=web, headers={"Authorization": f"Bearer {create_key(database)}"})
        ok(http.put("/api/customers/shop-42", json={"email": "mei@example.com"}), 201)
        campaign = ok(
            http.post(
                "/api/campaigns",
                json={"name": "Stop", "landing_url": "https://shop.example/", "status": "active"},
            ),
            201,
        )
        referral = ok(
            http.post(
                "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "shop-42"}
            ),
            201,
        )["code"]
        answered = sum(httpx.get(f"{web}/r/{referral}").status_code == 302 for _ in range(40))
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            code = supervisor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            code = supervisor.wait()
    assert code == 0, log.read_text()[-3000:]
    assert answered == 40 and query(database, "SELECT count(*) FROM clicks") == [(40,)]
    assert "production profile: web on http://127.0.0.1" in log.read_text()

"""``growth orders import`` killed with SIGKILL mid-batch, again and again, then run to the end:
every row is taken in exactly once and nothing is half-written.

First a file of orders (some referred by customers' codes, some by a partner's code, some with line
items), then a file of their events (each order paid, some refunded in two parts). Each kill lands
after the importer committed a random number of rows more than before (so mostly inside a batch:
between savepoints, mid-flush or mid-commit), plus a jitter; a few land at a random time from the
start instead. The restarted import reads the file from its first row again: the committed rows are
duplicates, the others are taken in. Most of the test's time is the CLI starting (about 3 s of CPU
each on a busy 2-core machine): 22 + 11 killed runs, then one to the end of each file.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from campaigns.campaign import service as campaign_service
from growth.attribution.models import Attribution
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.customer.models import Customer
from growth.order.models import Order, OrderLine, OrderTransition
from growth.referral_code import service as referral_code_service
from growth.risk.models import OrderReview
from tests.conftest import SECRET
from tests.factories import create_campaign, create_customer, create_partner, issue_code

ORDERS = 300
REFUNDED_EVERY = 5
"""Every fifth order is refunded in two parts (the second row without an event id)."""
BATCH = 10
"""Small, so that each run commits a few batches before its kill and the file outlasts the kills."""
KILLS = 22
"""Runs of the orders file started and killed; at least ``KILLS_LANDED`` must still be running when
the kill lands, and most of all of them mid-import (after committing a batch, with rows left)."""
KILLS_LANDED = 20
EVENT_KILLS = 11
"""The same for the events file (fewer: each run costs seconds of CPU to start)."""
EVENT_KILLS_LANDED = 10
BY_TIME = 0.1
"""The share of kills at a random time from the start (starting up, first batch) instead of after progress."""
WARM = """
import sys
from growth.cli import main
import campaigns.campaign.service, growth.app, growth.order_import.tasks, payouts.lead.service
sys.argv = ["growth", "orders", "import", *sys.stdin.readline().rstrip("\\n").split("\\t")]
main()
"""
"""``growth orders import`` with the modules its command imports loaded first, then the arguments
read from stdin (see ``Importers``)."""
AHEAD = 1
"""Processes kept started, waiting for their arguments."""
PLACED = datetime(2026, 11, 20, 10, tzinfo=timezone(timedelta(hours=8)))
ORDER_HEADER = (
    "external_id,customer_external_id,customer_email,amount,currency,placed_at,referral_code,"
    "sku,quantity,unit_amount"
)
EVENT_HEADER = "order_external_id,type,amount,occurred_at,event_id"
Progress = Callable[[], Awaitable[int]]
"""How many rows the imports committed so far."""


@dataclass(frozen=True)
class Expected:
    external_id: str
    customer: str
    amount: int
    currency: str
    code: str | None
    """The referral code the row names (a customer's or the partner's)."""
    lines: int


def _orders(customer_codes: list[str], partner_code: str) -> list[Expected]:
    """The orders of the file: a third referred by a customer, some by the partner, some repeat buyers."""
    orders = []
    for n in range(ORDERS):
        repeat = n % 10 == 9  # an earlier buyer again, unreferred
        code = None
        if not repeat and n % 3 == 0:
            code = customer_codes[n % len(customer_codes)]
        elif not repeat and n % 7 == 1:
            code = partner_code
        currency = "USD" if code is None and n % 11 == 5 else "CNY"
        lines = 2 if n % 5 == 2 else 0
        customer = f"buyer-{n - 5}" if repeat else f"buyer-{n}"
        orders.append(Expected(f"kill-{n:05d}", customer, 1_000 + n, currency, code, lines))
    return orders


def _order_rows(order: Expected, n: int) -> list[str]:
    placed = (PLACED + timedelta(minutes=n)).isoformat()
    cells = (
        f"{order.external_id},{order.customer},{order.customer}@example.com,{order.amount},"
        f"{order.currency},{placed},{order.code or ''}"
    )
    if not order.lines:
        return [f"{cells},,,"]
    return [f"{cells},TEA,1,{order.amount - 200}", f"{cells},CUP,2,100"]


def _event_rows(orders: list[Expected]) -> tuple[list[str], dict[str, list[str]]]:
    """Each order paid, then every ``REFUNDED_EVERY``-th refunded in two parts; the event keys by order."""
    rows, keys = [], {}
    for n, order in enumerate(orders):
        paid_at = (PLACED + timedelta(days=1, minutes=n)).isoformat()
        rows.append(f"{order.external_id},paid,,{paid_at},pay-{n}")
        keys[order.external_id] = [f"pay-{n}"]
    for n, order in enumerate(orders):
        if n % REFUNDED_EVERY:
            continue
        first_at = PLACED + timedelta(days=2, minutes=n)
        second_at = (first_at + timedelta(hours=1)).isoformat()
        rows.append(f"{order.external_id},refunded,300,{first_at.isoformat()},refund-{n}")
        # No event id: the key is the type, amount and time (growth.order.service.OrderEventIn.key).
        rows.append(f"{order.external_id},refunded,{order.amount - 300},{second_at},")
        keys[order.external_id] += [f"refund-{n}", f"refunded:{order.amount - 300}:{second_at}"]
    return rows, keys


class Importers:
    """``growth orders import`` processes. Starting one costs seconds of imports (the CLI loads the
    app for its risk settings), longer than a run lasts between kills: so each process is started,
    its modules imported, while the ones before it run, and then told its arguments."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self._env = env
        self._folder = folder
        self._started = 0
        self._ready: deque[Importer] = deque()
        self.running: Importer | None = None

    def _spawn(self) -> Importer:
        self._started += 1
        out = self._folder / f"import-{self._started}.out"
        with out.open("w") as stdout, out.with_suffix(".err").open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", WARM],
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                text=True,
            )
        return Importer(process, out)

    def start(self, args: list[str]) -> Importer:
        """``growth orders import ARGS``, started now; the next process starts importing its modules."""
        importer = self._ready.popleft() if self._ready else self._spawn()
        while len(self._ready) < AHEAD:
            self._ready.append(self._spawn())
        stdin = importer.process.stdin
        assert stdin is not None
        stdin.write("\t".join(args) + "\n")
        stdin.close()
        self.running = importer
        return importer

    def close(self) -> None:
        """Kill what is still running, and the processes waiting for their arguments."""
        for importer in (self.running, *self._ready):
            if importer is not None and importer.process.poll() is None:
                importer.process.kill()
            if importer is not None:
                importer.process.wait(timeout=30)


@dataclass
class Importer:
    process: subprocess.Popen[str]
    out: Path
    """Its standard output; its errors are next to it, in ``.err``."""

    def output(self) -> tuple[str, str]:
        return self.out.read_text(), self.out.with_suffix(".err").read_text()


@pytest.fixture
def importers(database_url: str, tmp_path: Path) -> Iterator[Importers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")} | {
        "GROWTH_DATABASE_URL": database_url,
        "GROWTH_SECRET_KEY": SECRET,
        "GROWTH_LOG_LEVEL": "WARNING",
    }
    importers = Importers(env, tmp_path)
    yield importers
    importers.close()


@dataclass
class Kills:
    started: int = 0
    landed: int = 0
    """Killed while still running (not yet exited by itself)."""
    mid_import: int = 0
    """Killed while still running, after it committed a batch in this run, with rows left to take in."""


async def _kill_at_a_random_point(
    importers: Importers, args: list[str], rng: random.Random, progress: Progress, total: int
) -> tuple[bool, bool]:
    """Start an import and SIGKILL it: mostly once it committed a random number of rows more than
    before (up to a batch) plus a jitter of about a batch's time, sometimes at a random time from
    its start. Whether the kill landed (still running), and whether it landed mid-import."""
    before = await progress()
    process = importers.start(args).process
    if rng.random() < BY_TIME:
        await asyncio.sleep(rng.uniform(0, 1.5))
    else:
        target = before + rng.randint(1, BATCH)
        for _ in range(3000):  # 30 s at most
            if await progress() >= target or process.poll() is not None:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0, 0.15))
    landed = process.poll() is None
    if landed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return landed, landed and before < await progress() < total


async def _kill_repeatedly(
    importers: Importers, args: list[str], rng: random.Random, progress: Progress, *, kills: int, total: int
) -> Kills:
    tally = Kills()
    for _ in range(kills):
        if await progress() >= total:
            break  # the file was taken in to its end: killing more proves nothing
        landed, mid_import = await _kill_at_a_random_point(importers, args, rng, progress, total)
        tally.started += 1
        tally.landed += landed
        tally.mid_import += mid_import
    return tally


async def _run_to_the_end(importers: Importers, args: list[str]) -> tuple[int, str, str]:
    """Exit status, output and errors of an import left to finish."""
    importer = importers.start(args)
    status = await asyncio.to_thread(importer.process.wait, timeout=120)
    return status, *importer.output()


def _counter(reader: AsyncEngine, query: Any) -> Progress:
    """The count of ``query``, read through ``reader``."""

    async def count() -> int:
        async with reader.connect() as connection:
            return int(await connection.scalar(query) or 0)

    return count


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine that only reads: on SQLite it opens no write transaction (``growth.core.db`` begins
    each one IMMEDIATE), so polling never waits for the importer's batch, nor holds it up."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def _new_events(session_maker: SessionMaker, after: set[UUID]) -> list[OutboxEvent]:
    async with session_maker() as s:
        return [e for e in await s.scalars(select(OutboxEvent)) if e.id not in after]


Codes = dict[str, tuple[UUID, UUID | None, UUID | None]]
"""Referral codes: the code's id and its referrer, a customer's id or a partner's."""


async def _setup(session: AsyncSession) -> tuple[list[str], str, Codes]:
    """A referral campaign with five customers' codes and a partner program with a partner's code."""
    campaign = await create_campaign(session, name="Spring")
    codes: Codes = {}
    for n in range(5):
        referrer = await create_customer(session, external_id=f"referrer-{n}")
        code = await issue_code(session, campaign=campaign, customer=referrer)
        codes[code.code] = (code.id, referrer.id, None)
    program = await create_campaign(session, name="Consultants", kind="partner", hashtag=None)
    partner = await create_partner(session)
    issued = await referral_code_service.issue_code(
        session,
        campaign_id=program.id,
        referrer=referral_code_service.Referrer(partner_id=partner.id),
        terms_lookup=campaign_service.get_terms,
    )
    partner_code = issued.referral_code
    codes[partner_code.code] = (partner_code.id, None, partner.id)
    await session.commit()
    return sorted(set(codes) - {partner_code.code}), partner_code.code, codes


def _outcome(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


async def test_a_killed_import_takes_every_row_exactly_once(
    session: AsyncSession,
    session_maker: SessionMaker,
    reader: AsyncEngine,
    importers: Importers,
    tmp_path: Path,
) -> None:
    customer_codes, partner_code, codes = await _setup(session)
    orders = _orders(customer_codes, partner_code)
    orders_file = tmp_path / "orders.csv"
    rows = [row for n, order in enumerate(orders) for row in _order_rows(order, n)]
    orders_file.write_text("\n".join([ORDER_HEADER, *rows, ""]), encoding="utf-8")
    event_rows, event_keys = _event_rows(orders)
    events_file = tmp_path / "events.csv"
    events_file.write_text("\n".join([EVENT_HEADER, *event_rows, ""]), encoding="utf-8")
    rng = random.Random(20261127)
    async with session_maker() as s:
        setup_events = set(await s.scalars(select(OutboxEvent.id)))
        customers_before = set(await s.scalars(select(Customer.external_id)))

    # The orders file.
    args = ["--batch-size", str(BATCH), str(orders_file)]
    order_count = _counter(reader, select(func.count()).select_from(Order))
    started = time.monotonic()
    kills = await _kill_repeatedly(importers, args, rng, order_count, kills=KILLS, total=ORDERS)
    taken = await order_count()
    print(
        f"orders import: {kills.landed} of {kills.started} SIGKILLs landed while running, "
        f"{kills.mid_import} mid-import; {taken} of {ORDERS} orders committed before the rerun "
        f"({time.monotonic() - started:.1f} s)"
    )
    assert kills.landed >= KILLS_LANDED and kills.mid_import > kills.started // 2
    status, out, err = await _run_to_the_end(importers, args)
    assert status == 0, (out, err)
    # The rows committed before are duplicates, the rest are taken in; nothing is refused.
    assert _outcome(out) == f"created {ORDERS - taken}, duplicate {taken}, refused 0"
    await _assert_orders(session_maker, orders, codes, customers_before, setup_events)

    # The events file.
    async with session_maker() as s:
        order_events = set(await s.scalars(select(OutboxEvent.id)))
    args = ["--events", "--batch-size", str(BATCH), str(events_file)]
    transitions = _counter(reader, select(func.count()).select_from(OrderTransition))
    started = time.monotonic()
    kills = await _kill_repeatedly(
        importers, args, rng, transitions, kills=EVENT_KILLS, total=len(event_rows)
    )
    applied = await transitions()
    print(
        f"events import: {kills.landed} of {kills.started} SIGKILLs landed while running, "
        f"{kills.mid_import} mid-import; {applied} of {len(event_rows)} events applied before the rerun "
        f"({time.monotonic() - started:.1f} s)"
    )
    assert kills.landed >= EVENT_KILLS_LANDED and kills.mid_import > kills.started // 2
    status, out, err = await _run_to_the_end(importers, args)
    assert status == 0, (out, err)
    assert _outcome(out) == f"created {len(event_rows) - applied}, duplicate {applied}, refused 0"
    await _assert_events(session_maker, orders, event_keys, order_events)


async def _assert_orders(
    session_maker: SessionMaker,
    orders: list[Expected],
    codes: Codes,
    customers_before: set[str],
    setup_events: set[UUID],
) -> None:
    """Each order once, as its row says, with everything its batch wrote: customer, lines,
    attribution, risk review (referred orders) and one ``order.attributed`` event."""
    async with session_maker() as s:
        rows = list(
            await s.execute(
                select(
                    Order.id,
                    Order.external_id,
                    Order.amount,
                    Order.currency,
                    Order.status,
                    Customer.external_id.label("customer"),
                    Attribution.method,
                    Attribution.referral_code_id,
                    Attribution.customer_referrer_id,
                    Attribution.partner_id,
                )
                .join(Customer, Customer.id == Order.customer_id)
                .outerjoin(Attribution, Attribution.order_id == Order.id)
            )
        )
        lines = Counter(await s.scalars(select(OrderLine.order_id)))
        reviewed = set(await s.scalars(select(OrderReview.order_id)))
        customers = set(await s.scalars(select(Customer.external_id)))
    stored = {row.external_id: row for row in rows}
    assert len(rows) == ORDERS and set(stored) == {o.external_id for o in orders}
    assert customers == customers_before | {o.customer for o in orders}  # no customer of a lost batch
    for order in orders:
        row = stored[order.external_id]
        assert (row.amount, row.currency, row.customer, row.status) == (
            order.amount,
            order.currency,
            order.customer,
            "placed",
        ), order
        assert lines[row.id] == order.lines, order
        assert row.method == ("referral_code" if order.code else "none"), order  # its attribution, once
        referred = (row.referral_code_id, row.customer_referrer_id, row.partner_id)
        assert referred == (codes[order.code] if order.code else (None, None, None)), order
    # The risk firewall reviewed each referred order.
    assert reviewed == {row.id for row in rows if row.method != "none"}
    events = await _new_events(session_maker, setup_events)
    assert Counter(e.name for e in events) == {"order.attributed": ORDERS}
    by_order = Counter(e.payload["external_id"] for e in events)
    assert by_order == dict.fromkeys(stored, 1)
    assert all(e.payload["order_id"] == str(stored[e.payload["external_id"]].id) for e in events)


async def _assert_events(
    session_maker: SessionMaker, orders: list[Expected], keys: dict[str, list[str]], before: set[UUID]
) -> None:
    """Each event applied once: paid and refunded amounts, one transition and one outbox event each."""
    async with session_maker() as s:
        stored = {
            row.external_id: row
            for row in await s.execute(
                select(Order.id, Order.external_id, Order.status, Order.paid_amount, Order.refunded_amount)
            )
        }
        transitions: dict[UUID, list[str]] = {}
        for order_id, key in await s.execute(select(OrderTransition.order_id, OrderTransition.event_key)):
            transitions.setdefault(order_id, []).append(key)
    for n, order in enumerate(orders):
        row = stored[order.external_id]
        refunded = n % REFUNDED_EVERY == 0
        assert (row.status, row.paid_amount, row.refunded_amount) == (
            ("refunded", order.amount, order.amount) if refunded else ("paid", order.amount, 0)
        ), order
        assert sorted(transitions[row.id]) == sorted(keys[order.external_id]), order
    events = await _new_events(session_maker, before)
    refunds = 2 * len(range(0, ORDERS, REFUNDED_EVERY))
    assert Counter(e.name for e in events) == {"order.paid": ORDERS, "order.refunded": refunds}
    assert Counter(e.payload["external_id"] for e in events) == {
        o.external_id: len(keys[o.external_id]) for o in orders
    }
    refunds_by_order: Counter[str] = Counter()
    for e in events:
        if e.name == "order.refunded":
            refunds_by_order[e.payload["external_id"]] += e.payload["refund_amount"]
    assert refunds_by_order == {
        o.external_id: o.amount for n, o in enumerate(orders) if n % REFUNDED_EVERY == 0
    }

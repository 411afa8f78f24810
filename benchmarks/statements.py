"""Benchmark: issuing a month of partner statements, next to one SQL aggregate over the same ledger rows.

Seeds a fresh database (SQLite by default, or a new database on the PostgreSQL server given with
--postgres, dropped afterwards) with a month of commission activity the way the commission flow
posts it: per order a commission, an accrual (commission expense to the partner's pending
account) and, for most, an approval (pending to payable); some orders are cancelled (reversed
before approval), partly refunded before approval, or refunded after it (clawed back). Then it
times ``issue_statements`` for the month in one transaction, and a plain ``SUM ... GROUP BY
account`` over the same ledger lines, with the peak memory of each, and checks that every
statement's closing balances equal the aggregate's balances of that partner. The ratio of the two
wall times is printed next to the target (issuing at most 1.5x the aggregate). A benchmark, not a
test; seeding (bulk inserts, COPY on PostgreSQL, then ANALYZE) is timed separately:

    .venv/bin/python -m benchmarks.statements [--orders 1000000] [--partners 10000]
    .venv/bin/python -m benchmarks.statements --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

Columns: wall and CPU seconds (CPU of this process, all threads: on PostgreSQL the server's work is
not in it; on a busy machine it moves less than wall time); "RSS MiB" is the highest resident set
size sampled every 10 ms during the call and how much it grew over the call; "max RSS MiB" is the
process's high-water mark so far (getrusage). With --tracemalloc, "Python MiB" is tracemalloc's
peak during the call; tracing every allocation makes the ORM-heavy statement code about four times
slower, so quote the timings of a run without it. Issuing is set-based (INSERT ... SELECT inside the
database), so Python's memory grows with partners, not orders.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from uuid_utils.compat import uuid7

from growth.core.db import make_db_config, make_engine, metadata, upgrade_head
from growth.core.logging import configure_logging
from growth.core.money import round_half_away_from_zero
from growth.ledger.models import LedgerEntry, LedgerLine
from growth.ledger.rules import COMMISSION_EXPENSE, partner_account
from payouts.commission.rules import remaining_after_refund
from payouts.statement import service as statement_service
from payouts.statement.models import Statement, StatementLedgerLine, StatementLine
from payouts.statement.rules import parse_period, partner_account_of, period_bounds

PERIOD = "2026-10"
TZ = "UTC"
MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
PLACING_DAYS = 24
"""Orders are placed over the first 24 days, so every approval and clawback still falls in the month."""
NOW = datetime(2026, 11, 1, 6, tzinfo=UTC)
CURRENCY = "CNY"
RATE_BPS = 1000
HOLD_DAYS = 3
BATCH_ORDERS = 10_000
TARGET_RATIO = 1.5
"""Issuing (with its commit) may take at most this many times the plain aggregate's wall time."""
FATES = (  # (roll below, what happens to the order's commission)
    (0.10, "pending"),  # paid, not closed yet
    (0.15, "cancelled"),  # before approval: all of it reversed
    (0.17, "refunded, then approved"),  # a quarter refunded before approval, the rest approved
    (0.20, "approved, then clawed back"),  # half refunded after approval
    (1.00, "approved"),
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "external_id", "email", "email_key", "created_at", "updated_at"),
    "partners": ("id", "name", "email", "email_key", "status", "approved_at", "created_at", "updated_at"),
    "commission_plans": (
        "id", "name", "kind", "rate_bps", "currency", "hold_days", "recurring", "created_at", "updated_at",
    ),
    "partner_plans": ("id", "partner_id", "plan_id", "effective_at", "created_at", "updated_at"),
    "orders": (
        "id", "external_id", "customer_id", "amount", "currency", "placed_at", "status", "paid_amount",
        "refunded_amount", "source", "content", "fingerprint", "created_at", "updated_at",
    ),
    "commissions": (
        "id", "order_id", "order_external_id", "partner_id", "plan_id", "kind", "base_amount", "amount",
        "reversed_amount", "currency", "rate_bps", "status", "order_paid_amount", "order_refunded_amount",
        "is_order_closed", "order_closed_at", "is_order_disputed", "approve_after", "approved_at",
        "accrued_at", "created_at", "updated_at",
    ),
    "ledger_entries": ("id", "reference", "kind", "occurred_at", "created_at", "updated_at"),
    "ledger_lines": ("id", "entry_id", "account", "amount", "currency", "created_at", "updated_at"),
}  # fmt: skip
Row = tuple[Any, ...]


# ------------------------------------------------------------------------------------------ writing


async def _admin(server: str, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


class SqliteWriter:
    """Raw executemany, one transaction per batch, values converted by the columns' own bind processors."""

    def __init__(self, url: str, columns: dict[str, tuple[str, ...]] = COLUMNS) -> None:
        self.engine = make_engine(url)
        self.connection: AsyncConnection | None = None
        self.columns = columns
        self.statements: dict[str, tuple[str, list[Callable[[Any], Any]]]] = {}

    async def __aenter__(self) -> SqliteWriter:
        self.connection = await self.engine.connect()
        dialect = self.engine.dialect
        for name, columns in self.columns.items():
            table = metadata.tables[name]
            processors = [
                _cached(table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns
            ]
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            self.statements[name] = (sql, processors)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.connection is not None
        await self.connection.close()
        await self.engine.dispose()

    async def write(self, tables: dict[str, list[Row]]) -> None:
        assert self.connection is not None
        async with self.connection.begin():
            for name, rows in tables.items():
                sql, processors = self.statements[name]
                converted = [tuple(p(v) for p, v in zip(processors, row, strict=True)) for row in rows]
                if converted:
                    await self.connection.exec_driver_sql(sql, converted)

    async def analyze(self) -> None:
        assert self.connection is not None
        async with self.connection.begin():
            await self.connection.exec_driver_sql("ANALYZE")


def _same(value: Any) -> Any:
    return value


def _uuid_bytes(value: UUID | None) -> bytes | None:
    return None if value is None else value.bytes


def _cached(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The column type's bind processor, made cheaper where that provably gives the same values.

    An entry's time is written three times, so it is converted once; a UUID stored as its 16 bytes
    (checked here) skips the generic converter.
    """
    if processor is None:
        return _same
    sample = uuid7()
    try:
        if processor(sample) == sample.bytes and processor(None) is None:
            return _uuid_bytes
    except (TypeError, ValueError, AttributeError):
        pass
    cache: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        if not isinstance(value, datetime):
            return processor(value)
        if len(cache) > 100_000:
            cache.clear()
        if (hit := cache.get(value)) is None:
            hit = cache[value] = processor(value)
        return hit

    return process


class PostgresWriter:
    """asyncpg ``copy_records_to_table``, one transaction per batch (JSON values sent as text)."""

    def __init__(self, url: str, columns: dict[str, tuple[str, ...]] = COLUMNS) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection: Any = None
        self.columns = columns

    async def __aenter__(self) -> PostgresWriter:
        import asyncpg

        self.connection = await asyncpg.connect(self.dsn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def write(self, tables: dict[str, list[Row]]) -> None:
        async with self.connection.transaction():
            for name, rows in tables.items():
                if not rows:
                    continue
                # asyncpg takes jsonb as text: the columns whose values are dicts or lists
                for i in [i for i, value in enumerate(rows[0]) if isinstance(value, dict | list)]:
                    rows = [(*row[:i], json.dumps(row[i]), *row[i + 1 :]) for row in rows]
                await self.connection.copy_records_to_table(name, records=rows, columns=self.columns[name])

    async def analyze(self) -> None:
        await self.connection.execute("VACUUM ANALYZE")


# ------------------------------------------------------------------------------------------ seeding


@dataclass
class Seeded:
    customers: int = 0
    partners: int = 0
    orders: int = 0
    commissions: int = 0
    entries: int = 0
    lines: int = 0
    partner_lines: int = 0
    """Ledger lines on ``partner:<id>:pending|payable`` accounts: what the statements must carry."""
    fates: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Month:
    """One month of a commission program's activity, generated in batches of orders."""

    def __init__(self, orders: int, partners: int, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.orders = orders
        self.partner_ids = [uuid7() for _ in range(partners)]
        # A few partners bring many orders, most bring some (weights ~ 1 / rank^0.7).
        weights = [1 / (rank + 1) ** 0.7 for rank in range(partners)]
        self.cum_weights = list(itertools.accumulate(weights))
        self.customer_ids = [uuid7() for _ in range(max(1, orders // 4))]
        self.plan_id = uuid7()
        self.seeded = Seeded(customers=len(self.customer_ids), partners=partners)

    def reference_rows(self) -> dict[str, list[Row]]:
        at = MONTH_START - timedelta(days=90)
        partners = [
            (pid, f"Partner {n}", email, email, "approved", at, at, at)
            for n, pid in enumerate(self.partner_ids)
            for email in [f"partner{n}@example.com"]
        ]
        plan = [(self.plan_id, "Standard 10%", "percent", RATE_BPS, CURRENCY, HOLD_DAYS, "none", at, at)]
        plans = [(uuid7(), pid, self.plan_id, at, at, at) for pid in self.partner_ids]
        customers = [
            (cid, f"cust-{n}", f"cust{n}@example.com", f"cust{n}@example.com", at, at)
            for n, cid in enumerate(self.customer_ids)
        ]
        return {
            "partners": partners,
            "commission_plans": plan,
            "partner_plans": plans,
            "customers": customers,
        }

    def batches(self) -> Iterator[dict[str, list[Row]]]:
        for start in range(0, self.orders, BATCH_ORDERS):
            yield self._batch(range(start, min(start + BATCH_ORDERS, self.orders)))

    def _batch(self, numbers: range) -> dict[str, list[Row]]:
        s = self.seeded
        orders: list[Row] = []
        commissions: list[Row] = []
        entries: list[Row] = []
        lines: list[Row] = []
        partners = self.rng.choices(self.partner_ids, cum_weights=self.cum_weights, k=len(numbers))

        def post(reference: str, kind: str, at: datetime, debit: str, credit: str, amount: int) -> None:
            entry_id = uuid7()
            entries.append((entry_id, reference, kind, at, at, at))
            lines.append((uuid7(), entry_id, debit, amount, CURRENCY, at, at))
            lines.append((uuid7(), entry_id, credit, -amount, CURRENCY, at, at))
            s.partner_lines += (debit != COMMISSION_EXPENSE) + (credit != COMMISSION_EXPENSE)

        for n, partner_id in zip(numbers, partners, strict=True):
            order, commission, fate = self._order(n, partner_id, post)
            orders.append(order)
            commissions.append(commission)
            s.fates[fate] = s.fates.get(fate, 0) + 1
        s.orders += len(orders)
        s.commissions += len(commissions)
        s.entries += len(entries)
        s.lines += len(lines)
        return {
            "orders": orders,
            "commissions": commissions,
            "ledger_entries": entries,
            "ledger_lines": lines,
        }

    def _order(self, n: int, partner_id: UUID, post: Callable[..., None]) -> tuple[Row, Row, str]:
        """An order, its commission and the entries posted for it: accrued, then as its fate has it."""
        rng = self.rng
        order_id, commission_id, external_id = uuid7(), uuid7(), f"SO-{n:08d}"
        placed = MONTH_START + timedelta(seconds=rng.randrange(PLACING_DAYS * 86_400))
        amount = rng.randint(1_000, 500_000)
        commission = round_half_away_from_zero(amount * RATE_BPS, 10_000)
        pending, payable = partner_account(partner_id, "pending"), partner_account(partner_id, "payable")
        expense, ref = COMMISSION_EXPENSE, f"commission:{commission_id}"
        accrued_at = placed + timedelta(seconds=rng.randint(1, 30))
        closed = placed + timedelta(days=2, seconds=rng.randrange(3600))
        approved_at = closed + timedelta(days=HOLD_DAYS, seconds=rng.randrange(3600))
        closed_at: datetime | None = closed
        approve_after: datetime | None = closed + timedelta(days=HOLD_DAYS)
        post(f"{ref}:accrued", "commission_accrued", accrued_at, expense, pending, commission)
        roll = rng.random()
        fate = next(name for limit, name in FATES if roll < limit)
        status, order_status, paid, refunded, reversed_amount = "approved", "closed", amount, 0, 0
        if fate == "pending":
            status, order_status, closed_at, approve_after = "pending", "paid", None, None
        elif fate == "cancelled":
            status, order_status, paid, reversed_amount = "reversed", "cancelled", 0, commission
            closed_at = approve_after = None
            at = placed + timedelta(hours=rng.randint(1, 40))
            post(f"{ref}:reversal:{commission}", "commission_reversed", at, pending, expense, commission)
        elif fate == "refunded, then approved":
            refunded = amount // 4
            reversed_amount = commission - remaining_after_refund(commission, paid=paid, refunded=refunded)
            at = placed + timedelta(hours=rng.randint(1, 40))
            post(
                f"{ref}:reversal:{reversed_amount}",
                "commission_reversed",
                at,
                pending,
                expense,
                reversed_amount,
            )
            kept = commission - reversed_amount
            post(f"{ref}:approved", "commission_approved", approved_at, pending, payable, kept)
        elif fate == "approved, then clawed back":
            order_status, refunded = "refunded", amount // 2
            reversed_amount = commission - remaining_after_refund(commission, paid=paid, refunded=refunded)
            at = approved_at + timedelta(hours=rng.randint(1, 24))
            post(f"{ref}:approved", "commission_approved", approved_at, pending, payable, commission)
            post(
                f"{ref}:reversal:{reversed_amount}",
                "commission_clawback",
                at,
                payable,
                expense,
                reversed_amount,
            )
        else:
            post(f"{ref}:approved", "commission_approved", approved_at, pending, payable, commission)
        content = {"external_id": external_id, "amount": amount, "currency": CURRENCY, "lines": []}
        customer_id = self.customer_ids[n % len(self.customer_ids)]
        order = (
            order_id, external_id, customer_id, amount, CURRENCY, placed, order_status, paid, refunded,
            "api", content, f"{n:064x}", placed, placed,
        )  # fmt: skip
        approved = approved_at if status == "approved" else None
        commission_row = (
            commission_id, order_id, external_id, partner_id, self.plan_id, "initial", amount, commission,
            reversed_amount, CURRENCY, RATE_BPS, status, paid, refunded, closed_at is not None, closed_at,
            False, approve_after, approved, accrued_at, accrued_at, accrued_at,
        )  # fmt: skip
        return order, commission_row, fate


async def seed(url: str, orders: int, partners: int) -> Seeded:
    month = Month(orders, partners)
    writer = PostgresWriter(url) if url.startswith("postgresql") else SqliteWriter(url)
    started = time.perf_counter()
    async with writer:
        await writer.write(month.reference_rows())
        for batch in month.batches():
            await writer.write(batch)
        await writer.analyze()
    month.seeded.seconds = time.perf_counter() - started
    return month.seeded


# ---------------------------------------------------------------------------------------- measuring


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@dataclass
class Measured:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """This process's CPU time (all threads): for PostgreSQL the server's work is not in it."""
    traced_peak: int | None = None
    rss_start: int = 0
    rss_peak: int = 0
    max_rss: int = 0


@asynccontextmanager
async def measure(trace: bool) -> AsyncIterator[Measured]:
    """Wall time, tracemalloc's peak (when ``trace``), RSS sampled every 10 ms, and getrusage's max RSS."""
    result = Measured(rss_start=_rss())
    result.rss_peak = result.rss_start
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            result.rss_peak = max(result.rss_peak, _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if trace:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        result.cpu_seconds = time.process_time() - cpu_started
        if trace:
            result.traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        done.set()
        sampler.join()
        result.rss_peak = max(result.rss_peak, _rss())
        result.max_rss = _max_rss()


Balances = dict[tuple[UUID, str], tuple[int, int]]


async def aggregate(session: Any, before: datetime) -> tuple[list[Row], float]:
    """One SQL aggregate: sum of the partner accounts' lines dated before ``before``, per account."""
    query = (
        select(LedgerLine.account, LedgerLine.currency, func.sum(LedgerLine.amount), func.count())
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.occurred_at < before, LedgerLine.account.like("partner:%"))
        .group_by(LedgerLine.account, LedgerLine.currency)
    )
    started = time.perf_counter()
    rows = [tuple(row) for row in await session.execute(query)]
    return rows, time.perf_counter() - started


def owed_by_partner(rows: list[Row]) -> tuple[Balances, int]:
    """``(partner, currency) -> (pending owed, payable owed)`` from the aggregate, and its line count."""
    owed: dict[tuple[UUID, str], list[int]] = {}
    count = 0
    for account, currency, total, lines in rows:
        owner = partner_account_of(account)
        if owner is None:
            continue
        pair = owed.setdefault((owner[0], currency), [0, 0])
        pair[0 if owner[1] == "pending" else 1] -= int(total)  # credits are owed to the partner
        count += int(lines)
    return {key: (pending, payable) for key, (pending, payable) in owed.items()}, count


@dataclass
class Issued:
    closings: Balances
    statement_lines: int
    carried_lines: int


async def read_issued(session: Any) -> Issued:
    s = Statement
    query = select(s.partner_id, s.currency, s.closing_pending, s.closing_payable).where(s.period == PERIOD)
    rows = await session.execute(query)
    closings = {(partner_id, currency): (pending, payable) for partner_id, currency, pending, payable in rows}
    statement_lines = await session.scalar(select(func.count()).select_from(StatementLine))
    carried = await session.scalar(select(func.count()).select_from(StatementLedgerLine))
    return Issued(closings, int(statement_lines or 0), int(carried or 0))


def check(issued: Issued, owed: Balances, partner_lines: int, seeded: Seeded) -> list[str]:
    """What does not agree between the statements, the aggregate and the seed (empty when all agree)."""
    problems = []
    if issued.closings.keys() != owed.keys():
        only_s, only_a = issued.closings.keys() - owed.keys(), owed.keys() - issued.closings.keys()
        problems.append(
            f"{len(only_s)} statements without aggregate rows, {len(only_a)} partners without statement"
        )
    differing = [key for key in issued.closings.keys() & owed.keys() if issued.closings[key] != owed[key]]
    if differing:
        key = differing[0]
        problems.append(
            f"{len(differing)} partners' closings differ, e.g. {key}: statement {issued.closings[key]}, "
            f"aggregate {owed[key]}"
        )
    if partner_lines != seeded.partner_lines:
        problems.append(f"the aggregate summed {partner_lines} lines, the seed posted {seeded.partner_lines}")
    if issued.carried_lines != seeded.partner_lines:
        problems.append(
            f"statements carry {issued.carried_lines} ledger lines, the seed posted {seeded.partner_lines}"
        )
    if issued.statement_lines != seeded.entries:
        problems.append(
            f"statements have {issued.statement_lines} lines, the seed posted {seeded.entries} entries"
        )
    return problems


# ------------------------------------------------------------------------------------------ running


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f}"


def _row(label: str, m: Measured, extra: str = "") -> str:
    grown = m.rss_peak - m.rss_start
    return (
        f"  {label:<30}{m.seconds:>10.2f}{m.cpu_seconds:>10.2f}{_mib(m.traced_peak):>14}"
        f"{f'{_mib(m.rss_peak)} (+{_mib(grown)})':>22}{_mib(m.max_rss):>12}  {extra}"
    )


async def run(url: str, orders: int, partners: int, trace: bool) -> None:
    import growth.app  # noqa: F401 (registers every model, as the app does)

    configure_logging("WARNING")
    print(f"statements benchmark on {make_url(url).get_backend_name()}: period {PERIOD} ({TZ})")
    seeded = await seed(url, orders, partners)
    report_seed(seeded)
    month = parse_period(PERIOD)
    before = period_bounds(month.year, month.month, TZ)[1]
    engine = make_engine(url)
    session_maker = make_db_config(engine).create_session_maker()
    try:
        async with session_maker() as session, session.begin():
            async with measure(trace) as summed:
                rows, query_seconds = await aggregate(session, before)
        async with measure(trace) as issuing, session_maker() as session:
            async with session.begin():
                async with measure(False) as call:
                    result = await statement_service.issue_statements(session, period=PERIOD, now=NOW, tz=TZ)
        async with session_maker() as session:
            issued = await read_issued(session)
    finally:
        await engine.dispose()
    commit_seconds = issuing.seconds - call.seconds
    heads = f"{'wall s':>10}{'CPU s':>10}{'Python MiB':>14}{'RSS MiB (growth)':>22}{'max RSS MiB':>12}"
    print(f"\n  {'':<30}{heads}")
    statements = f"{result.issued:,} statements ({call.seconds:.2f} s call, {commit_seconds:.2f} s commit)"
    print(_row("issue_statements + commit", issuing, statements))
    print(_row("SQL aggregate", summed, f"{len(rows):,} account rows ({query_seconds:.2f} s query)"))
    ratio = issuing.seconds / summed.seconds
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"  {'ratio statements / aggregate':<30}{ratio:>9.2f}x  target at most {TARGET_RATIO}x: {verdict}")
    print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{n:.2f}" for n in os.getloadavg()))
    print(
        f"\n  issued {result.issued:,} statements ({result.skipped} skipped) "
        f"with {issued.statement_lines:,} lines carrying {issued.carried_lines:,} ledger lines"
    )
    owed, partner_lines = owed_by_partner(rows)
    if problems := check(issued, owed, partner_lines, seeded):
        raise SystemExit("MISMATCH between the statements and the aggregate:\n  " + "\n  ".join(problems))
    pending, payable = sum(p for p, _ in owed.values()), sum(p for _, p in owed.values())
    print(
        f"  check: the closing balances of all {len(issued.closings):,} statements equal the aggregate's "
        f"(owed in total: pending {pending:,}, payable {payable:,} minor units of {CURRENCY}): OK"
    )


def report_seed(seeded: Seeded) -> None:
    fates = ", ".join(f"{fate} {count:,}" for fate, count in sorted(seeded.fates.items()))
    print(
        f"  seeded {seeded.orders:,} orders, {seeded.commissions:,} commissions, "
        f"{seeded.partners:,} partners, {seeded.customers:,} customers\n"
        f"         {seeded.entries:,} ledger entries, {seeded.lines:,} ledger lines "
        f"({seeded.partner_lines:,} on partner accounts) in {seeded.seconds:.1f} s (incl. ANALYZE)\n"
        f"         orders: {fates}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--postgres", help="PostgreSQL server URL; a fresh database is created and dropped")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slows the statements ~4x)"
    )
    args = parser.parse_args()
    folder = None
    if args.postgres:
        name = f"growth_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    else:
        folder = tempfile.mkdtemp(prefix="growth-bench-")
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
    try:
        upgrade_head(url)
        asyncio.run(run(url, args.orders, args.partners, args.tracemalloc))
    finally:
        if args.postgres:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif folder is not None:
            for path in Path(folder).iterdir():
                path.unlink()
            Path(folder).rmdir()


if __name__ == "__main__":
    main()

"""Benchmark: the marketing dashboard's queries at a million orders.

Seeds a fresh database (SQLite by default, or a new database on the PostgreSQL server given with
--postgres, dropped afterwards) through the real migrations with a year of referral activity: orders
over the last 12 months (more on weekdays and in the evening, growing over the year), every one with
its attribution (30 % referred: by customers through referral codes of 20 campaigns, or by
partners), firewall reviews of the referred ones (some held or rejected), rewards and commissions,
share submissions and clicks on the codes. Seeding (bulk inserts, COPY on PostgreSQL, then ANALYZE)
is timed separately.

Then it times each chart and table of the dashboard the way the API builds it, through the
analytics service functions, for three filters (all campaigns for the last 30 days, all for 12
months, the busiest campaign for 90 days): p50, p95 and max of ``--rounds`` calls after two
warm-ups, each in a fresh session like a request. Last it runs the real app under uvicorn and times
the API endpoints and the ``/marketing/analytics`` page over HTTP (signed in as marketing):

    .venv/bin/python -m benchmarks.dashboard [--orders 1000000] [--rounds 20] [--explain]
    .venv/bin/python -m benchmarks.dashboard --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

With --explain, every SQL statement of each chart is printed with its own time and the engine's
plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import math
import os
import random
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from uuid_utils.compat import uuid7

from benchmarks.statements import COLUMNS as STATEMENT_COLUMNS
from benchmarks.statements import PostgresWriter, Row, SqliteWriter, _admin, _max_rss
from growth.core.db import make_db_config, make_engine, upgrade_head
from growth.core.logging import configure_logging

TODAY = datetime.now(UTC).date()
END = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) + timedelta(days=1)
"""Orders run up to the end of today (UTC, the program's time zone here), so "the last 30 days" has data."""
DAYS = 365
START = END - timedelta(days=DAYS)
BATCH_ORDERS = 10_000
REFERRED_SHARE = 0.30
PARTNER_SHARE = 0.20
"""Of the referred orders, the share a partner brought (the rest: customers' codes)."""
CAMPAIGNS = 20
PARTNER_CAMPAIGNS = 2
SHARE_CAMPAIGNS = 2
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.05, 1.1, 1.3, 1.5, 1.25)  # Monday first: the weekend sells more
HOUR_WEIGHTS = (  # UTC hours: quiet at night, a lunch bump, the evening peak
    2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 11, 13, 12, 10, 9, 9, 10, 12, 15, 17, 16, 11, 5,
)  # fmt: skip

COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "external_id", "email", "email_key", "name", "created_at", "updated_at"),
    "partners": (
        "id", "name", "email", "email_key", "status", "approved_at", "credit_tier", "is_identity_verified",
        "created_at", "updated_at",
    ),
    "campaigns": (
        "id", "name", "kind", "status", "landing_url", "currency", "hashtag", "attribution_window_days",
        "attribution_model", "codes_issued", "new_customers_only", "hold_days", "min_order_amount",
        "budget_spent", "risk_overrides", "created_at", "updated_at",
    ),
    "reward_rules": (
        "id", "campaign_id", "side", "reward_type", "amount", "out_of_stock", "is_active", "created_at",
        "updated_at",
    ),
    "commission_plans": STATEMENT_COLUMNS["commission_plans"],
    "referral_codes": (
        "id", "code", "code_key", "is_vanity", "campaign_id", "customer_id", "partner_id", "created_at",
        "updated_at",
    ),
    "share_submissions": (
        "id", "campaign_id", "customer_id", "referral_code_id", "url", "url_key", "platform", "status",
        "submitted_at", "reviewed_at", "created_at", "updated_at",
    ),
    "orders": STATEMENT_COLUMNS["orders"],
    "attributions": (
        "id", "order_id", "method", "referral_code_id", "campaign_id", "customer_referrer_id", "partner_id",
        "explanation", "rejected", "decided_at", "created_at", "updated_at",
    ),
    "order_reviews": (
        "id", "order_id", "verdict", "reasons", "status", "reviewed_at", "created_at", "updated_at",
    ),
    "rewards": (
        "id", "grant_key", "campaign_id", "rule_id", "customer_id", "side", "reward_type", "order_id",
        "order_external_id", "referee_customer_id", "share_submission_id", "amount", "currency",
        "referral_code_id", "status", "is_granted", "is_stock_reserved", "is_waiting_for_stock",
        "is_order_disputed", "is_order_held", "approved_at", "created_at", "updated_at",
    ),
    "commissions": STATEMENT_COLUMNS["commissions"],
    "clicks": ("id", "referral_code_id", "campaign_id", "clicked_at", "created_at", "updated_at"),
}  # fmt: skip


# ------------------------------------------------------------------------------------------ seeding


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    busiest_campaign: UUID | None = None


def _zipf(n: int, s: float = 0.8) -> list[float]:
    """Cumulative weights ~ 1 / rank^s: a few bring many, most bring a few."""
    return list(itertools.accumulate(1 / (rank + 1) ** s for rank in range(n)))


@dataclass(frozen=True, slots=True)
class Code:
    id: UUID
    campaign_id: UUID
    owner_id: UUID
    """The customer (or partner) the code belongs to."""


class Year:
    """A year of a referral program's activity, generated in batches."""

    def __init__(self, orders: int, customers: int, referrers: int, partners: int, clicks: int) -> None:
        self.rng = random.Random(2026)
        self.orders, self.clicks = orders, clicks
        self.seeded = Seeded()
        self.customer_ids = [uuid7() for _ in range(customers)]
        self.partner_ids = [uuid7() for _ in range(partners)]
        self.campaigns = [
            (uuid7(), "partner" if i < PARTNER_CAMPAIGNS else "social_share" if i < 4 else "referral")
            for i in range(CAMPAIGNS)
        ]
        self.rules = {
            cid: {side: uuid7() for side in ("referrer", "referee", "share")} for cid, _ in self.campaigns
        }
        self.plan_id = uuid7()
        customer_campaigns = [c for c, kind in self.campaigns if kind != "partner"]
        partner_campaigns = [c for c, kind in self.campaigns if kind == "partner"]
        campaign_weights = _zipf(len(customer_campaigns), 0.6)
        referrer_campaigns = self.rng.choices(customer_campaigns, cum_weights=campaign_weights, k=referrers)
        self.customer_codes = [
            Code(uuid7(), campaign, self.customer_ids[i]) for i, campaign in enumerate(referrer_campaigns)
        ]
        self.partner_codes = [
            Code(uuid7(), partner_campaigns[i % len(partner_campaigns)], pid)
            for i, pid in enumerate(self.partner_ids)
        ]
        self.rng.shuffle(self.customer_codes)  # popularity is not the order of creation
        self.customer_weights, self.partner_weights = _zipf(referrers), _zipf(partners)
        self.share_codes = [
            c for c in self.customer_codes if dict(self.campaigns)[c.campaign_id] == "social_share"
        ]
        day_weights = [
            WEEKDAY_WEIGHTS[(START + timedelta(days=d)).weekday()] * (0.7 + 0.6 * d / DAYS)
            for d in range(DAYS)
        ]
        self.day_cum, self.hour_cum = (
            list(itertools.accumulate(day_weights)),
            list(itertools.accumulate(HOUR_WEIGHTS)),
        )
        self.campaign_orders: dict[UUID, int] = {}

    def instants(self, k: int, part: tuple[int, int] = (0, 1)) -> list[datetime]:
        """``k`` moments in time order, by day (weekday, growth) and hour of day.

        ``part`` ``(i, n)``: from the i-th of n equal shares of the year's activity, so that rows are
        written about in the order they happen, as a live program writes them (the tables' physical
        order follows time, which the range scans depend on).
        """
        rng, total = self.rng, self.day_cum[-1]
        lo, hi = part[0] / part[1] * total, (part[0] + 1) / part[1] * total
        days = [bisect.bisect_left(self.day_cum, rng.uniform(lo, hi)) for _ in range(k)]
        hours = rng.choices(range(24), cum_weights=self.hour_cum, k=k)
        return sorted(
            START + timedelta(days=min(d, DAYS - 1), hours=h, seconds=rng.randrange(3600))
            for d, h in zip(days, hours, strict=True)
        )

    def reference_rows(self) -> dict[str, list[Row]]:
        at = START - timedelta(days=30)
        customers = [
            (
                cid,
                f"cust-{n}",
                f"cust{n}@example.com",
                f"cust{n}@example.com",
                f"Customer{n} Test{n % 97}",
                at,
                at,
            )
            for n, cid in enumerate(self.customer_ids)
        ]
        partners = [
            (pid, f"Partner {n}", f"partner{n}@example.com", f"partner{n}@example.com", "approved", at,
             "standard", False, at, at)
            for n, pid in enumerate(self.partner_ids)
        ]  # fmt: skip
        counts = {c: 0 for c, _ in self.campaigns}
        for code in (*self.customer_codes, *self.partner_codes):
            counts[code.campaign_id] += 1
        campaigns = [
            (cid, f"Campaign {n}", kind, "active", "https://shop.example/", "CNY",
             f"#share{n}" if kind == "social_share" else None, 30, "last_click", counts[cid], True, 14, 0, 0,
             {}, at, at)
            for n, (cid, kind) in enumerate(self.campaigns)
        ]  # fmt: skip
        rules = [
            (rid, cid, side, "fixed_discount" if side == "referee" else "store_credit",
             1000 if side == "referee" else 2000, "none", True, at, at)
            for cid, sides in self.rules.items()
            for side, rid in sides.items()
        ]  # fmt: skip
        plan = [(self.plan_id, "Standard 10%", "percent", 1000, "CNY", 14, "none", at, at)]
        codes = [
            (c.id, f"C{n:07d}", f"C{n:07d}", False, c.campaign_id, c.owner_id, None, at, at)
            for n, c in enumerate(self.customer_codes)
        ] + [
            (c.id, f"P{n:07d}", f"P{n:07d}", False, c.campaign_id, None, c.owner_id, at, at)
            for n, c in enumerate(self.partner_codes)
        ]
        return {
            "customers": customers,
            "partners": partners,
            "campaigns": campaigns,
            "reward_rules": rules,
            "commission_plans": plan,
            "referral_codes": codes,
        }

    def batches(self) -> Iterator[dict[str, list[Row]]]:
        yield self.reference_rows()
        yield from self._shares()
        batches = math.ceil(self.orders / BATCH_ORDERS)
        for i, start in enumerate(range(0, self.orders, BATCH_ORDERS)):
            yield self._orders(range(start, min(start + BATCH_ORDERS, self.orders)), (i, batches))
        per_batch = BATCH_ORDERS * 3
        batches = math.ceil(self.clicks / per_batch)
        for i, start in enumerate(range(0, self.clicks, per_batch)):
            yield self._clicks(min(per_batch, self.clicks - start), (i, batches))

    def _count(self, tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
        for name, rows in tables.items():
            self.seeded.counts[name] = self.seeded.counts.get(name, 0) + len(rows)
        return tables

    def _shares(self) -> Iterator[dict[str, list[Row]]]:
        """Hashtag posts on the social-share campaigns (one in 50 orders), most approved and rewarded."""
        rng, n = self.rng, self.orders // 50
        if not self.share_codes:
            return
        submissions: list[Row] = []
        rewards: list[Row] = []
        platforms = ("weibo", "xiaohongshu", "douyin", "wechat_channels")
        for i, at in enumerate(self.instants(n)):
            code = rng.choice(self.share_codes)
            roll = rng.random()
            status = (
                "pending"
                if at > END - timedelta(days=3) or roll < 0.1
                else "rejected"
                if roll < 0.3
                else "approved"
            )
            reviewed = None if status == "pending" else at + timedelta(hours=rng.randint(1, 60))
            sid, url = uuid7(), f"https://weibo.com/{i}"
            submissions.append(
                (sid, code.campaign_id, code.owner_id, code.id, url, url, rng.choice(platforms), status, at,
                 reviewed, at, reviewed or at)
            )  # fmt: skip
            if status == "approved":
                rewards.append(
                    (uuid7(), f"share:{sid}", code.campaign_id, self.rules[code.campaign_id]["share"],
                     code.owner_id, "share", "store_credit", None, None, None, sid, 2000, "CNY", code.id,
                     "issued", True, False, False, False, False, reviewed, reviewed, reviewed)
                )  # fmt: skip
        yield self._count({"share_submissions": submissions})
        yield self._count({"rewards": rewards})

    def _orders(self, numbers: range, part: tuple[int, int]) -> dict[str, list[Row]]:
        rng = self.rng
        orders: list[Row] = []
        attributions: list[Row] = []
        reviews: list[Row] = []
        rewards: list[Row] = []
        commissions: list[Row] = []
        k = len(numbers)
        customers = rng.choices(self.customer_ids, k=k)
        referrers = rng.choices(self.customer_codes, cum_weights=self.customer_weights, k=k)
        partners = rng.choices(self.partner_codes, cum_weights=self.partner_weights, k=k)
        settled = END - timedelta(days=21)
        for n, placed, customer_id, by_customer, by_partner in zip(
            numbers, self.instants(k, part), customers, referrers, partners, strict=True
        ):
            order_id, external_id = uuid7(), f"SO-{n:08d}"
            currency = "USD" if rng.random() < 0.05 else "CNY"
            amount = max(100, int(rng.lognormvariate(9.4, 0.8)))
            roll = rng.random()
            recent = placed > settled
            status = (
                ("paid" if roll < 0.9 else "cancelled")
                if recent
                else "closed"
                if roll < 0.88
                else "refunded"
                if roll < 0.94
                else "cancelled"
            )
            paid = 0 if status == "cancelled" else amount
            refunded = amount if status == "refunded" else 0
            content = {"external_id": external_id, "amount": amount, "currency": currency, "lines": []}
            orders.append(
                (order_id, external_id, customer_id, amount, currency, placed, status, paid, refunded, "api",
                 content, f"{n:064x}", placed, placed)
            )  # fmt: skip
            decided = placed + timedelta(seconds=1)
            if rng.random() >= REFERRED_SHARE:
                attributions.append(
                    (uuid7(), order_id, "none", None, None, None, None, "no referral", [], decided, decided,
                     decided)
                )  # fmt: skip
                continue
            partner = rng.random() < PARTNER_SHARE
            code = by_partner if partner else by_customer
            if not partner and code.owner_id == customer_id:  # nobody refers themselves
                customer_id = rng.choice(self.customer_ids)
                orders[-1] = (*orders[-1][:2], customer_id, *orders[-1][3:])
            method = rng.choices(("referral_code", "click", "coupon"), cum_weights=(50, 85, 100))[0]
            attributions.append(
                (uuid7(), order_id, method, code.id, code.campaign_id, None if partner else code.owner_id,
                 code.owner_id if partner else None, f"{method} {code.id}", [], decided, decided, decided)
            )  # fmt: skip
            self.campaign_orders[code.campaign_id] = self.campaign_orders.get(code.campaign_id, 0) + 1
            verdict_roll = rng.random()
            verdict, review_status, reasons = "allow", "allowed", []
            if verdict_roll < 0.02:
                verdict, review_status, reasons = (
                    "reject",
                    "rejected",
                    [{"code": "self_referral", "action": "reject"}],
                )
            elif verdict_roll < 0.07:
                verdict = "hold"
                review_status = "held" if recent else rng.choice(("approved", "approved", "declined"))
                reasons = [{"code": "velocity", "action": "hold"}]
            reviews.append((uuid7(), order_id, verdict, reasons, review_status, decided, decided, decided))
            blocked = verdict == "reject" or review_status in ("held", "declined") or status == "cancelled"
            if partner:
                rate_amount = amount // 10
                c_status = "reversed" if blocked else "pending" if recent else "approved"
                reversed_amount = rate_amount if c_status == "reversed" else 0
                closed = None if recent else placed + timedelta(days=2)
                commissions.append(
                    (uuid7(), order_id, external_id, code.owner_id, self.plan_id, "initial", amount,
                     rate_amount, reversed_amount, currency, 1000, c_status, paid, refunded,
                     closed is not None, closed, False,
                     None if closed is None else closed + timedelta(days=14),
                     placed + timedelta(days=16) if c_status == "approved" else None, decided, decided,
                     decided)
                )  # fmt: skip
                continue
            r_status = (
                "voided"
                if blocked or status == "refunded"
                else "pending"
                if recent
                else rng.choices(("approved", "issued", "fulfilled"), cum_weights=(30, 90, 100))[0]
            )
            approved = None if r_status in ("pending", "voided") else placed + timedelta(days=16)
            rules = self.rules[code.campaign_id]
            sides = [("referrer", code.owner_id, 2000, "store_credit")]
            if rng.random() < 0.5:
                sides.append(("referee", customer_id, 1000, "fixed_discount"))
            for side, owner, value, kind in sides:
                rewards.append(
                    (uuid7(), f"order:{order_id}:{side}", code.campaign_id, rules[side], owner, side, kind,
                     order_id, external_id, customer_id, None, value, currency, code.id, r_status, True,
                     False, False, False, False, approved, decided, approved or decided)
                )  # fmt: skip
        return self._count(
            {
                "orders": orders,
                "attributions": attributions,
                "order_reviews": reviews,
                "rewards": rewards,
                "commissions": commissions,
            }
        )

    def _clicks(self, k: int, part: tuple[int, int]) -> dict[str, list[Row]]:
        codes = self.rng.choices(self.customer_codes, cum_weights=self.customer_weights, k=k)
        for i in range(0, k, 5):  # a fifth of the clicks are on partners' links
            codes[i] = self.rng.choices(self.partner_codes, cum_weights=self.partner_weights)[0]
        rows = [
            (uuid7(), code.id, code.campaign_id, at, at, at)
            for code, at in zip(codes, self.instants(k, part), strict=True)
        ]
        return self._count({"clicks": rows})


async def seed(url: str, year: Year) -> Seeded:
    writer = PostgresWriter(url, COLUMNS) if url.startswith("postgresql") else SqliteWriter(url, COLUMNS)
    started = time.perf_counter()
    async with writer:
        for batch in year.batches():
            await writer.write(batch)
        analyzed = time.perf_counter()
        await writer.analyze()
    year.seeded.seconds = time.perf_counter() - started
    year.seeded.counts["ANALYZE seconds"] = round(time.perf_counter() - analyzed)
    busiest = max(
        (c for c, kind in year.campaigns if kind == "referral"), key=lambda c: year.campaign_orders.get(c, 0)
    )
    year.seeded.busiest_campaign = busiest
    return year.seeded


# ---------------------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class Scenario:
    label: str
    first: date
    last: date
    campaign_id: UUID | None


def scenarios(campaign_id: UUID) -> list[Scenario]:
    last = END.date() - timedelta(days=1)
    return [
        Scenario("all campaigns, last 30 days", last - timedelta(days=29), last, None),
        Scenario("all campaigns, 12 months", last - timedelta(days=DAYS - 1), last, None),
        Scenario("one campaign, 90 days", last - timedelta(days=89), last, campaign_id),
    ]


def _ms(samples: list[float]) -> tuple[float, float, float]:
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[max(0, math.ceil(len(ms) * 0.95) - 1)], ms[-1]


class Statements:
    """Every SQL statement the engine runs while ``active``: its text, parameters and time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.active = False
        self.seen: list[tuple[str, Any, float]] = []
        self._started: dict[int, float] = {}
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        started = self._started.pop(id(cursor), None)
        if self.active and started is not None:
            self.seen.append((statement, parameters, time.perf_counter() - started))


async def explain(session_maker: Any, dialect: str, statement: str, parameters: Any) -> list[str]:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    async with session_maker() as session:
        connection = await session.connection()
        rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
    if dialect == "postgresql":
        return [row[0] for row in rows]
    return [f"{'  ' * 0}{row[-1]}" for row in rows]


def _charts(
    costs: Any, terms: Any, names: Any
) -> dict[str, tuple[Callable[[AsyncSession, Any], Awaitable[Any]], Callable[[Any], str]]]:
    from growth.analytics import service as analytics

    return {
        "summary": (
            lambda s, f: analytics.summary(s, f, costs_lookup=costs, terms_lookup=terms),
            lambda v: f"{v.orders:,} orders, {v.referred_orders:,} referred, {v.clicks:,} clicks",
        ),
        "funnel": (
            lambda s, f: analytics.funnel(s, f, costs_lookup=costs),
            lambda v: f"{len(v.values)} stages {v.values}",
        ),
        "daily": (
            lambda s, f: analytics.daily(s, f),
            lambda v: f"{len(v.labels)} days, {sum(v.orders):,} orders",
        ),
        "heatmap": (
            lambda s, f: analytics.heatmap(s, f),
            lambda v: f"{sum(len(r) for r in v.values)} cells, {sum(map(sum, v.values)):,} orders",
        ),
        "top-referrers": (lambda s, f: analytics.top_referrers(s, f), lambda v: f"{len(v.rows)} rows"),
        "top-partners": (
            lambda s, f: analytics.top_partners(s, f, names_lookup=names),
            lambda v: f"{len(v.rows)} rows",
        ),
    }


async def measure_service(url: str, cases: list[Scenario], rounds: int, show_plans: bool) -> None:
    from campaigns.campaign import service as campaign_service
    from growth.analytics import service as analytics
    from growth.app import analytics_costs
    from payouts.partner import service as partner_service

    engine = make_engine(url)
    statements = Statements(engine)
    dialect = engine.dialect.name
    session_maker = make_db_config(engine).create_session_maker()
    charts = _charts(analytics_costs, campaign_service.get_terms, partner_service.partner_names)
    try:
        for case in cases:
            async with session_maker() as session:
                f = await analytics.filters(
                    session,
                    first=case.first.isoformat(),
                    last=case.last.isoformat(),
                    campaign_id=None if case.campaign_id is None else str(case.campaign_id),
                    timezone="UTC",
                    today=END.date(),
                    terms_lookup=campaign_service.get_terms,
                )
            print(
                f"\n  service, {case.label} ({case.first} .. {case.last}), {rounds} rounds after 2 warm-ups"
            )
            print(f"    {'chart':<15}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'CPU ms':>9}  SQL  result")
            for name, (call, describe) in charts.items():
                samples: list[float] = []
                cpu: list[float] = []
                view = None
                for i in range(rounds + 2):
                    statements.active, statements.seen = i == 0, []
                    started, cpu_started = time.perf_counter(), time.process_time()
                    async with session_maker() as session:
                        view = await call(session, f)
                    if i >= 2:
                        samples.append(time.perf_counter() - started)
                        cpu.append(time.process_time() - cpu_started)
                    if i == 0:
                        first_run = statements.seen
                statements.active = False
                p50, p95, top = _ms(samples)
                cpu_ms = statistics.median(cpu) * 1000
                print(
                    f"    {name:<15}{p50:>9.1f}{p95:>9.1f}{top:>9.1f}{cpu_ms:>9.1f}{len(first_run):>5}  "
                    f"{describe(view)}"
                )
                if show_plans:
                    for statement, parameters, seconds in first_run:
                        sql = " ".join(statement.split())[:400]
                        print(f"      -- {seconds * 1000:.1f} ms (first run): {sql}")
                        for line in await explain(session_maker, dialect, statement, parameters):
                            print(f"         {line}")
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _marketing_key(url: str) -> str:
    from growth.core.auth import service as auth_service
    from growth.core.auth.rules import Role

    engine = make_engine(url)
    async with make_db_config(engine).create_session_maker()() as session, session.begin():
        secret = (await auth_service.create_key(session, name="bench", role=Role.marketing)).secret
    await engine.dispose()
    return secret


_CSRF = re.compile(r'<input type="hidden" name="_csrf_token" value="([^"]+)"')


async def measure_http(url: str, cases: list[Scenario], rounds: int) -> None:
    """The real app under uvicorn: the API's JSON endpoints and the dashboard page, signed in as marketing."""
    import httpx
    import uvicorn

    from growth.app import create_app
    from growth.settings import Settings

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
    key = await _marketing_key(url)
    html = {"accept": "text/html"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            page = await client.get("/sign-in", headers=html)
            token = _CSRF.search(page.text)
            assert token, "the sign-in page has no CSRF token"
            signed = await client.post(
                "/sign-in", data={"key": key, "next": "", "_csrf_token": token.group(1)}, headers=html
            )
            assert signed.status_code < 400, signed.text[:500]
            api = {"Authorization": f"Bearer {key}"}
            paths = [f"/api/analytics/{name}" for name in ("summary", "funnel", "daily", "heatmap")]
            paths += ["/api/analytics/top-referrers", "/api/analytics/top-partners", "/marketing/analytics/"]
            for case in cases:
                query = {"from": case.first.isoformat(), "to": case.last.isoformat()}
                if case.campaign_id:
                    query["campaign_id"] = str(case.campaign_id)
                print(f"\n  HTTP (uvicorn, one client), {case.label}, {rounds} rounds after 2 warm-ups")
                print(f"    {'GET':<32}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  bytes")
                for path in paths:
                    samples: list[float] = []
                    size = 0
                    headers = html if path.startswith("/marketing") else api
                    for i in range(rounds + 2):
                        started = time.perf_counter()
                        response = await client.get(path, params=query, headers=headers)
                        elapsed = time.perf_counter() - started
                        assert response.status_code == 200, (path, response.status_code, response.text[:300])
                        size = len(response.content)
                        if i >= 2:
                            samples.append(elapsed)
                    p50, p95, top = _ms(samples)
                    print(f"    {path:<32}{p50:>9.1f}{p95:>9.1f}{top:>9.1f}  {size:,}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def busiest_campaign(url: str) -> UUID:
    """The referral campaign with the most referred orders (of a database seeded before)."""
    from sqlalchemy import func, select

    from campaigns.campaign.models import Campaign
    from growth.attribution.models import Attribution

    engine = make_engine(url)
    try:
        async with make_db_config(engine).create_session_maker()() as session:
            query = (
                select(Attribution.campaign_id)
                .join(Campaign, Campaign.id == Attribution.campaign_id)
                .where(Campaign.kind == "referral")
                .group_by(Attribution.campaign_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            return (await session.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def run(url: str, args: argparse.Namespace) -> None:
    import growth.app  # noqa: F401 (registers every model, as the app does)

    configure_logging("WARNING")
    clicks = args.clicks if args.clicks is not None else args.orders * 3
    print(f"dashboard benchmark on {make_url(url).get_backend_name()}: {START.date()} .. {END.date()} (UTC)")
    if args.database:
        print("  measuring the database given, seeded before (by this benchmark, the same day)")
        campaign = await busiest_campaign(url)
    else:
        year = Year(args.orders, args.customers, args.referrers, args.partners, clicks)
        seeded = await seed(url, year)
        analyze = seeded.counts.pop("ANALYZE seconds")
        counts = ", ".join(f"{n:,} {name}" for name, n in seeded.counts.items())
        print(f"  seeded {counts}\n  in {seeded.seconds:.1f} s (incl. ANALYZE {analyze} s)")
        assert seeded.busiest_campaign is not None
        campaign = seeded.busiest_campaign
    cases = scenarios(campaign)
    await measure_service(url, cases, args.rounds, args.explain)
    if args.http_rounds:
        await measure_http(url, cases, args.http_rounds)
    print(f"\n  max RSS of this process: {_max_rss() / 2**20:,.0f} MiB")
    print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{n:.2f}" for n in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--referrers", type=int, default=20_000, help="customers with a referral code")
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument("--clicks", type=int, default=None, help="clicks on the codes (default: 3 per order)")
    parser.add_argument("--rounds", type=int, default=20, help="timed calls per chart and filter")
    parser.add_argument(
        "--http-rounds", type=int, default=10, help="timed requests per endpoint (0: skip HTTP)"
    )
    parser.add_argument("--explain", action="store_true", help="print every statement's time and plan")
    parser.add_argument("--postgres", help="PostgreSQL server URL; a fresh database is created and dropped")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (its URL is printed)")
    parser.add_argument("--database", help="measure this database, kept (--keep) from an earlier run")
    args = parser.parse_args()
    folder = None
    if args.database:
        asyncio.run(run(args.database, args))
        return
    if args.postgres:
        name = f"growth_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    else:
        folder = tempfile.mkdtemp(prefix="growth-bench-")
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
    try:
        upgrade_head(url)
        asyncio.run(run(url, args))
    finally:
        if args.keep:
            print(f"  kept the database: {url}")
        elif args.postgres:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif folder is not None:
            for path in Path(folder).iterdir():
                path.unlink()
            Path(folder).rmdir()


if __name__ == "__main__":
    main()

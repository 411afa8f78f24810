"""Hypothesis drives random sequences of orders through the real services and a local stand-in for
Stripe, on a simulated clock that crosses calendar months: partner orders (commissions) and orders
referred by a customer (a store-credit reward for the referrer, under a campaign budget) are placed,
paid, closed, refunded in part or in full, cancelled, disputed (won or lost); plans change, time
passes hold periods (the approval jobs run), statements are issued, payout runs are created and
executed (Stripe declines a closed account: a failed transfer), bank payouts are confirmed. The
domain events each step publishes are handled by the subscribers the app registers, in the step's
transaction (``dispatch_in_transaction``; the outbox worker has its own tests, crash tests included).
After every step it checks the database against a plain-Python model and against itself:

1. every journal entry sums to zero per currency;
2. balances equal the sum of statement lines: each partner's statements form a chain (the first
   opens at zero, each opens at its predecessor's closing, each closes at its opening plus its
   lines, each line is the sum of the ledger lines it carries, all dated before the period's end);
   the ledger balance is the latest closing plus the lines no statement carries yet, and as of
   each period's end it is that statement's closing; no ledger line is on two statements;
3. a payable balance is negative only when a clawback explains it: never below minus what was
   clawed back, nor below minus what already left payable for a payout;
4. money is conserved: approved - clawed back = payable + in payout + paid, per partner and
   currency, where paid counts sent and confirmed payouts (a declined one returns to payable);
5. a commission exists at most once per order, a reward at most once per order (and exactly for
   the orders the customer referred), a payout at most once per partner, run and currency, a run at
   most once per period and currency;
6. the rewards are where the model says (pending, not granted, issued, voided; granted or not), the
   campaign's spent budget is what the live granted rewards cost and never above the budget, and the
   referrer's store credit in the ledger is what the issued rewards gave;

and each balance (pending, payable, in payout, paid) is what the model says it must be.

Along the way: a run for the month the clock is in is refused (``PeriodNotOver``), a run for a
month already run is ``PayoutRunExists``, and neither writes anything; a run issues its month's
statements first, pays exactly the partners the model expects (minimum, tax form, cooling-off)
and names each payout's statement; executing a run again sends nothing; issuing a month's
statements again issues nothing.

How many sequences: the ``default`` Hypothesis profile (CI) runs ``CHUNKS`` test cases of
``SEQUENCES[profile][0] // CHUNKS`` sequences of at most ``SEQUENCES[profile][1]`` steps (pytest-xdist
spreads the chunks over its workers); ``pytest --hypothesis-profile=nightly`` runs ten times as many,
five times as long. Setting up the program through the services costs more than a short sequence, so
it is done once per database and copied back before each sequence (``Template``).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignKind, CampaignStatus
from campaigns.reward import service as reward_service
from campaigns.reward.models import Reward
from campaigns.reward.rules import RewardType, RuleSpec, Side
from growth.attribution.service import Hints
from growth.core.db import SessionMaker, make_db_config, make_engine, metadata
from growth.core.events.service import Subscriptions, dispatch_in_transaction
from growth.core.ports import no_leads
from growth.customer import service as customer_service
from growth.ledger import service as ledger_service
from growth.ledger.models import LedgerEntry, LedgerLine
from growth.order import service as order_service
from growth.order.rules import OrderEventType
from growth.referral_code import service as referral_code_service
from growth.risk.rules import Rule
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.commission.models import Commission
from payouts.commission.rules import PlanKind, PlanSpec
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.errors import PayoutNotConfirmable, PayoutRunExists
from payouts.payout_run.models import Payout, PayoutRun, PayoutSkip
from payouts.provider import service as provider_service
from payouts.provider.rules import Destination, ProviderName
from payouts.statement import service as statement_service
from payouts.statement.errors import PeriodNotOver
from payouts.statement.models import Statement, StatementLedgerLine, StatementLine
from tests.conftest import triggers_bypassed
from tests.factories import verify_for_payouts
from tests.payouts.stripe_standin import API_KEY, StripeStandIn, serve

T = TypeVar("T")
SEQUENCES = {"default": (1_000, 10), "nightly": (10_000, 50)}
"""Hypothesis profile -> (sequences, at most so many steps each); any other profile ("ci", loaded
when Hypothesis sees a CI environment) runs the default's."""
CHUNKS = 4
PARTNERS = 3
CUSTOMER = PARTNERS
"""An order placed with this "partner" number is referred by a customer's code, not a partner's."""
REWARD = 2_000
"""The referrer's store credit for each order a friend places with its code."""
REWARD_BUDGET = 5 * REWARD
REWARD_HOLD_DAYS = 7
VACUUM_EVERY = 50
"""Sequences between two vacuums of PostgreSQL's tables (``_vacuum``)."""
BANK_PARTNERS = (0, 1)
STRIPE_PARTNER = 2
HOLD_DAYS = 10
COOLING_OFF_DAYS = 7
TZ = "UTC"
HISTORY = datetime(2030, 1, 8, 9, tzinfo=UTC)
"""The program starts; a few weeks of business follow (``MoneyMachine.history``)."""
START = datetime(2030, 2, 3, 9, tzinfo=UTC)
"""Each sequence starts here, a few days after January ended, with money pending, approved and
issued: January's payout run is one step away, February's end a step or two."""
BUCKETS = ("pending", "payable", "in_payout")
SENT = ("sent", "paid")


def _round(value: Fraction) -> int:
    """Half away from zero, written independently of growth.core.money."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    return sign * (whole + (1 if magnitude - whole >= Fraction(1, 2) else 0))


def _month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def _period_bounds(period: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a month ``YYYY-MM`` in UTC, the program's time zone here."""
    year, month = map(int, period.split("-"))
    return _month_start(year, month), _month_start(year, month + 1)


def _over_months(now: datetime) -> list[str]:
    """The months from HISTORY's up to the last one that is over at ``now`` (UTC months)."""
    months, year, month = [], HISTORY.year, HISTORY.month
    while _month_start(year, month + 1) <= now:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# ------------------------------------------------------------------------------------------- model


@dataclass
class ModelReward:
    status: str = "pending"
    is_granted: bool = False
    approve_at: datetime | None = None


@dataclass
class ModelOrder:
    external_id: str
    partner: int
    """A partner's number, or ``CUSTOMER``."""
    amount: int
    commission: int
    status: str = "placed"
    paid: int = 0
    refunded: int = 0
    closed_at: datetime | None = None
    approved: bool = False
    left: int = 0
    """What is left of the commission after refunds."""
    status_before_dispute: str | None = None
    reward: ModelReward | None = None

    def __post_init__(self) -> None:
        self.left = self.commission
        if self.partner == CUSTOMER:
            self.reward = ModelReward()

    @property
    def is_partners(self) -> bool:
        return self.partner != CUSTOMER


@dataclass
class ModelPartner:
    provider: ProviderName
    has_tax_form: bool
    account_changed_at: datetime
    rate: int = 1000
    approved: int = 0
    """Moved from pending to payable."""
    clawed_back: int = 0
    """Taken back from payable by refunds after approval."""
    in_payout: int = 0
    paid: int = 0
    """Sent (or sent and confirmed) payouts."""

    @property
    def payable(self) -> int:
        return self.approved - self.clawed_back - self.in_payout - self.paid


@dataclass
class ModelPayout:
    id: UUID
    run_id: UUID
    partner: int
    amount: int
    provider: str
    statement_id: UUID | None
    status: str = "pending"


@dataclass
class Model:
    partners: list[ModelPartner]
    orders: list[ModelOrder] = field(default_factory=list)
    runs: dict[tuple[str, str], UUID] = field(default_factory=dict)
    payouts: dict[UUID, ModelPayout] = field(default_factory=dict)
    is_stripe_declining: bool = False

    def pending(self, partner: int) -> int:
        return sum(o.left for o in self.orders if o.partner == partner and not o.approved)

    def rewards(self) -> dict[str, ModelReward]:
        return {o.external_id: o.reward for o in self.orders if o.reward is not None}

    def reward_spent(self) -> int:
        return sum(REWARD for r in self.rewards().values() if r.is_granted and r.status != "voided")

    def store_credit(self) -> int:
        return sum(REWARD for r in self.rewards().values() if r.status == "issued")


# ---------------------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class Snapshot:
    """Everything the invariants look at, read in one transaction."""

    lines: list[Any]
    """``(id, entry_id, kind, occurred_at, account, amount, currency)`` of every ledger line."""
    statements: list[Any]
    """``(id, partner_id, currency, period, sequence, period_start, period_end, opening_pending,
    opening_payable, closing_pending, closing_payable)``."""
    statement_lines: list[Any]
    """``(id, statement_id, pending_change, payable_change, ledger_line_id)``: one row per ledger
    line a statement line carries (ledger_line_id None when it carries none)."""
    commissions: list[Any]
    """``(order_id,)``."""
    payouts: list[Any]
    """``(id, run_id, partner_id, currency, amount, status, provider, statement_id)``."""
    runs: list[Any]
    """``(id, period, currency)``."""
    rewards: list[Any]
    """``(order_id, order_external_id, side, status, is_granted, amount)``."""
    reward_spent: int
    """The customer campaign's spent budget."""


async def _snapshot(session: Any) -> Snapshot:
    connection = await session.connection()  # plain rows: no ORM objects to build at every step

    async def rows(query: Any) -> list[Any]:
        return list((await connection.execute(query)).all())

    return Snapshot(
        lines=await rows(
            select(
                LedgerLine.id,
                LedgerLine.entry_id,
                LedgerEntry.kind,
                LedgerEntry.occurred_at,
                LedgerLine.account,
                LedgerLine.amount,
                LedgerLine.currency,
            ).join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        ),
        statements=await rows(
            select(
                Statement.id,
                Statement.partner_id,
                Statement.currency,
                Statement.period,
                Statement.sequence,
                Statement.period_start,
                Statement.period_end,
                Statement.opening_pending,
                Statement.opening_payable,
                Statement.closing_pending,
                Statement.closing_payable,
            )
        ),
        statement_lines=await rows(
            select(
                StatementLine.id,
                StatementLine.statement_id,
                StatementLine.pending_change,
                StatementLine.payable_change,
                StatementLedgerLine.ledger_line_id,
            ).outerjoin(StatementLedgerLine, StatementLedgerLine.statement_line_id == StatementLine.id)
        ),
        commissions=await rows(select(Commission.order_id)),
        payouts=await rows(
            select(
                Payout.id,
                Payout.run_id,
                Payout.partner_id,
                Payout.currency,
                Payout.amount,
                Payout.status,
                Payout.provider,
                Payout.statement_id,
            )
        ),
        runs=await rows(select(PayoutRun.id, PayoutRun.period, PayoutRun.currency)),
        rewards=await rows(
            select(
                Reward.order_id,
                Reward.order_external_id,
                Reward.side,
                Reward.status,
                Reward.is_granted,
                Reward.amount,
            )
        ),
        reward_spent=int(
            (
                await connection.execute(select(Campaign.budget_spent).where(Campaign.kind == "referral"))
            ).scalar_one()
        ),
    )


@dataclass(frozen=True)
class PartnerLine:
    """A ledger line on a partner account, seen from the partner's side."""

    id: UUID
    partner: int
    bucket: str
    kind: str
    occurred_at: datetime
    owed: int
    """Minor units: minus the line's amount (a credit is more owed to the partner)."""
    currency: str


def _sum(lines: list[PartnerLine], bucket: str) -> int:
    return sum(line.owed for line in lines if line.bucket == bucket)


async def _counts(session: Any) -> tuple[int, ...]:
    """How many rows the tables a payout run writes hold."""
    return tuple(
        [
            int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (LedgerEntry, PayoutRun, Payout, PayoutSkip, Statement)
        ]
    )


Rows = list[tuple[Table, list[dict[str, Any]]]]


@dataclass(frozen=True)
class Template:
    """The database right after the program was set up, and the ids the machine takes from it."""

    rows: Rows
    model: Model
    partner_ids: list[UUID]
    codes: list[str]
    """The partners' referral codes, then the referring customer's."""
    referrer_id: UUID
    seq: int


async def _vacuum(engine: AsyncEngine) -> None:
    """PostgreSQL: clear out the rows each sequence's reset deleted (about 0.3 s); without it the later
    sequences of a chunk ran slower and slower (a stretch of 25 took 8 s at first, 12 s after 200)."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("VACUUM ANALYZE")


async def _copy(engine: AsyncEngine) -> Rows:
    async with engine.connect() as connection:
        copied = [
            (table, [dict(row) for row in (await connection.execute(select(table))).mappings()])
            for table in metadata.sorted_tables
        ]
    return [(table, rows) for table, rows in copied if rows]


async def _empty_all_tables(engine: AsyncEngine, *, then: Rows | None = None) -> None:
    """Empty every table, then insert ``then``. Unlike ``tests.conftest.empty_all_tables`` this
    deletes rather than truncates: a TRUNCATE of every table costs PostgreSQL about half a second,
    a DELETE of an example's few rows next to nothing. Triggers are bypassed as the suite's cleanup
    does, for the append-only audit log."""
    async with triggers_bypassed(engine) as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
        for table, rows in then or []:
            await connection.execute(table.insert(), rows)


# ----------------------------------------------------------------------------------------- machine


class MoneyMachine(RuleBasedStateMachine):
    """One partner program, three partners on percent plans in CNY: two paid by bank, one through
    Stripe; and one customer campaign whose referrer earns store credit for each friend's order."""

    loop: ClassVar[asyncio.AbstractEventLoop]
    engine: ClassVar[AsyncEngine]
    session_maker: ClassVar[SessionMaker]
    stand_in: ClassVar[StripeStandIn]
    template: ClassVar[Template | None] = None
    tally: ClassVar[Counter[str]]
    """What the sequences did, for the summary (test-artifacts/state-machine-summary.txt)."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions = Subscriptions()
        for name, handler in (
            ("order.attributed", commission_service.on_order_attributed),
            *((name, commission_service.on_order_event) for name in commission_service.ORDER_EVENTS),
        ):
            self.subscriptions.add(name, "payouts.commissions", handler)
        for name, handler in (
            ("order.attributed", reward_service.on_order_attributed),
            *((name, reward_service.on_order_event) for name in reward_service.ORDER_EVENTS),
        ):
            self.subscriptions.add(name, "campaigns.rewards", handler)
        self.providers = provider_service.providers(
            Settings(stripe_api_key=API_KEY, stripe_api_base=self.stand_in.base)
        )
        self.clock = START
        self.model = Model(
            partners=[
                ModelPartner(
                    provider=ProviderName.stripe if n == STRIPE_PARTNER else ProviderName.bank,
                    has_tax_form=n != 1,  # partner 1 files its tax form later (or never)
                    account_changed_at=START - timedelta(days=60),
                )
                for n in range(PARTNERS)
            ]
        )
        self.partner_ids: list[UUID] = []
        self.codes: list[str] = []
        self.referrer_id: UUID | None = None
        self.seq = 0

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        return self.loop.run_until_complete(work())

    def tx(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.session_maker() as session, session.begin():
                return await work(session)

        return self.run(go)

    def partner_of(self, partner_id: UUID) -> int:
        return self.partner_ids.index(partner_id)

    def stripe_destination(self) -> str:
        return f"acct_{self.partner_ids[STRIPE_PARTNER].hex[:16]}"

    @initialize(is_stripe_closed=st.sampled_from([False, False, False, True]))
    def program(self, is_stripe_closed: bool) -> None:
        """The program as the template holds it (set up through the services the first time); in a
        quarter of the sequences partner 2's Stripe account is closed from the start (its transfers
        fail until it reopens)."""
        self.tally["sequences"] += 1
        with self.stand_in.lock:
            self.stand_in.requests.clear()
            self.stand_in.responses.clear()
            self.stand_in.declined.clear()
        if (template := MoneyMachine.template) is None:
            self.run(lambda: _empty_all_tables(self.engine))
            self.clock = HISTORY
            self.tx(self._create_program)
            self.history()
            template = Template(
                self.run(lambda: _copy(self.engine)),
                copy.deepcopy(self.model),
                self.partner_ids,
                self.codes,
                self.referrer_id,
                self.seq,
            )
            MoneyMachine.template = template
        else:
            self.run(lambda: _empty_all_tables(self.engine, then=template.rows))
            if self.tally["sequences"] % VACUUM_EVERY == 0:
                self.run(lambda: _vacuum(self.engine))
        self.model, self.seq, self.clock = copy.deepcopy(template.model), template.seq, START
        self.partner_ids, self.codes = list(template.partner_ids), list(template.codes)
        self.referrer_id = template.referrer_id
        if is_stripe_closed:
            self._stripe_account("stripe_closes")

    def history(self) -> None:
        """Orders of every partner and of the customer's friends, closed or paid, then time passes to
        START: commissions and rewards are approved (partner 1 has no tax form yet), some still wait."""
        for partner, amount in (
            (0, 120_000),
            (1, 80_000),
            (2, 450_000),
            (CUSTOMER, 30_000),
            (CUSTOMER, 52_000),
        ):
            self._place(partner, amount, "closed")
        for partner, amount in ((0, 66_000), (2, 18_000), (CUSTOMER, 9_900)):
            self._place(partner, amount, "paid")
        self._pass_time(HISTORY + timedelta(days=HOLD_DAYS + 2))  # the approval job runs on the 20th
        self._pass_time(START)

    async def _create_program(self, session: Any) -> None:
        campaign = await campaign_service.create_campaign(
            session,
            default_currency="CNY",
            name="Consultants",
            kind=CampaignKind.partner,
            status=CampaignStatus.active,
            landing_url="https://shop.example/b2b",
            currency="CNY",
            new_customers_only=False,
            # The firewall would hold an order far above the campaign's usual amount, whose
            # commission this model expects to be approved: review holds have their own tests
            # (tests/payouts/commission/test_review_holds.py); here every rule is off.
            risk={rule.value: "off" for rule in Rule},
        )
        for n, model in enumerate(self.model.partners):
            partner = await partner_service.create_partner(
                session, name=f"Partner {n}", email=f"p{n}@example.com", now=self.clock
            )
            issued = await partner_service.issue_partner_code(
                session,
                partner_id=partner.id,
                campaign_id=campaign.id,
                terms_lookup=campaign_service.get_terms,
            )
            self.partner_ids.append(partner.id)
            self.codes.append(issued.referral_code.code)
            plan = await commission_service.create_plan(
                session,
                name=f"Plan {n}",
                spec=PlanSpec(PlanKind.percent, "CNY", rate_bps=model.rate, hold_days=HOLD_DAYS),
            )
            await commission_service.assign_plan(
                session, partner_id=partner.id, plan_id=plan.id, now=self.clock - timedelta(days=1)
            )
            await self._set_account(session, n, model.account_changed_at, number=f"62220212{n:08d}")
        friends = await campaign_service.create_campaign(
            session,
            default_currency="CNY",
            name="Friends",
            kind=CampaignKind.referral,
            status=CampaignStatus.active,
            landing_url="https://shop.example/friends",
            currency="CNY",
            new_customers_only=False,
            hold_days=REWARD_HOLD_DAYS,
            budget_amount=REWARD_BUDGET,
            risk={rule.value: "off" for rule in Rule},
        )
        await reward_service.add_rule(
            session, friends.id, RuleSpec(Side.referrer, RewardType.store_credit, amount=REWARD)
        )
        referrer = await customer_service.upsert_customer(session, external_id="mei", name="Mei Wang")
        issued = await referral_code_service.issue_customer_code(
            session,
            customer_external_id="mei",
            campaign_id=friends.id,
            terms_lookup=campaign_service.get_terms,
        )
        self.referrer_id = referrer.customer.id
        self.codes.append(issued.referral_code.code)

    async def _set_account(self, session: Any, n: int, at: datetime, *, number: str | None = None) -> None:
        model = self.model.partners[n]
        if model.provider is ProviderName.stripe:
            destination = Destination(ProviderName.stripe, self.stripe_destination())
        else:
            current = await provider_service.accounts_of(session, [self.partner_ids[n]])
            account = current.get(self.partner_ids[n])
            number = number or (account.bank_account_number if account else None)
            destination = Destination(ProviderName.bank, None, f"Holder {n}", "ICBC", number)
        await provider_service.set_account(
            session,
            self.partner_ids[n],
            destination=destination,
            tax_form_type="W-8BEN" if model.has_tax_form else None,
            tax_form_on=at.date() if model.has_tax_form else None,
            now=at,
        )
        await verify_for_payouts(session, self.partner_ids[n], now=at)

    def _step(self, work: Callable[[Any], Awaitable[Any]]) -> None:
        """One write and the handling of the events it published (by the commission and reward
        subscribers), in one transaction."""

        async def go(session: Any) -> None:
            await work(session)
            await dispatch_in_transaction(session, self.subscriptions)

        self.tx(go)

    def _event(self, order: ModelOrder, kind: OrderEventType, amount: int | None = None) -> None:
        self.tally[f"order events {kind.value}"] += 1
        self.seq += 1
        event = order_service.OrderEventIn(kind, self.clock, "api", amount, f"e-{self.seq}")
        self._step(
            lambda s: order_service.apply_event_by_external_id(s, order.external_id, event, now=self.clock)
        )

    def _pay(self, order: ModelOrder) -> None:
        self._event(order, OrderEventType.paid)
        order.status, order.paid = "paid", order.amount

    def _close(self, order: ModelOrder) -> None:
        self._event(order, OrderEventType.closed)
        order.status, order.closed_at = "closed", self.clock
        reward = order.reward
        if reward is not None and reward.status == "pending":  # closing grants, if the budget allows
            reward.approve_at = self.clock + timedelta(days=REWARD_HOLD_DAYS)
            if self.model.reward_spent() + REWARD <= REWARD_BUDGET:
                reward.is_granted = True
            else:
                reward.status = "not_granted"

    def _refunded(self, order: ModelOrder, amount: int) -> None:
        """The model after ``amount`` went back to the buyer (a refund or a lost dispute)."""
        order.refunded += amount
        left = _round(Fraction(order.commission * (order.paid - order.refunded), order.paid))
        if order.approved:
            self.model.partners[order.partner].clawed_back += order.left - left
        order.left = left
        if order.refunded == order.paid:
            order.status = "refunded"
            self._void(order)

    def _void(self, order: ModelOrder) -> None:
        """A cancelled or fully refunded order voids its reward (budget back; credit taken back)."""
        if order.reward is not None and order.reward.status in ("pending", "issued"):
            order.reward.status = "voided"

    def _pass_time(self, to: datetime) -> None:
        """Move the clock forward to ``to``; the approval jobs run."""
        self.clock = max(self.clock, to)

        async def approve(session: Any) -> None:
            await commission_service.approve_due(session, now=self.clock)
            await reward_service.approve_due(session, now=self.clock)

        self.tx(approve)
        for order in self.model.orders:
            if (
                order.is_partners
                and order.closed_at is not None
                and not order.approved
                and order.status != "disputed"
                and order.paid == order.amount
                and order.refunded < order.paid
                and order.closed_at + timedelta(days=HOLD_DAYS) <= self.clock
            ):
                order.approved = True
                self.model.partners[order.partner].approved += order.left
            reward = order.reward
            if (
                reward is not None
                and reward.status == "pending"
                and reward.is_granted
                and order.status != "disputed"
                and reward.approve_at is not None
                and reward.approve_at <= self.clock
            ):
                reward.status = "issued"

    # ----------------------------------------------------------------------------- order rules

    @rule(
        orders=st.lists(
            st.tuples(
                st.integers(0, CUSTOMER),
                st.integers(1, 5_000_000),
                st.sampled_from(["placed", "paid", "closed", "closed"]),
            ),
            min_size=1,
            max_size=2,
        )
    )
    def place_orders(self, orders: list[tuple[int, int, str]]) -> None:
        """Orders arrive with a partner's code or the customer's; some are paid, or paid and closed,
        right away."""
        for partner, amount, progress in orders:
            self._place(partner, amount, progress)

    def _place(self, partner: int, amount: int, progress: str) -> None:
        self.tally["orders placed"] += 1
        self.seq += 1
        intake = order_service.OrderIntake(
            external_id=f"o-{self.seq}",
            customer_external_id=f"c-{self.seq}",
            amount=amount,
            currency="CNY",
            placed_at=self.clock,
            source="api",
            hints=Hints(referral_code=self.codes[partner]),
        )
        self._step(
            lambda s: order_service.ingest_order(
                s, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=self.clock
            )
        )
        rate = self.model.partners[partner].rate if partner != CUSTOMER else 0
        commission = _round(Fraction(amount * rate, 10_000))
        order = ModelOrder(intake.external_id, partner, amount, commission)
        self.model.orders.append(order)
        if progress in ("paid", "closed"):
            self._pay(order)
        if progress == "closed":
            self._close(order)

    def _pick(self, data: st.DataObject, *statuses: str) -> ModelOrder:
        return data.draw(st.sampled_from([o for o in self.model.orders if o.status in statuses]))

    @precondition(lambda self: any(o.status == "placed" for o in self.model.orders))
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        self._pay(self._pick(data, "placed"))

    @precondition(lambda self: any(o.status == "placed" for o in self.model.orders))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = self._pick(data, "placed")
        self._event(order, OrderEventType.cancelled)
        order.status, order.left = "cancelled", 0
        self._void(order)

    @precondition(lambda self: any(o.status == "paid" for o in self.model.orders))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        self._close(self._pick(data, "paid"))

    @precondition(lambda self: any(o.status in ("paid", "closed") for o in self.model.orders))
    @rule(data=st.data(), share=st.fractions(min_value=Fraction(1, 100), max_value=1))
    def refund(self, data: st.DataObject, share: Fraction) -> None:
        order = self._pick(data, "paid", "closed")
        refundable = order.paid - order.refunded
        amount = max(1, min(refundable, _round(share * refundable)))
        self._event(order, OrderEventType.refunded, amount)
        self._refunded(order, amount)

    @precondition(lambda self: any(o.status in ("paid", "closed") for o in self.model.orders))
    @rule(data=st.data())
    def dispute(self, data: st.DataObject) -> None:
        """The buyer disputes the payment: approvals wait for the outcome."""
        order = self._pick(data, "paid", "closed")
        self._event(order, OrderEventType.disputed)
        order.status, order.status_before_dispute = "disputed", order.status

    @precondition(lambda self: any(o.status == "disputed" for o in self.model.orders))
    @rule(data=st.data(), share=st.one_of(st.none(), st.fractions(min_value=Fraction(1, 100), max_value=1)))
    def settle_dispute(self, data: st.DataObject, share: Fraction | None) -> None:
        """Won (``share`` None): the order is as before. Lost: ``share`` of what is left goes back."""
        order = self._pick(data, "disputed")
        assert order.status_before_dispute is not None
        order.status, order.status_before_dispute = order.status_before_dispute, None
        if share is None:
            self._event(order, OrderEventType.dispute_won)
            return
        refundable = order.paid - order.refunded
        amount = max(1, min(refundable, _round(share * refundable)))
        self._event(order, OrderEventType.dispute_lost, amount)
        self._refunded(order, amount)

    @rule(partner=st.integers(0, PARTNERS - 1), rate=st.integers(0, 10_000))
    def change_plan(self, partner: int, rate: int) -> None:
        async def change(session: Any) -> None:
            plan = await commission_service.create_plan(
                session,
                name="Changed",
                spec=PlanSpec(PlanKind.percent, "CNY", rate_bps=rate, hold_days=HOLD_DAYS),
            )
            await commission_service.assign_plan(
                session, partner_id=self.partner_ids[partner], plan_id=plan.id, now=self.clock
            )

        self.tx(change)
        self.model.partners[partner].rate = rate
        self.clock += timedelta(seconds=1)  # orders attributed from now on use it

    # ------------------------------------------------------------------------------ time rules

    @rule(days=st.integers(0, 40), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self._pass_time(self.clock + timedelta(days=days, hours=hours))

    @rule(offset=st.sampled_from([-1, 0]))
    def time_reaches_month_end(self, offset: int) -> None:
        """To the last second of this month, or the first of the next: the boundary is half-open."""
        end = _month_start(self.clock.year, self.clock.month + 1)
        self._pass_time(end + timedelta(seconds=offset))

    # ------------------------------------------------------------------------- statement rules

    @precondition(lambda self: _over_months(self.clock))
    @rule(data=st.data())
    def issue_statements(self, data: st.DataObject) -> None:
        period = data.draw(st.sampled_from(_over_months(self.clock)))

        def issue() -> statement_service.IssueResult:
            return self.tx(
                lambda s: statement_service.issue_statements(s, period=period, now=self.clock, tz=TZ)
            )

        issue()
        again = issue()
        assert again.issued == 0, again
        self._check_period_is_stated(period)

    def _check_period_is_stated(self, period: str) -> None:
        """After a month's statements: every partner line dated before its end is on a statement,
        and every partner owing something at its end has a statement for it or a later month."""
        snap = self.tx(_snapshot)
        end = _period_bounds(period)[1]
        carried = {row.ledger_line_id for row in snap.statement_lines}
        accounts = self._accounts()
        owed_at_end: Counter[tuple[int, str]] = Counter()
        for line_id, _, _, occurred_at, account, amount, _ in snap.lines:
            who = accounts.get(account)
            if who is None or who[1] == "in_payout" or occurred_at >= end:
                continue
            assert line_id in carried, (period, account, occurred_at)
            owed_at_end[who] -= amount
        for (n, _), owed in owed_at_end.items():
            if owed:
                assert any(
                    s.partner_id == self.partner_ids[n] and s.period >= period for s in snap.statements
                ), (period, n)

    # ---------------------------------------------------------------------------- payout rules

    @rule(
        data=st.data(),
        currency=st.sampled_from(["CNY", "CNY", "USD"]),
        minimum=st.sampled_from([0, 0, 50_000, 1_000_000]),
        is_executed=st.booleans(),
    )
    def create_payout_run(self, data: st.DataObject, currency: str, minimum: int, is_executed: bool) -> None:
        """Finance runs the payouts of a month that is over (or tries the current one: refused)."""
        current = f"{self.clock.year:04d}-{self.clock.month:02d}"
        # Mostly a month that is over; sometimes the current one, which is refused.
        period = data.draw(st.sampled_from([*_over_months(self.clock) * 3, current]))
        minimums = {currency: minimum} if minimum else {}

        async def create(session: Any) -> tuple[payout_run_service.RunDetail, dict[UUID, Any]]:
            run = await payout_run_service.create_run(
                session,
                period=period,
                currency=currency,
                now=self.clock,
                minimums=minimums,
                cooling_off_days=COOLING_OFF_DAYS,
                tz=TZ,
            )
            stated = await statement_service.statements_of_period(session, period=period, currency=currency)
            return await payout_run_service.run_detail(session, run.id), stated

        if period == current or (period, currency) in self.model.runs:
            before = self.tx(_counts)
            with pytest.raises(PeriodNotOver if period == current else PayoutRunExists):
                self.tx(create)
            assert self.tx(_counts) == before, "a refused run wrote something"
            self.tally["payout runs refused"] += 1
            return
        detail, stated = self.tx(create)
        self.tally["payout runs"] += 1
        self.model.runs[(period, currency)] = detail.run.id
        expected_payouts, expected_skips = set(), set()
        for n, partner in enumerate(self.model.partners):
            # What the month's statement shows as approved, less what refunds took back since; money
            # approved after the month is the next run's. (The statements are checked against the
            # ledger by the invariants.)
            statement = stated.get(self.partner_ids[n])
            owed = min(partner.payable, statement.closing_payable) if currency == "CNY" and statement else 0
            if owed <= 0:
                continue
            if owed < max(minimum, 1):
                expected_skips.add((n, owed, "below_minimum"))
            elif not partner.has_tax_form:
                expected_skips.add((n, owed, "tax_form_missing"))
            elif self.clock - partner.account_changed_at < timedelta(days=COOLING_OFF_DAYS):
                expected_skips.add((n, owed, "account_cooling_off"))
            else:
                expected_payouts.add((n, owed, partner.provider.value))
        got_payouts = {(self.partner_of(p.partner_id), p.amount, p.provider) for p in detail.payouts}
        got_skips = {(self.partner_of(s.partner_id), s.amount, s.reason) for s in detail.skips}
        assert (got_payouts, got_skips) == (expected_payouts, expected_skips)
        assert all(p.status == "pending" and p.currency == currency for p in detail.payouts)
        for p in detail.payouts:
            n = self.partner_of(p.partner_id)
            self.model.partners[n].in_payout += p.amount
            self.model.payouts[p.id] = ModelPayout(
                p.id, detail.run.id, n, p.amount, p.provider, p.statement_id
            )
        self._check_period_is_stated(period)  # the run issued the month's statements first
        if is_executed:
            self._execute(detail.run.id)

    @precondition(lambda self: self.model.runs)
    @rule(data=st.data())
    def execute_payout_run(self, data: st.DataObject) -> None:
        """Execute a run (again: only what is still pending is sent, so nothing)."""
        self._execute(data.draw(st.sampled_from(sorted(self.model.runs.values()))))

    def _execute(self, run_id: UUID) -> None:
        requests = len(self.stand_in.requests)
        summary = self.run(
            lambda: payout_run_service.execute_run(
                self.session_maker, run_id, providers=self.providers, now=self.clock
            )
        )
        payouts = [p for p in self.model.payouts.values() if p.run_id == run_id]
        pending = {p.id for p in payouts if p.status == "pending"}
        for p in payouts:
            if p.id not in pending:
                continue
            partner = self.model.partners[p.partner]
            partner.in_payout -= p.amount
            if p.provider == "stripe":
                answer, body = self.stand_in.responses[f"payout-{p.id}"]
                is_declined = answer != 200
                assert p.statement_id is not None  # every payout names the statement it settles
                assert is_declined == self.model.is_stripe_declining, body
                if not is_declined:
                    assert (body["amount"], body["currency"]) == (p.amount, "cny")
                    assert body["destination"] == self.stripe_destination()
            else:
                is_declined = False
            self.tally[f"payouts {'failed' if is_declined else 'sent'}"] += 1
            if is_declined:
                p.status = "failed"  # the money is back on payable
            else:
                p.status, partner.paid = "sent", partner.paid + p.amount
        # One transfer request per pending Stripe payout; executing a run again sends nothing.
        assert len(self.stand_in.requests) - requests == sum(
            p.provider == "stripe" and p.id in pending for p in payouts
        )
        assert (summary.status, summary.pending) == ("completed", 0)
        assert summary.sent == sum(p.status in SENT for p in payouts)
        assert summary.failed == sum(p.status == "failed" for p in payouts)

    @precondition(lambda self: self.model.payouts)
    @rule(data=st.data())
    def confirm_payout(self, data: st.DataObject) -> None:
        payout = data.draw(st.sampled_from(sorted(self.model.payouts.values(), key=lambda p: p.id)))

        async def confirm(session: Any) -> str:
            return (await payout_run_service.confirm_paid(session, payout.id, now=self.clock)).status

        if payout.provider == "bank" and payout.status in SENT:
            assert self.tx(confirm) == "paid"
            payout.status = "paid"
        else:
            with pytest.raises(PayoutNotConfirmable):
                self.tx(confirm)

    @rule(
        change=st.sampled_from(
            [*(f"bank_account_{n}" for n in BANK_PARTNERS), "tax_form", "stripe_closes", "stripe_opens"]
        )
    )
    def payout_account_changes(self, change: str) -> None:
        """A bank partner gives a new account (the cooling-off starts again), partner 1 files its tax
        form (same destination: no cooling-off), or partner 2's Stripe account closes or reopens."""
        if change.startswith("bank_account_"):
            n = int(change[-1])
            self.seq += 1
            self.tx(lambda s: self._set_account(s, n, self.clock, number=f"6222{self.seq:012d}"))
            self.model.partners[n].account_changed_at = self.clock
        elif change == "tax_form":
            self.model.partners[1].has_tax_form = True
            self.tx(lambda s: self._set_account(s, 1, self.clock))
        else:
            self._stripe_account(change)

    def _stripe_account(self, change: str) -> None:
        destination = self.stripe_destination()
        self.model.is_stripe_declining = change == "stripe_closes"
        if self.model.is_stripe_declining:
            self.stand_in.declined[destination] = f"No such destination: '{destination}'"
        else:
            self.stand_in.declined.pop(destination, None)

    # ------------------------------------------------------------------------------ invariants

    def _accounts(self) -> dict[str, tuple[int, str]]:
        return {
            ledger_service.partner_account(partner_id, bucket): (n, bucket)
            for n, partner_id in enumerate(self.partner_ids)
            for bucket in BUCKETS
        }

    def _partner_lines(self, snap: Snapshot) -> list[PartnerLine]:
        accounts = self._accounts()
        return [
            PartnerLine(line_id, *accounts[account], kind, occurred_at, -amount, currency)
            for line_id, _, kind, occurred_at, account, amount, currency in snap.lines
            if account in accounts
        ]

    @invariant()
    def books_balance_and_match_the_model(self) -> None:
        if not self.partner_ids:
            return
        self.tally["invariant checks"] += 1
        snap = self.tx(_snapshot)
        lines = self._partner_lines(snap)
        # 1. Every entry balances per currency.
        entries: Counter[tuple[UUID, str]] = Counter()
        for _, entry_id, _, _, _, amount, currency in snap.lines:
            entries[(entry_id, currency)] += amount
        assert [key for key, total in entries.items() if total] == [], "an entry does not balance"
        # 5. At most one commission per order, payout per partner, run and currency, run per period.
        orders = [order for (order,) in snap.commissions]
        assert len(orders) == len(set(orders)) == sum(o.is_partners for o in self.model.orders)
        assert len(snap.payouts) == len({(p.run_id, p.partner_id, p.currency) for p in snap.payouts})
        assert {(r.period, r.currency): r.id for r in snap.runs} == self.model.runs
        self._check_payouts(snap)
        self._check_money(snap, lines)
        self._check_statements(snap, lines)
        self._check_rewards(snap)

    def _check_rewards(self, snap: Snapshot) -> None:
        """5 and 6 for the customer campaign."""
        rewarded = [r.order_id for r in snap.rewards]
        assert len(rewarded) == len(set(rewarded)), "an order earned two rewards"
        assert all((r.side, r.amount) == (Side.referrer.value, REWARD) for r in snap.rewards)
        assert {r.order_external_id: (r.status, r.is_granted) for r in snap.rewards} == {
            external_id: (r.status, r.is_granted) for external_id, r in self.model.rewards().items()
        }
        assert snap.reward_spent == self.model.reward_spent() <= REWARD_BUDGET
        self.tally["checks with the budget spent"] += snap.reward_spent + REWARD > REWARD_BUDGET
        assert self.referrer_id is not None
        account = ledger_service.customer_account(self.referrer_id, "store_credit")
        credit = -sum(line.amount for line in snap.lines if line.account == account)
        assert (credit, snap.reward_spent) == (self.model.store_credit(), self.model.reward_spent())

    def _check_payouts(self, snap: Snapshot) -> None:
        """Payouts are what the model says; the provider made one transfer per sent Stripe payout."""
        assert {p.id: (p.amount, p.status) for p in snap.payouts} == {
            p.id: (p.amount, p.status) for p in self.model.payouts.values()
        }
        transfers = {
            key
            for key, body in self.stand_in.transfers().items()
            if body["destination"] == self.stripe_destination()
        }
        assert transfers == {
            f"payout-{p.id}"
            for p in self.model.payouts.values()
            if p.provider == "stripe" and p.status in SENT
        }
        # A payout names its partner's statement of the run's month, when there is one.
        statements = {(s.partner_id, s.period, s.currency): s.id for s in snap.statements}
        periods = {r.id: r.period for r in snap.runs}
        for p in snap.payouts:
            assert p.statement_id == statements.get((p.partner_id, periods[p.run_id], p.currency)), p

    def _check_money(self, snap: Snapshot, lines: list[PartnerLine]) -> None:
        """3 and 4, per partner and currency, from the ledger and the payouts table; and the model."""
        owed: Counter[tuple[int, str, str]] = Counter()
        flows: Counter[tuple[int, str, str, str]] = Counter()
        for line in lines:
            owed[(line.partner, line.currency, line.bucket)] += line.owed
            flows[(line.partner, line.currency, line.bucket, line.kind)] += line.owed
        paid: Counter[tuple[int, str]] = Counter()
        reserved: Counter[tuple[int, str]] = Counter()
        for p in snap.payouts:
            if p.status in SENT:
                paid[(self.partner_of(p.partner_id), p.currency)] += p.amount
            elif p.status == "pending":
                reserved[(self.partner_of(p.partner_id), p.currency)] += p.amount
        for n, model in enumerate(self.model.partners):
            for currency in {line.currency for line in lines} | {"CNY"}:
                pending, payable, in_payout = (owed[(n, currency, bucket)] for bucket in BUCKETS)
                approved = flows[(n, currency, "payable", "commission_approved")]
                clawed_back = -flows[(n, currency, "payable", "commission_clawback")]
                sent = paid[(n, currency)]
                if currency == "CNY":
                    expected = (self.model.pending(n), model.payable, model.in_payout, model.paid)
                    assert (approved, clawed_back) == (model.approved, model.clawed_back), n
                else:
                    expected = (0, 0, 0, 0)
                assert (pending, payable, in_payout, sent) == expected, (n, currency, self.model)
                # 3. A negative payable is a clawback of money that had already left for a payout.
                assert pending >= 0 and in_payout >= 0 and clawed_back >= 0
                assert payable >= -min(clawed_back, in_payout + sent), (n, payable, clawed_back)
                # 4. Conservation; the ledger's in-payout account agrees with the payouts table.
                assert approved - clawed_back == payable + in_payout + sent, (n, currency)
                assert in_payout == reserved[(n, currency)]
                assert flows[(n, currency, "in_payout", "payout_sent")] == -sent

    def _check_statements(self, snap: Snapshot, lines: list[PartnerLine]) -> None:
        """2. Each partner's statements chain, and reconcile line by line to the ledger."""
        by_id = {line.id: line for line in lines}
        statement_lines: dict[UUID, list[Any]] = defaultdict(list)
        carried_by: dict[UUID, list[PartnerLine]] = defaultdict(list)
        for row in snap.statement_lines:
            if row.id not in carried_by:
                statement_lines[row.statement_id].append(row)
            assert row.ledger_line_id is not None, "a statement line stands for no ledger line"
            carried_by[row.id].append(by_id[row.ledger_line_id])
        carried_ids = [row.ledger_line_id for row in snap.statement_lines]
        on_statements = set(carried_ids)
        assert len(carried_ids) == len(on_statements), "a ledger line is on two statements"
        chains: dict[tuple[int, str], list[Any]] = defaultdict(list)
        for s in sorted(snap.statements, key=lambda s: s.sequence):
            chains[(self.partner_of(s.partner_id), s.currency)].append(s)
        stated: dict[tuple[int, str], tuple[int, int]] = {}
        for (n, currency), chain in chains.items():
            assert [s.sequence for s in chain] == list(range(1, len(chain) + 1))
            assert [s.period for s in chain] == sorted({s.period for s in chain}), "months out of order"
            mine = [line for line in lines if (line.partner, line.currency) == (n, currency)]
            closing = (0, 0)
            for s in chain:
                assert (s.period_start, s.period_end) == _period_bounds(s.period), s.period
                assert (s.opening_pending, s.opening_payable) == closing, (n, s.period)
                total = [s.opening_pending, s.opening_payable]
                for statement_line in statement_lines[s.id]:
                    carried = carried_by[statement_line.id]
                    assert all((c.partner, c.currency) == (n, currency) for c in carried)
                    assert all(c.occurred_at < s.period_end for c in carried)
                    change = (_sum(carried, "pending"), _sum(carried, "payable"))
                    assert (statement_line.pending_change, statement_line.payable_change) == change
                    total = [total[0] + change[0], total[1] + change[1]]
                closing = (s.closing_pending, s.closing_payable)
                assert closing == tuple(total), (n, s.period)
                # As of the month's end the ledger owes what the statement closes with.
                before = [line for line in mine if line.occurred_at < s.period_end]
                assert (_sum(before, "pending"), _sum(before, "payable")) == closing, (n, s.period)
            stated[(n, currency)] = closing
        # The balance is the latest closing plus the lines no statement carries yet.
        for n in range(PARTNERS):
            for currency in {line.currency for line in lines} | {"CNY"}:
                mine = [line for line in lines if (line.partner, line.currency) == (n, currency)]
                unstated = [line for line in mine if line.id not in on_statements]
                latest = stated.get((n, currency), (0, 0))
                for i, bucket in enumerate(("pending", "payable")):
                    assert _sum(mine, bucket) == latest[i] + _sum(unstated, bucket), (n, currency, bucket)


SUMMARY = Path(__file__).resolve().parents[2] / "test-artifacts" / "state-machine-summary.txt"


def _summary(tally: Counter[str], engine: str, chunk: int, steps: int, seconds: float) -> str:
    """One line per chunk; CI's summary file gathers the chunks of both databases."""
    sequences, checks = tally.pop("sequences"), tally.pop("invariant checks")
    return (
        f"{engine} chunk {chunk}: {sequences} sequences (at most {steps} steps), {checks - sequences} steps,"
        f" {checks} invariant checks, {seconds:.0f} s; "
        + ", ".join(f"{name} {n}" for name, n in sorted(tally.items()))
    )


@pytest.fixture
def stand_in() -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn()
    server = serve(stand_in)
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_money_state_machine(database_url: str, stand_in: StripeStandIn, chunk: int) -> None:
    sequences, steps = SEQUENCES.get(settings.get_current_profile_name(), SEQUENCES["default"])
    loop = asyncio.new_event_loop()
    engine = make_engine(database_url)
    MoneyMachine.loop, MoneyMachine.engine, MoneyMachine.stand_in = loop, engine, stand_in
    MoneyMachine.session_maker = make_db_config(engine).create_session_maker()
    MoneyMachine.template, MoneyMachine.tally = None, Counter()
    machine = MoneyMachine.TestCase
    machine.settings = settings(
        max_examples=sequences // CHUNKS,
        stateful_step_count=steps,
        deadline=None,
        derandomize=False,  # the "ci" profile derandomizes: the chunks would run the same sequences
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    started = time.perf_counter()
    try:
        machine().runTest()
        line = _summary(MoneyMachine.tally, engine.dialect.name, chunk, steps, time.perf_counter() - started)
        print(line)
        SUMMARY.parent.mkdir(exist_ok=True)
        with SUMMARY.open("a") as summary:
            summary.write(line + "\n")
    finally:
        loop.run_until_complete(_empty_all_tables(engine))
        loop.run_until_complete(engine.dispose())
        loop.close()

"""Hypothesis drives long random sequences of partner orders, payments, closes, refunds,
cancellations, plan changes and approval runs through the real services and the real outbox,
and after every step checks the ledger against a plain-Python model:

- every journal entry sums to zero per currency;
- each partner's pending and payable balances equal what the model says they must be;
- no payable balance is negative (no payouts yet: a clawback can only take back what was approved);
- accrued - reversed = pending + payable, for every partner;
- a commission exists at most once per order.

Statements and payout runs join the model when they exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from campaigns.campaign import service as campaign_service
from campaigns.campaign.rules import CampaignKind, CampaignStatus
from growth.attribution.service import Hints
from growth.core.db import make_db_config, make_engine
from growth.core.events.service import Subscriptions, dispatch_pending
from growth.core.ports import no_leads
from growth.core.time import utc_now
from growth.ledger import service as ledger_service
from growth.order import service as order_service
from growth.order.rules import OrderEventType
from payouts.commission import service as commission_service
from payouts.commission.models import Commission
from payouts.commission.rules import PlanKind, PlanSpec
from payouts.partner import service as partner_service
from tests.conftest import empty_all_tables

T = TypeVar("T")
PARTNERS = 3
HOLD_DAYS = 10


def _round(value: Fraction) -> int:
    """Half away from zero, written independently of growth.core.money."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    return sign * (whole + (1 if magnitude - whole >= Fraction(1, 2) else 0))


@dataclass
class ModelOrder:
    external_id: str
    partner: int
    amount: int
    commission: int
    status: str = "placed"
    paid: int = 0
    refunded: int = 0
    closed_at: datetime | None = None
    approved: bool = False
    left: int = 0
    """What is left of the commission after refunds."""

    def __post_init__(self) -> None:
        self.left = self.commission


@dataclass
class Model:
    rates: list[int] = field(default_factory=lambda: [1000] * PARTNERS)
    orders: list[ModelOrder] = field(default_factory=list)

    def balances(self, partner: int) -> tuple[int, int]:
        pending = sum(o.left for o in self.orders if o.partner == partner and not o.approved)
        payable = sum(o.left for o in self.orders if o.partner == partner and o.approved)
        return pending, payable


class CommissionLedger(RuleBasedStateMachine):
    """One program, three partners on percent plans, orders in CNY."""

    database_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = make_engine(self.database_url)
        self.session_maker = make_db_config(self.engine).create_session_maker()
        self.subscriptions = Subscriptions()
        self.subscriptions.add(
            "order.attributed", "payouts.commissions", commission_service.on_order_attributed
        )
        for name in commission_service.ORDER_EVENTS:
            self.subscriptions.add(name, "payouts.commissions", commission_service.on_order_event)
        self.model = Model()
        self.clock = utc_now()
        self.partner_ids: list[UUID] = []
        self.codes: list[str] = []
        self.seq = 0

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        return self.loop.run_until_complete(work())

    async def _tx(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async with self.session_maker() as session, session.begin():
            return await work(session)

    def teardown(self) -> None:
        self.run(self.engine.dispose)
        self.loop.close()

    @initialize()
    def program(self) -> None:
        async def setup() -> None:
            await empty_all_tables(self.engine)

            async def create(session: Any) -> None:
                campaign = await campaign_service.create_campaign(
                    session,
                    default_currency="CNY",
                    name="Consultants",
                    kind=CampaignKind.partner,
                    status=CampaignStatus.active,
                    landing_url="https://shop.example/b2b",
                    currency="CNY",
                    new_customers_only=False,
                )
                for n in range(PARTNERS):
                    partner = await partner_service.create_partner(
                        session, name=f"Partner {n}", email=f"p{n}@example.com"
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
                        spec=PlanSpec(PlanKind.percent, "CNY", rate_bps=1000, hold_days=HOLD_DAYS),
                    )
                    await commission_service.assign_plan(
                        session, partner_id=partner.id, plan_id=plan.id, now=self.clock - timedelta(days=1)
                    )

            await self._tx(create)

        self.run(setup)

    def _drain(self) -> None:
        async def drain() -> None:
            while await dispatch_pending(
                self.session_maker, self.subscriptions, now=self.clock + timedelta(days=3650)
            ):
                pass

        self.run(drain)

    def _event(self, order: ModelOrder, kind: OrderEventType, amount: int | None = None) -> None:
        self.seq += 1
        event = order_service.OrderEventIn(kind, self.clock, "api", amount, f"e-{self.seq}")
        self.run(
            lambda: self._tx(
                lambda s: order_service.apply_event_by_external_id(
                    s, order.external_id, event, now=self.clock
                )
            )
        )
        self._drain()

    # ------------------------------------------------------------------------------------ rules

    @rule(partner=st.integers(0, PARTNERS - 1), amount=st.integers(1, 5_000_000))
    def place_order(self, partner: int, amount: int) -> None:
        self.seq += 1
        external_id = f"o-{self.seq}"
        intake = order_service.OrderIntake(
            external_id=external_id,
            customer_external_id=f"c-{self.seq}",
            amount=amount,
            currency="CNY",
            placed_at=utc_now(),
            source="api",
            hints=Hints(referral_code=self.codes[partner]),
        )
        self.run(
            lambda: self._tx(
                lambda s: order_service.ingest_order(
                    s, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=self.clock
                )
            )
        )
        self._drain()
        commission = _round(Fraction(amount * self.model.rates[partner], 10_000))
        self.model.orders.append(ModelOrder(external_id, partner, amount, commission))

    def _pick(self, data: st.DataObject, *statuses: str) -> ModelOrder | None:
        candidates = [o for o in self.model.orders if o.status in statuses]
        return data.draw(st.sampled_from(candidates)) if candidates else None

    @precondition(lambda self: any(o.status == "placed" for o in self.model.orders))
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        order = self._pick(data, "placed")
        assert order is not None
        self._event(order, OrderEventType.paid)
        order.status, order.paid = "paid", order.amount

    @precondition(lambda self: any(o.status == "placed" for o in self.model.orders))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = self._pick(data, "placed")
        assert order is not None
        self._event(order, OrderEventType.cancelled)
        order.status, order.left = "cancelled", 0

    @precondition(lambda self: any(o.status == "paid" for o in self.model.orders))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        order = self._pick(data, "paid")
        assert order is not None
        self._event(order, OrderEventType.closed)
        order.status, order.closed_at = "closed", self.clock

    @precondition(lambda self: any(o.status in ("paid", "closed") for o in self.model.orders))
    @rule(data=st.data(), share=st.fractions(min_value=Fraction(1, 100), max_value=1))
    def refund(self, data: st.DataObject, share: Fraction) -> None:
        order = self._pick(data, "paid", "closed")
        assert order is not None
        refundable = order.paid - order.refunded
        amount = max(1, min(refundable, _round(share * refundable)))
        self._event(order, OrderEventType.refunded, amount)
        order.refunded += amount
        order.left = _round(Fraction(order.commission * (order.paid - order.refunded), order.paid))
        if order.refunded == order.paid:
            order.status = "refunded"

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

        self.run(lambda: self._tx(change))
        self.model.rates[partner] = rate
        self.clock += timedelta(seconds=1)  # orders attributed from now on use it

    @rule(days=st.integers(0, 2 * HOLD_DAYS))
    def time_passes_and_approvals_run(self, days: int) -> None:
        self.clock += timedelta(days=days)
        self.run(lambda: self._tx(lambda s: commission_service.approve_due(s, now=self.clock)))
        for order in self.model.orders:
            if (
                order.closed_at is not None
                and not order.approved
                and order.paid == order.amount
                and order.refunded < order.paid
                and order.closed_at + timedelta(days=HOLD_DAYS) <= self.clock
            ):
                order.approved = True

    # ------------------------------------------------------------------------------- invariants

    @invariant()
    def books_balance_and_match_the_model(self) -> None:
        if not self.partner_ids:
            return

        async def read(session: Any) -> tuple[list[Any], dict[UUID, dict[str, int]], int, int]:
            unbalanced = await ledger_service.unbalanced_entries(session)
            balances: dict[UUID, dict[str, int]] = {}
            for partner_id in self.partner_ids:
                found = await commission_service.partner_balances(session, partner_id)
                balances[partner_id] = {b.state: b.amount.amount for b in found}
            rows = await session.scalar(select(func.count()).select_from(Commission))
            distinct = await session.scalar(select(func.count(func.distinct(Commission.order_id))))
            return unbalanced, balances, rows, distinct

        unbalanced, balances, rows, distinct = self.run(lambda: self._tx(read))
        assert unbalanced == []
        assert rows == distinct == len(self.model.orders)
        for n, partner_id in enumerate(self.partner_ids):
            pending, payable = self.model.balances(n)
            got = balances[partner_id]
            assert (got.get("pending", 0), got.get("payable", 0)) == (pending, payable), (
                n,
                self.model.orders,
            )
            assert got.get("payable", 0) >= 0


@pytest.mark.parametrize("profile", ["ci"])
def test_commission_ledger_state_machine(database_url: str, profile: str) -> None:
    CommissionLedger.database_url = database_url
    machine = CommissionLedger.TestCase
    machine.settings = settings(
        max_examples=40,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    machine().runTest()

"""A partner program driven through growth's order service and the commission handlers, with the clock
in the test's hands: every order, order event and approval happens at an instant the test names, so
ledger entries land in the months the test means.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from campaigns.campaign import service as campaign_service
from growth.attribution.service import Hints
from growth.core.db import SessionMaker
from growth.core.events.service import Subscriptions, dispatch_pending
from growth.core.ports import no_leads
from growth.ledger import service as ledger_service
from growth.order import service as order_service
from growth.order.rules import OrderEventType
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.commission.rules import PlanKind, PlanSpec
from payouts.partner import service as partner_service
from payouts.statement import service as statement_service
from payouts.statement.models import Statement
from tests.factories import create_campaign, create_partner

SHANGHAI = "Asia/Shanghai"
_customers = itertools.count(1)
PLAN_START = datetime(2025, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """An instant written in ISO 8601 with its offset: ``at("2025-10-10T10:00+08:00")``."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


@dataclass
class Partner:
    id: UUID
    code: str


class Program:
    """One partner campaign (CNY, 10%, no hold) and its partners, on a real database."""

    def __init__(self, session_maker: SessionMaker, subscriptions: Subscriptions) -> None:
        self.session_maker, self.subscriptions = session_maker, subscriptions
        self.campaign_id: UUID | None = None
        self.plan_id: UUID | None = None

    async def _drain(self) -> None:
        while await dispatch_pending(self.session_maker, self.subscriptions):
            pass

    async def partner(self, name: str = "Northwind Consulting") -> Partner:
        async with self.session_maker() as s, s.begin():
            if self.campaign_id is None:
                campaign = await create_campaign(s, kind="partner", currency="CNY", hashtag=None)
                spec = PlanSpec(kind=PlanKind.percent, currency="CNY", rate_bps=1000, hold_days=0)
                self.campaign_id = campaign.id
                self.plan_id = (await commission_service.create_plan(s, name="Standard", spec=spec)).id
            partner = await create_partner(s, name=name)
            issued = await partner_service.issue_partner_code(
                s,
                partner_id=partner.id,
                campaign_id=self.campaign_id,
                terms_lookup=campaign_service.get_terms,
            )
            assert self.plan_id is not None
            await commission_service.assign_plan(
                s, partner_id=partner.id, plan_id=self.plan_id, now=PLAN_START
            )
            code = issued.referral_code.code
        await self._drain()
        return Partner(partner.id, code)

    async def order(self, partner: Partner, external_id: str, amount: int, when: datetime) -> None:
        """A CNY order the partner brought, placed (and its commission accrued) at ``when``."""
        intake = order_service.OrderIntake(
            external_id=external_id,
            customer_external_id=f"client-{next(_customers)}",
            amount=amount,
            currency="CNY",
            placed_at=when,
            source="api",
            customer_email=f"client{next(_customers)}@client.example",
            hints=Hints(referral_code=partner.code),
        )
        async with self.session_maker() as s, s.begin():
            ingested = await order_service.ingest_order(
                s, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=when
            )
            assert ingested.attribution is not None and ingested.attribution.partner_id == partner.id
        await self._drain()

    async def event(self, external_id: str, kind: str, when: datetime, amount: int | None = None) -> None:
        """An order event (paid, closed, refunded, ...) that happened, and was handled, at ``when``."""
        event = order_service.OrderEventIn(
            OrderEventType(kind), when, "api", amount, f"{external_id}-{kind}-{when}"
        )
        async with self.session_maker() as s, s.begin():
            await order_service.apply_event_by_external_id(s, external_id, event, now=when)
        await self._drain()

    async def approve(self, when: datetime) -> int:
        async with self.session_maker() as s, s.begin():
            return await commission_service.approve_due(s, now=when)

    async def post(
        self, reference: str, kind: str, lines: list[tuple[str, int, str]], when: datetime
    ) -> None:
        """A ledger entry posted directly (payouts, other currencies: what later features will post)."""
        async with self.session_maker() as s, s.begin():
            await ledger_service.post_entry(
                s,
                reference=reference,
                kind=kind,
                lines=[ledger_service.Line(account, amount, currency) for account, amount, currency in lines],
                occurred_at=when,
            )

    async def issue(self, period: str, now: datetime, tz: str = SHANGHAI) -> statement_service.IssueResult:
        async with self.session_maker() as s, s.begin():
            return await statement_service.issue_statements(s, period=period, now=now, tz=tz)

    async def statements(self, partner: Partner) -> list[statement_service.IssuedStatement]:
        """The partner's statements, oldest first, with their lines."""
        async with self.session_maker() as s:
            found = await statement_service.list_statements(s, partner_id=partner.id)
            return [
                await statement_service.get_statement(s, st.id)
                for st in sorted(found, key=lambda x: x.sequence)
            ]

    async def statement_count(self) -> int:
        async with self.session_maker() as s:
            return int(await s.scalar(select(func.count()).select_from(Statement)) or 0)

    async def balances(self, partner: Partner) -> dict[tuple[str, str], int]:
        """What the ledger says the merchant owes the partner: ``{(state, currency): minor units}``."""
        async with self.session_maker() as s:
            found = await commission_service.partner_balances(s, partner.id)
            return {(b.state, b.amount.currency): b.amount.amount for b in found}


async def october(program: Program) -> Partner:
    """Two orders in October (Shanghai): one paid, closed and approved, one partly refunded while pending."""
    p = await program.partner()
    await program.order(p, "o-1", 100000, at("2025-10-10T10:00+08:00"))
    await program.event("o-1", "paid", at("2025-10-11T10:00+08:00"))
    await program.event("o-1", "closed", at("2025-10-12T10:00+08:00"))
    await program.order(p, "o-2", 50000, at("2025-10-15T10:00+08:00"))
    await program.event("o-2", "paid", at("2025-10-16T10:00+08:00"))
    assert await program.approve(at("2025-10-20T10:00+08:00")) == 1  # o-1 (o-2 is not closed)
    await program.event("o-2", "refunded", at("2025-10-25T10:00+08:00"), amount=20000)  # 40% back
    return p


def closing(issued: statement_service.IssuedStatement) -> dict[str, int]:
    return {"pending": issued.statement.closing_pending, "payable": issued.statement.closing_payable}


def summary(issued: statement_service.IssuedStatement) -> list[tuple[Any, ...]]:
    """The lines as ``(kind, order, pending change, payable change)``."""
    return [(li.kind, li.order_external_id, li.pending_change, li.payable_change) for li in issued.lines]


@pytest.fixture
def program(session_maker: SessionMaker, settings: Settings) -> Program:
    from growth.app import build_subscriptions

    return Program(session_maker, build_subscriptions(settings=settings))

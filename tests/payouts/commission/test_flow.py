"""Commissions through the public API: accrual on attribution, hold after close, proportional
refunds (pending shrinks, approved is clawed back), plan changes never reaching back, and the
ledger balancing after every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.jobs import run_once
from growth.ledger import service as ledger_service
from payouts.commission import service as commission_service
from tests.conftest import in_app_loop
from tests.factories import bearer, create_key


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Program:
    def __init__(self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]) -> None:
        self.client, self.keys = client, keys

    async def drain(self) -> None:
        await in_app_loop(self.client, self.client.app.state.outbox.drain)

    async def setup(self, **plan: Any) -> tuple[str, str, str]:
        """A partner program campaign, a partner with a code, and the partner's plan."""
        c = self.client
        campaign = await ok(
            await c.post(
                "/api/campaigns",
                json={
                    "name": "Consultants",
                    "kind": "partner",
                    "landing_url": "https://shop.example/b2b",
                    "currency": "CNY",
                    "status": "active",
                    "new_customers_only": False,
                },
                headers=self.keys["admin"],
            ),
            201,
        )
        partner = await ok(
            await c.post(
                "/api/partners",
                json={"name": "Northwind", "email": "nw@example.com"},
                headers=self.keys["finance"],
            ),
            201,
        )
        code = await ok(
            await c.post(
                f"/api/partners/{partner['id']}/referral-codes",
                json={"campaign_id": campaign["id"]},
                headers=self.keys["finance"],
            ),
            201,
        )
        plan_id = await self.plan(**plan)
        await self.assign(partner["id"], plan_id)
        return partner["id"], code["code"], plan_id

    async def plan(self, **fields: Any) -> str:
        body = {"name": "Standard", "kind": "percent", "currency": "CNY", "rate_bps": 1000, "hold_days": 30}
        created = await ok(
            await self.client.post("/api/commission-plans", json=body | fields, headers=self.keys["finance"]),
            201,
        )
        return str(created["id"])

    async def assign(self, partner_id: str, plan_id: str) -> None:
        await ok(
            await self.client.post(
                f"/api/partners/{partner_id}/plan", json={"plan_id": plan_id}, headers=self.keys["finance"]
            ),
            201,
        )

    async def order(
        self, external_id: str, amount: int, code: str, lines: list[dict[str, Any]] | None = None
    ) -> None:
        body = {
            "external_id": external_id,
            "customer": {"external_id": f"client-{external_id}", "email": f"{external_id}@client.example"},
            "amount": amount,
            "currency": "CNY",
            "placed_at": datetime.now(UTC).isoformat(),
            "referral_code": code,
            "lines": lines or [],
        }
        await ok(await self.client.post("/api/orders", json=body, headers=self.keys["shop"]), 201)
        await self.drain()

    async def event(self, external_id: str, type_: str, amount: int | None = None) -> None:
        body: dict[str, Any] = {"type": type_, "event_id": f"{external_id}-{type_}-{amount}"}
        if amount is not None:
            body["amount"] = amount
        r = await self.client.post(f"/api/orders/{external_id}/events", json=body, headers=self.keys["shop"])
        assert r.status_code in (200, 201), r.text
        await self.drain()

    async def commissions(self, partner_id: str) -> dict[str, dict[str, Any]]:
        found = await ok(
            await self.client.get(
                "/api/commissions", params={"partner_id": partner_id}, headers=self.keys["finance"]
            )
        )
        return {c["order_external_id"]: c for c in found}

    async def balances(self, partner_id: str) -> dict[str, int]:
        found = await ok(
            await self.client.get(f"/api/partners/{partner_id}/balances", headers=self.keys["finance"])
        )
        return {b["state"]: b["amount"] for b in found}

    async def pass_days(self, days: int) -> int:
        later = datetime.now(UTC) + timedelta(days=days)

        async def job() -> int:
            return await run_once(
                self.client.app.state.session_maker,
                lambda s, now: commission_service.approve_due(s, now=now),
                now=later,
            )

        moved: int = await in_app_loop(self.client, job)
        return moved

    async def ledger_is_sound(self) -> None:
        async def check() -> list[Any]:
            async with self.client.app.state.session_maker() as s:
                return await ledger_service.unbalanced_entries(s)

        assert await in_app_loop(self.client, check) == []


@pytest.fixture
async def program(client: AsyncTestClient[Litestar], session: AsyncSession) -> Program:
    keys = {
        role.value: bearer(await create_key(session, role=role))
        for role in (Role.admin, Role.finance, Role.shop)
    }
    partner = await create_key(session, role=Role.partner)
    keys["other_partner"] = bearer(partner)
    await session.commit()
    return Program(client, keys)


class TestCommissionFlow:
    async def test_accrue_hold_refund_approve_clawback(self, program: Program) -> None:
        partner, code, _ = await program.setup(line_rates=[{"category": "service", "rate_bps": 2000}])
        lines = [
            {"sku": "LIC-1", "category": "software", "quantity": 1, "unit_amount": 60000},
            {"sku": "SVC-1", "category": "service", "quantity": 2, "unit_amount": 20000},
        ]
        await program.order("o-1", 100000, code, lines)
        c = (await program.commissions(partner))["o-1"]
        # 10% of 600.00 + 20% of 400.00 = 60.00 + 80.00
        assert (c["status"], c["amount"], c["approve_after"]) == ("pending", 14000, None)
        assert await program.balances(partner) == {"pending": 14000}

        await program.event("o-1", "paid")
        await program.event("o-1", "closed")
        c = (await program.commissions(partner))["o-1"]
        assert datetime.fromisoformat(c["approve_after"]) > datetime.now(UTC) + timedelta(days=29)

        await program.event("o-1", "refunded", 25000)  # a quarter back: pending shrinks by a quarter
        assert await program.balances(partner) == {"pending": 10500}
        assert await program.pass_days(29) == 0
        assert await program.pass_days(31) == 1
        assert await program.balances(partner) == {"pending": 0, "payable": 10500}

        await program.event("o-1", "refunded")  # the rest back after approval: clawed back in full
        c = (await program.commissions(partner))["o-1"]
        assert (c["status"], c["reversed_amount"]) == ("approved", 14000)
        assert await program.balances(partner) == {"pending": 0, "payable": 0}
        await program.ledger_is_sound()

    async def test_unpaid_or_cancelled_orders_never_approve(self, program: Program) -> None:
        partner, code, _ = await program.setup(hold_days=0)
        await program.order("o-1", 50000, code)
        await program.event("o-1", "cancelled")
        c = (await program.commissions(partner))["o-1"]
        assert (c["status"], c["reversed_amount"]) == ("reversed", 5000)
        assert await program.pass_days(1) == 0
        assert await program.balances(partner) == {"pending": 0}

    async def test_a_plan_change_applies_to_orders_attributed_after_it(self, program: Program) -> None:
        partner, code, _ = await program.setup()
        await program.order("before", 10000, code)
        await program.assign(partner, await program.plan(name="Gold", rate_bps=2500))
        await program.order("after", 10000, code)
        found = await program.commissions(partner)
        assert (found["before"]["amount"], found["after"]["amount"]) == (1000, 2500)

    async def test_fixed_plan_and_tiers(self, program: Program) -> None:
        partner, code, _ = await program.setup(kind="fixed", rate_bps=None, fixed_amount=8800)
        await program.order("o-1", 123456, code)
        assert (await program.commissions(partner))["o-1"]["amount"] == 8800

    async def test_bad_plans_are_refused_with_the_reason(self, program: Program) -> None:
        cases = [
            ({"rate_bps": -100}, 422, "negative"),
            ({"rate_bps": 10001}, 422, "over 100%"),
            ({"currency": "XYZ"}, 422, "unknown currency"),
            ({"currency": "cny"}, 400, ""),
            ({"kind": "fixed", "rate_bps": None}, 422, "fixed_amount"),
            ({"recurring": "months"}, 422, "recurring_months"),
            ({"line_rates": [{"category": "a", "sku": "b", "rate_bps": 10}]}, 422, "not both"),
            (
                {"tiers": [{"min_revenue": 100, "rate_bps": 1}, {"min_revenue": 100, "rate_bps": 2}]},
                422,
                "tier",
            ),
        ]
        for fields, status, words in cases:
            body = {"name": "X", "kind": "percent", "currency": "CNY", "rate_bps": 1000} | fields
            r = await program.client.post("/api/commission-plans", json=body, headers=program.keys["finance"])
            assert r.status_code == status, (fields, r.text)
            assert words in r.json()["error"]["message"]
        assert (
            await ok(await program.client.get("/api/commission-plans", headers=program.keys["finance"])) == []
        )

    async def test_replayed_events_change_nothing_and_partners_see_only_their_own(
        self, program: Program
    ) -> None:
        partner, code, _ = await program.setup(hold_days=0)
        await program.order("o-1", 10000, code)
        for event in ("paid", "closed", "paid", "closed"):
            r = await program.client.post(
                "/api/orders/o-1/events",
                json={"type": event, "event_id": f"e-{event}"},
                headers=program.keys["shop"],
            )
            assert r.status_code in (200, 201)
        await program.drain()
        assert await program.pass_days(0) == 1
        assert await program.pass_days(0) == 0
        assert await program.balances(partner) == {"pending": 0, "payable": 1000}

        own_key = bearer(await in_app_loop(program.client, lambda: _partner_key(program.client, partner)))
        mine = await ok(await program.client.get("/api/partner/commissions", headers=own_key))
        assert [c["order_external_id"] for c in mine] == ["o-1"]
        other = await ok(
            await program.client.get("/api/partner/commissions", headers=program.keys["other_partner"])
        )
        assert other == []
        assert (await program.client.get("/api/commissions", headers=own_key)).status_code == 403
        balances = await ok(await program.client.get("/api/partner/balances", headers=own_key))
        assert {b["state"]: b["amount"] for b in balances} == {"pending": 0, "payable": 1000}


async def _partner_key(client: AsyncTestClient[Litestar], partner_id: str) -> str:
    from uuid import UUID

    from growth.core.auth import service as auth_service

    async with client.app.state.session_maker() as s, s.begin():
        created = await auth_service.create_key(
            s, name="portal", role=Role.partner, subject_id=UUID(partner_id)
        )
        return created.secret

"""Customer balances from the ledger, and the shop taking store credit as payment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.ledger import service as ledger_service
from growth.ledger.errors import InsufficientBalance
from growth.ledger.rules import Line, campaign_expense_account, customer_account
from tests.factories import bearer, create_campaign, create_customer, create_key

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def _credit(session: AsyncSession, customer_id: object, amount: int, currency: str = "CNY") -> None:
    campaign = await create_campaign(session)
    await ledger_service.post_entry(
        session,
        reference=f"test-credit:{customer_id}:{amount}:{currency}",
        kind="reward_credit",
        lines=[
            Line(campaign_expense_account(campaign.id), amount, currency),
            Line(customer_account(customer_id, "store_credit"), -amount, currency),  # type: ignore[arg-type]
        ],
        occurred_at=NOW,
    )


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return bearer(key)


class TestBalancesAndRedemptions:
    async def test_redeem_part_then_the_rest_and_retries_apply_once(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        customer = await create_customer(session, external_id="mei")
        await _credit(session, customer.id, 2000)
        await session.commit()
        url = "/api/customers/mei/store-credit/redemptions"

        assert (await client.get("/api/customers/mei/balances", headers=shop)).json() == [
            {"bucket": "store_credit", "amount": 2000, "currency": "CNY"}
        ]
        first = await client.post(
            url, json={"amount": 1500, "currency": "CNY", "reference": "o-1"}, headers=shop
        )
        assert first.status_code == 201, first.text
        assert first.json()["balances"] == [{"bucket": "store_credit", "amount": 500, "currency": "CNY"}]
        again = await client.post(
            url, json={"amount": 1500, "currency": "CNY", "reference": "o-1"}, headers=shop
        )
        assert again.status_code == 201 and again.json()["entry_id"] == first.json()["entry_id"]
        assert again.json()["balances"][0]["amount"] == 500

        changed = await client.post(
            url, json={"amount": 100, "currency": "CNY", "reference": "o-1"}, headers=shop
        )
        assert changed.status_code == 409
        short = await client.post(
            url, json={"amount": 501, "currency": "CNY", "reference": "o-2"}, headers=shop
        )
        assert short.status_code == 409 and short.json()["error"]["code"] == "insufficient_balance"
        assert short.json()["error"]["details"] == {"available": 500}
        other = await client.post(
            url, json={"amount": 1, "currency": "USD", "reference": "o-3"}, headers=shop
        )
        assert other.status_code == 409  # no USD credit
        rest = await client.post(
            url, json={"amount": 500, "currency": "CNY", "reference": "o-2"}, headers=shop
        )
        assert rest.status_code == 201
        assert rest.json()["balances"] == [{"bucket": "store_credit", "amount": 0, "currency": "CNY"}]

        assert await ledger_service.unbalanced_entries(session) == []

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"amount": 0, "currency": "CNY", "reference": "x"}, 400),
            ({"amount": -5, "currency": "CNY", "reference": "x"}, 400),
            ({"amount": 1.5, "currency": "CNY", "reference": "x"}, 400),
            ({"amount": 5, "currency": "cny", "reference": "x"}, 400),
            ({"amount": 5, "currency": "XYZ", "reference": "x"}, 422),
            ({"amount": 5, "currency": "CNY", "reference": ""}, 400),
            ({"amount": 5, "currency": "CNY"}, 400),
        ],
    )
    async def test_bad_input(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop: dict[str, str],
        body: dict[str, object],
        status: int,
    ) -> None:
        await create_customer(session, external_id="mei")
        await session.commit()
        response = await client.post("/api/customers/mei/store-credit/redemptions", json=body, headers=shop)
        assert response.status_code == status, response.text

    async def test_unknown_customer_and_roles(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        partner = await create_key(session, role=Role.partner)
        await session.commit()
        assert (await client.get("/api/customers/nobody/balances", headers=shop)).status_code == 404
        assert (await client.get("/api/customers/nobody/balances")).status_code == 401
        assert (
            await client.get("/api/customers/nobody/balances", headers=bearer(partner))
        ).status_code == 403


class TestConcurrentRedemptions:
    async def test_five_at_once_never_spend_more_than_the_balance(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        customer = await create_customer(session, external_id="mei")
        await _credit(session, customer.id, 2000)
        await session.commit()

        async def redeem(n: int) -> bool:
            try:
                async with session_maker() as s, s.begin():
                    await ledger_service.redeem_store_credit(
                        s, external_id="mei", amount=1000, currency="CNY", reference=f"o-{n}", now=NOW
                    )
                return True
            except InsufficientBalance:
                return False

        results = await asyncio.gather(*[redeem(n) for n in range(5)])

        assert sum(results) == 2
        async with session_maker() as s:
            assert (
                await ledger_service.liability(s, customer_account(customer.id, "store_credit"), "CNY") == 0
            )

"""The shop taking store credit as payment leaves an audit entry with the balance before and after;
a retried redemption, a refused one and a read leave none."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit.models import AuditEntry
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from tests.factories import bearer, create_customer, create_key
from tests.growth.ledger.test_controllers import _credit

URL = "/api/customers/mei/store-credit/redemptions"


async def entries(session_maker: SessionMaker) -> list[AuditEntry]:
    async with session_maker() as s:
        query = select(AuditEntry).where(AuditEntry.action == "store_credit.redeemed")
        return list(await s.scalars(query.order_by(AuditEntry.sequence)))


async def test_a_redemption_is_audited_once_with_the_balance_before_and_after(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
) -> None:
    shop = bearer(await create_key(session, role=Role.shop, name="checkout"))
    customer = await create_customer(session, external_id="mei")
    await _credit(session, customer.id, 2000)
    await session.commit()

    body = {"amount": 1500, "currency": "CNY", "reference": "o-1"}
    first = await client.post(URL, json=body, headers=shop)
    assert first.status_code == 201, first.text
    assert (await client.post(URL, json=body, headers=shop)).status_code == 201  # retried: applies once
    short = await client.post(URL, json=body | {"reference": "o-2"}, headers=shop)
    assert short.status_code == 409  # 500 left: refused, nothing recorded
    assert (await client.get("/api/customers/mei/balances", headers=shop)).status_code == 200

    [entry] = await entries(session_maker)
    assert (entry.subject_type, entry.subject_id) == ("customer", "mei")
    assert entry.before == {"balance": 2000, "currency": "CNY"}
    assert entry.after == {
        "balance": 500,
        "currency": "CNY",
        "amount": 1500,
        "reference": "o-1",
        "entry_id": first.json()["entry_id"],
    }
    assert (entry.actor_kind, entry.actor_name) == ("api_key", "checkout (shop)")

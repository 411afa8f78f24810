"""What an order tells the risk firewall: card fingerprint, shipping address, device, IP and margin,
kept as sent (fingerprint, device, margin) or as keyed hashes (address, IP)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click.rules import hash_ip
from growth.core.db import SessionMaker
from growth.order.models import Order
from growth.risk.rules import address_hash
from tests.conftest import SECRET
from tests.growth.order.test_controllers import order_body
from tests.growth.order.test_controllers import shop as shop  # the fixture

ADDRESS = {
    "line1": "88 Century Avenue",
    "line2": "Floor 12",
    "city": "Shanghai",
    "postal_code": "200120",
    "country": "CN",
}


async def stored(session_maker: SessionMaker, external_id: str) -> Order:
    async with session_maker() as s:
        order = await s.scalar(select(Order).where(Order.external_id == external_id))
        assert order is not None
        return order


async def test_identity_facts_are_kept_hashed_where_personal(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session_maker: SessionMaker
) -> None:
    body = order_body(
        "id-1",
        payment_fingerprint="Xt5EWLLDS7FJjR1c",
        shipping_address=ADDRESS,
        customer_ip=" 203.0.113.7 ",
        device_id="dev-42",
        margin_amount=6000,
    )
    r = await client.post("/api/orders", json=body, headers=shop)
    assert r.status_code == 201, r.text
    order = await stored(session_maker, "id-1")
    assert (order.payment_fingerprint, order.device_id, order.margin_amount) == (
        "Xt5EWLLDS7FJjR1c",
        "dev-42",
        6000,
    )
    assert order.ip_hash == hash_ip(SECRET, "203.0.113.7")  # comparable with the clicks' hashes
    assert order.address_hash == address_hash(
        SECRET, ["88 century avenue", "FLOOR 12", "shanghai", "200120", "CN"]
    )
    # Neither the IP nor the address is stored in the clear, not even in the intake's content.
    assert "203.0.113.7" not in str(order.content) and "Century" not in str(order.content)
    # The same order again is a retry; a different address is a different order (409).
    assert (await client.post("/api/orders", json=body, headers=shop)).status_code == 200
    moved = body | {"shipping_address": ADDRESS | {"line1": "1 Nanjing Road"}}
    assert (await client.post("/api/orders", json=moved, headers=shop)).status_code == 409


async def test_without_identity_facts_nothing_is_stored(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session_maker: SessionMaker
) -> None:
    assert (await client.post("/api/orders", json=order_body("id-2"), headers=shop)).status_code == 201
    order = await stored(session_maker, "id-2")
    assert (
        order.payment_fingerprint,
        order.address_hash,
        order.device_id,
        order.ip_hash,
        order.margin_amount,
    ) == (
        None,
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"customer_ip": "300.1.2.3"}, 422),
        ({"customer_ip": "not an ip"}, 422),
        ({"margin_amount": 19901}, 422),  # more than the order
        ({"shipping_address": ADDRESS | {"country": "cn"}}, 400),
        ({"shipping_address": {"country": "CN"}}, 400),  # no street
        ({"shipping_address": ADDRESS | {"planet": "Earth"}}, 400),
        ({"device_id": "d" * 201}, 400),
    ],
)
async def test_bad_identity_facts(
    client: AsyncTestClient[Litestar],
    shop: dict[str, str],
    session: AsyncSession,
    changes: dict[str, Any],
    status: int,
) -> None:
    r = await client.post("/api/orders", json=order_body("id-bad", **changes), headers=shop)
    assert r.status_code == status, r.text
    assert await session.scalar(select(Order).where(Order.external_id == "id-bad")) is None


async def test_ipv6_and_a_loss_making_order(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session_maker: SessionMaker
) -> None:
    body = order_body("id-3", customer_ip="2001:DB8::1", margin_amount=-500)
    assert (await client.post("/api/orders", json=body, headers=shop)).status_code == 201
    order = await stored(session_maker, "id-3")
    assert order.ip_hash == hash_ip(SECRET, "2001:db8::1") and order.margin_amount == -500

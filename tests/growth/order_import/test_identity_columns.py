"""CSV import takes the risk firewall's columns as the order API takes them: the same validation,
the address and IP hashed by the same code with the same secret, per-row refusals for bad values."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.order.models import Order
from growth.risk.models import OrderReview
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code

PLACED = "2026-11-20T10:00:00+08:00"
COLUMNS = [
    "external_id",
    "customer_external_id",
    "customer_email",
    "amount",
    "currency",
    "placed_at",
    "referral_code",
    "payment_fingerprint",
    "device_id",
    "customer_ip",
    "margin_amount",
    "shipping_line1",
    "shipping_line2",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
]
ADDRESS = {
    "shipping_line1": "88 Century Avenue",
    "shipping_line2": "Apt 4",
    "shipping_city": "Shanghai",
    "shipping_postal_code": "200120",
    "shipping_country": "CN",
}


def csv_file(*rows: dict[str, str], columns: list[str] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                "customer_external_id": f"c-{row['external_id']}",
                "customer_email": f"{row['external_id']}@example.com",
                "amount": "10000",
                "currency": "CNY",
                "placed_at": PLACED,
            }
            | row
        )
    return out.getvalue().encode()


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return bearer(key) | {"Content-Type": "text/csv"}


async def orders(session: AsyncSession) -> dict[str, Order]:
    found = {o.external_id: o for o in await session.scalars(select(Order))}
    for order in found.values():
        session.expunge(order)
    await session.rollback()
    return found


async def upload(client: AsyncTestClient[Litestar], shop: dict[str, str], data: bytes) -> dict[str, Any]:
    r = await client.post("/api/orders/import", content=data, headers=shop)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_the_columns_are_kept_and_hashed_as_the_api_does(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session: AsyncSession
) -> None:
    row = {
        "external_id": "csv-1",
        "payment_fingerprint": "Xt5EWLLDS7FJjR1c",
        "device_id": "dev-42",
        "customer_ip": "203.0.113.7",
        "margin_amount": "2500",
        # Spelled another way than the API's below: the same address after normalizing.
        **ADDRESS | {"shipping_line1": "88  CENTURY avenue", "shipping_line2": "apt. 4"},
    }
    body = await upload(client, shop, csv_file(row))
    api = {
        "external_id": "api-1",
        "customer": {"external_id": "c-api", "email": "api@example.com"},
        "amount": 10000,
        "currency": "CNY",
        "placed_at": PLACED,
        "customer_ip": "203.0.113.7",
        "shipping_address": {
            "line1": ADDRESS["shipping_line1"],
            "line2": ADDRESS["shipping_line2"],
            "city": ADDRESS["shipping_city"],
            "postal_code": ADDRESS["shipping_postal_code"],
            "country": ADDRESS["shipping_country"],
        },
    }
    r = await client.post("/api/orders", json=api, headers={"Authorization": shop["Authorization"]})
    assert r.status_code == 201, r.text

    assert body["counts"] == {"created": 1, "duplicate": 0, "refused": 0}
    found = await orders(session)
    imported, posted = found["csv-1"], found["api-1"]
    assert (imported.payment_fingerprint, imported.device_id, imported.margin_amount) == (
        "Xt5EWLLDS7FJjR1c",
        "dev-42",
        2500,
    )
    assert imported.address_hash is not None and imported.address_hash == posted.address_hash
    assert imported.ip_hash is not None and imported.ip_hash == posted.ip_hash
    # Only keyed hashes are kept: the address and IP are nowhere in the stored intake.
    assert "Century" not in str(imported.content) and "203.0.113.7" not in str(imported.content)


async def test_a_friend_at_the_referrers_address_is_held(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session: AsyncSession
) -> None:
    campaign = await create_campaign(session, name="Spring")
    mei = await create_customer(session, external_id="mei", email="mei@example.com")
    code = (await issue_code(session, campaign=campaign, customer=mei)).code
    await session.commit()
    own = {"external_id": "mei-own", "customer_external_id": "mei", "customer_email": "mei@example.com"}

    await upload(
        client,
        shop,
        csv_file(own | ADDRESS, {"external_id": "friend-1", "referral_code": code} | ADDRESS),
    )

    friend = (await orders(session))["friend-1"]
    review = await session.scalar(select(OrderReview).where(OrderReview.order_id == friend.id))
    assert review is not None and review.status == "held"
    assert [reason["code"] for reason in review.reasons] == ["self_referral_same_address"]


async def test_bad_values_refuse_their_row_only(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session: AsyncSession
) -> None:
    rows = [
        {"external_id": "good-1", "customer_ip": "2001:db8::1"},
        {"external_id": "bad-ip", "customer_ip": "300.1.1.1"},
        {"external_id": "bad-country"} | ADDRESS | {"shipping_country": "China"},
        {"external_id": "no-line1"} | ADDRESS | {"shipping_line1": ""},
        {"external_id": "bad-margin", "margin_amount": "12.5"},
        {"external_id": "margin-above", "margin_amount": "10001"},
        {"external_id": "long-device", "device_id": "d" * 201},
        {"external_id": "good-2", "margin_amount": "-300"},
    ]

    body = await upload(client, shop, csv_file(*rows))

    outcome = {r["external_id"]: r["error"] and r["error"]["message"] for r in body["rows"]}
    assert body["counts"] == {"created": 2, "duplicate": 0, "refused": 6}
    assert outcome["good-1"] is None and outcome["good-2"] is None
    assert outcome["bad-ip"] == "customer_ip '300.1.1.1' is not an IP address"
    assert "shipping_country" in outcome["bad-country"]
    assert "shipping_line1" in outcome["no-line1"]
    assert outcome["bad-margin"] == "margin_amount must be a whole number of minor units: '12.5'"
    assert outcome["margin-above"] == "margin_amount must not be more than the order amount"
    assert outcome["long-device"] == "device_id is longer than 200 characters"
    assert set(await orders(session)) == {"good-1", "good-2"}


async def test_major_units_take_the_margin_in_major_units(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session: AsyncSession
) -> None:
    columns = ["external_id", "customer_external_id", "amount_major", "currency", "placed_at"]
    good = "o-1,c-1,100.00,CNY,2026-11-20T10:00:00+08:00,25.50\n"
    data = (",".join([*columns, "margin_amount_major"]) + "\n" + good).encode()
    body = await upload(client, shop, data)
    assert body["counts"]["created"] == 1
    assert (await orders(session))["o-1"].margin_amount == 2550

    mixed = (",".join([*columns, "margin_amount"]) + "\n" + good).encode()
    r = await client.post("/api/orders/import", content=mixed, headers=shop)
    assert r.status_code == 400
    assert "with amount_major the margin column is margin_amount_major" in r.json()["error"]["message"]

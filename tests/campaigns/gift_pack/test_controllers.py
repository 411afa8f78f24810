from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from tests.campaigns.gift_pack.factories import create_pack, create_shipment
from tests.factories import bearer, create_key

PACK = {"sku": "TEA-01", "name": "Spring tea sampler", "value_amount": 3500, "currency": "CNY"}


@pytest.fixture
async def marketing(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    return bearer(key)


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return bearer(key)


@pytest.fixture
async def finance(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.finance)
    await session.commit()
    return bearer(key)


async def requested_shipment(session: AsyncSession, *, stock_on_hand: int = 3, **address: Any) -> UUID:
    """A committed shipment request for a reserved pack of ``TEA-01``; its id."""
    pack = await create_pack(session, sku="TEA-01", stock_on_hand=stock_on_hand)
    shipment = await create_shipment(session, pack=pack, **address)
    await session.commit()
    return shipment.id


async def pack_stock(client: AsyncTestClient[Litestar], headers: dict[str, str]) -> tuple[int, int, int]:
    body = (await client.get("/api/gift-packs/TEA-01", headers=headers)).json()
    return body["stock_on_hand"], body["stock_reserved"], body["available"]


class TestGiftPacks:
    async def test_create_read_list(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str]
    ) -> None:
        created = await client.post("/api/gift-packs", json={**PACK, "stock_on_hand": 5}, headers=marketing)
        read = await client.get("/api/gift-packs/TEA-01", headers=marketing)
        listed = await client.get("/api/gift-packs", headers=marketing)

        assert created.status_code == 201, created.text
        body = created.json()
        assert {k: body[k] for k in (*PACK, "stock_on_hand", "stock_reserved", "available")} == {
            **PACK,
            "stock_on_hand": 5,
            "stock_reserved": 0,
            "available": 5,
        }
        assert body["is_out_of_stock"] is False
        assert read.json() == body
        assert listed.json() == [body]

    async def test_a_new_pack_without_stock_is_out_of_stock(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str]
    ) -> None:
        body = (await client.post("/api/gift-packs", json=PACK, headers=marketing)).json()

        assert (body["available"], body["is_out_of_stock"]) == (0, True)

    async def test_duplicate_sku(self, client: AsyncTestClient[Litestar], marketing: dict[str, str]) -> None:
        await client.post("/api/gift-packs", json=PACK, headers=marketing)

        response = await client.post("/api/gift-packs", json={**PACK, "name": "Other"}, headers=marketing)

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "gift_pack_exists"

    async def test_unknown_currency(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str]
    ) -> None:
        response = await client.post("/api/gift-packs", json={**PACK, "currency": "XYZ"}, headers=marketing)

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_gift_pack"

    @pytest.mark.parametrize(
        "changes",
        [
            {"currency": "cny"},
            {"sku": "tea 01"},
            {"sku": "../../etc/passwd"},
            {"sku": ""},
            {"name": ""},
            {"name": "tea\u0000"},
            {"value_amount": -1},
            {"value_amount": 12.5},
            {"stock_on_hand": -3},
            {"stock_on_hand": 10**12},
            {"is_out_of_stock": False},
        ],
    )
    async def test_malformed_payloads(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str], changes: dict[str, Any]
    ) -> None:
        response = await client.post("/api/gift-packs", json={**PACK, **changes}, headers=marketing)

        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "validation_error"

    async def test_missing_fields(self, client: AsyncTestClient[Litestar], marketing: dict[str, str]) -> None:
        response = await client.post("/api/gift-packs", json={"sku": "TEA-01"}, headers=marketing)
        assert response.status_code == 400

    async def test_unknown_sku(self, client: AsyncTestClient[Litestar], marketing: dict[str, str]) -> None:
        for response in (
            await client.get("/api/gift-packs/NOPE", headers=marketing),
            await client.patch("/api/gift-packs/NOPE", json={"name": "x"}, headers=marketing),
            await client.post("/api/gift-packs/NOPE/restock", json={"quantity": 1}, headers=marketing),
            await client.post("/api/gift-packs/NOPE/stock", json={"stock_on_hand": 1}, headers=marketing),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "gift_pack_not_found"

    async def test_rename_and_revalue(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str]
    ) -> None:
        await client.post("/api/gift-packs", json=PACK, headers=marketing)

        response = await client.patch(
            "/api/gift-packs/TEA-01", json={"name": "Winter tea", "value_amount": 4000}, headers=marketing
        )
        refused = await client.patch("/api/gift-packs/TEA-01", json={"currency": "USD"}, headers=marketing)

        assert response.status_code == 200
        assert (response.json()["name"], response.json()["value_amount"]) == ("Winter tea", 4000)
        assert refused.status_code == 400

    async def test_restock(self, client: AsyncTestClient[Litestar], marketing: dict[str, str]) -> None:
        await client.post("/api/gift-packs", json=PACK, headers=marketing)

        response = await client.post(
            "/api/gift-packs/TEA-01/restock", json={"quantity": 20}, headers=marketing
        )

        assert response.status_code == 200
        assert (response.json()["stock_on_hand"], response.json()["is_out_of_stock"]) == (20, False)

    @pytest.mark.parametrize("quantity", [0, -1, 1_000_001, 2.5, None, "many"])
    async def test_restock_out_of_range(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str], quantity: Any
    ) -> None:
        await client.post("/api/gift-packs", json=PACK, headers=marketing)

        response = await client.post(
            "/api/gift-packs/TEA-01/restock", json={"quantity": quantity}, headers=marketing
        )

        assert response.status_code == 400
        assert await pack_stock(client, marketing) == (0, 0, 0)

    async def test_stock_correction_never_below_reserved(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        await requested_shipment(session, stock_on_hand=3)  # one pack reserved

        down = await client.post("/api/gift-packs/TEA-01/stock", json={"stock_on_hand": 1}, headers=marketing)
        below = await client.post(
            "/api/gift-packs/TEA-01/stock", json={"stock_on_hand": 0}, headers=marketing
        )
        negative = await client.post(
            "/api/gift-packs/TEA-01/stock", json={"stock_on_hand": -1}, headers=marketing
        )

        assert down.status_code == 200
        assert (down.json()["available"], down.json()["is_out_of_stock"]) == (0, True)
        assert below.status_code == 409
        assert below.json()["error"] == {
            "code": "stock_below_reserved",
            "message": "1 packs of 'TEA-01' are reserved for rewards; stock cannot be lower",
            "details": {"stock_reserved": 1},
        }
        assert negative.status_code == 400
        assert await pack_stock(client, marketing) == (1, 1, 0)

    async def test_without_a_key(self, client: AsyncTestClient[Litestar]) -> None:
        assert (await client.get("/api/gift-packs")).status_code == 401
        assert (await client.post("/api/gift-packs", json=PACK)).status_code == 401
        bad = {"Authorization": "Bearer gk_00000000_not-a-key"}
        assert (await client.get("/api/gift-packs", headers=bad)).status_code == 401

    @pytest.mark.parametrize("role", [Role.shop, Role.finance, Role.partner])
    async def test_other_roles_may_not_manage_packs(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        headers = bearer(await create_key(session, role=role))
        await session.commit()

        assert (await client.post("/api/gift-packs", json=PACK, headers=headers)).status_code == 403
        assert (await client.get("/api/gift-packs", headers=headers)).status_code == 403

    async def test_admin_may(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        headers = bearer(await create_key(session, role=Role.admin))
        await session.commit()

        assert (await client.post("/api/gift-packs", json=PACK, headers=headers)).status_code == 201


class TestShipments:
    async def test_the_shop_lists_and_ships(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop: dict[str, str],
        marketing: dict[str, str],
    ) -> None:
        shipment_id = await requested_shipment(session, stock_on_hand=3)

        listed = await client.get("/api/shipments", params={"status": "requested"}, headers=shop)
        shipped = await client.post(
            f"/api/shipments/{shipment_id}/status",
            json={"status": "shipped", "carrier": "SF Express", "tracking_number": "SF1234567890"},
            headers=shop,
        )
        again = await client.post(
            f"/api/shipments/{shipment_id}/status",
            json={"status": "shipped", "carrier": "SF Express", "tracking_number": "SF1234567890"},
            headers=shop,
        )
        delivered = await client.post(
            f"/api/shipments/{shipment_id}/status", json={"status": "delivered"}, headers=marketing
        )

        assert [s["id"] for s in listed.json()] == [str(shipment_id)]
        assert listed.json()[0]["address"]["city"] == "上海"
        assert shipped.status_code == 200, shipped.text
        assert (shipped.json()["status"], shipped.json()["tracking_number"]) == ("shipped", "SF1234567890")
        assert again.status_code == 200 and again.json() == shipped.json()
        assert delivered.json()["status"] == "delivered" and delivered.json()["delivered_at"]
        assert await pack_stock(client, marketing) == (2, 0, 2)
        read = await client.get(f"/api/shipments/{shipment_id}", headers=shop)
        assert read.json() == delivered.json()

    async def test_shipped_without_tracking(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        shipment_id = await requested_shipment(session)

        response = await client.post(
            f"/api/shipments/{shipment_id}/status", json={"status": "shipped", "carrier": "SF"}, headers=shop
        )

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_shipment_update"

    @pytest.mark.parametrize(
        ("steps", "target", "current"),
        [
            ([], "delivered", "requested"),
            ([], "requested", "requested"),
            (["failed"], "shipped", "failed"),
            (["shipped", "delivered"], "failed", "delivered"),
        ],
    )
    async def test_illegal_moves(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop: dict[str, str],
        steps: list[str],
        target: str,
        current: str,
    ) -> None:
        shipment_id = await requested_shipment(session)
        url = f"/api/shipments/{shipment_id}/status"
        for step in steps:
            body = {"status": step, **({"tracking_number": "T1"} if step == "shipped" else {})}
            response = await client.post(url, json=body, headers=shop)
            assert response.status_code == 200, response.text

        response = await client.post(url, json={"status": target, "tracking_number": "T1"}, headers=shop)

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "illegal_shipment_change"
        assert response.json()["error"]["details"] == {"current": current}

    async def test_failed_releases_the_pack(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop: dict[str, str],
        marketing: dict[str, str],
    ) -> None:
        shipment_id = await requested_shipment(session, stock_on_hand=1)
        assert await pack_stock(client, marketing) == (1, 1, 0)

        response = await client.post(
            f"/api/shipments/{shipment_id}/status",
            json={"status": "failed", "failure_reason": "address does not exist"},
            headers=shop,
        )

        assert response.json()["failure_reason"] == "address does not exist"
        assert await pack_stock(client, marketing) == (1, 0, 1)

    @pytest.mark.parametrize(
        "body",
        [
            {"status": "lost"},
            {"status": "shipped", "tracking_number": "x" * 101},
            {"status": "shipped", "tracking_number": "SF\n123"},
            {"status": "shipped", "tracking_number": ""},
            {"status": "shipped", "tracking_number": 123},
            {"status": "shipped", "tracking_number": "SF1", "warehouse": "B"},
            {},
        ],
    )
    async def test_malformed_status_updates(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str], body: Any
    ) -> None:
        shipment_id = await requested_shipment(session)

        response = await client.post(f"/api/shipments/{shipment_id}/status", json=body, headers=shop)

        assert response.status_code == 400

    async def test_unknown_shipment(self, client: AsyncTestClient[Litestar], shop: dict[str, str]) -> None:
        response = await client.post(
            f"/api/shipments/{uuid4()}/status",
            json={"status": "shipped", "tracking_number": "T"},
            headers=shop,
        )
        not_a_uuid = await client.get("/api/shipments/not-a-uuid", headers=shop)

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "shipment_not_found"
        assert not_a_uuid.status_code == 404

    async def test_list_with_an_unknown_status(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str]
    ) -> None:
        assert (await client.get("/api/shipments?status=lost", headers=shop)).status_code == 400
        assert (await client.get("/api/shipments?limit=0", headers=shop)).status_code == 400

    async def test_export_csv(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        shipment_id = await requested_shipment(session, name="=1+2", line2=None)

        response = await client.get("/api/shipments/export.csv", headers=shop)
        shipped = await client.get("/api/shipments/export.csv?status=shipped", headers=shop)

        assert response.status_code == 200
        # One charset parameter: the handler once named it and Litestar appended it again (issue 9 fuzzing).
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert 'filename="shipments-requested.csv"' in response.headers["content-disposition"]
        header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        assert header == [
            "shipment_id",
            "reward_id",
            "sku",
            "status",
            "name",
            "line1",
            "line2",
            "city",
            "postal_code",
            "country",
            "phone",
            "carrier",
            "tracking_number",
            "requested_at",
        ]
        record = dict(zip(header, row, strict=True))
        assert record["shipment_id"] == str(shipment_id)
        assert (record["name"], record["city"], record["line2"]) == ("'=1+2", "上海", "")
        assert shipped.text.strip().count("\n") == 0  # the header row only

    async def test_roles(
        self, client: AsyncTestClient[Litestar], marketing: dict[str, str], finance: dict[str, str]
    ) -> None:
        assert (await client.get("/api/shipments")).status_code == 401
        assert (await client.get("/api/shipments/export.csv")).status_code == 401
        assert (await client.get("/api/shipments", headers=finance)).status_code == 403
        assert (await client.get("/api/shipments/export.csv", headers=finance)).status_code == 403
        assert (await client.get("/api/shipments", headers=marketing)).status_code == 200

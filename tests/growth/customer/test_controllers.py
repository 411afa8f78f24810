from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.customer.models import Customer
from tests.factories import bearer, create_key


@pytest.fixture
async def shop_key(session: AsyncSession) -> str:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return key


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Customer)) or 0


class TestUpsertCustomer:
    async def test_created_then_updated(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop_key: str
    ) -> None:
        created = await client.put(
            "/api/customers/shop-1001",
            json={"email": "mei@example.com", "name": "Mei Lin", "locale": "zh-CN"},
            headers=bearer(shop_key),
        )
        updated = await client.put(
            "/api/customers/shop-1001", json={"name": "Lin Mei"}, headers=bearer(shop_key)
        )

        assert created.status_code == 201
        body = created.json()
        assert {k: body[k] for k in ("external_id", "email", "name", "locale")} == {
            "external_id": "shop-1001",
            "email": "mei@example.com",
            "name": "Mei Lin",
            "locale": "zh-CN",
        }
        assert updated.status_code == 200
        assert updated.json()["id"] == body["id"]
        assert (updated.json()["name"], updated.json()["email"]) == ("Lin Mei", "mei@example.com")
        fetched = await client.get("/api/customers/shop-1001", headers=bearer(shop_key))
        assert fetched.status_code == 200 and fetched.json()["name"] == "Lin Mei"

    async def test_retries_converge_on_one_row(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop_key: str
    ) -> None:
        statuses = [
            (
                await client.put(
                    "/api/customers/retry-7", json={"email": "r@example.com"}, headers=bearer(shop_key)
                )
            ).status_code
            for _ in range(3)
        ]

        assert statuses == [201, 200, 200]
        assert await _count(session) == 1

    async def test_marketing_may_upsert(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.marketing)
        await session.commit()

        response = await client.put("/api/customers/m-1", json={}, headers=bearer(key))

        assert response.status_code == 201

    @pytest.mark.parametrize(
        ("external_id", "payload"),
        [
            ("c-1", {"email": "not-an-email"}),
            ("has%20space", {"email": "a@example.com"}),
            ("x" * 101, {"email": "a@example.com"}),
        ],
        ids=["invalid-email", "space-in-id", "101-char-id"],
    )
    async def test_invalid_values_are_422(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop_key: str,
        external_id: str,
        payload: dict[str, object],
    ) -> None:
        response = await client.put(f"/api/customers/{external_id}", json=payload, headers=bearer(shop_key))

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_customer"
        assert response.json()["error"]["message"]
        assert await _count(session) == 0

    async def test_100_char_external_id_is_fine(
        self, client: AsyncTestClient[Litestar], shop_key: str
    ) -> None:
        response = await client.put(f"/api/customers/{'x' * 100}", json={}, headers=bearer(shop_key))

        assert response.status_code == 201

    @pytest.mark.parametrize(
        "payload",
        [
            {"email": "a@example.com", "vip": True},
            {"name": "x" * 201},
            {"email": "a" * 310 + "@example.com"},
            {"email": 42},
            {"name": ["Mei"]},
            {"locale": "not a locale"},
            [],
        ],
        ids=["unknown-field", "long-name", "long-email", "email-int", "name-list", "bad-locale", "array"],
    )
    async def test_malformed_payload_is_400(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop_key: str,
        payload: object,
    ) -> None:
        response = await client.put("/api/customers/c-1", json=payload, headers=bearer(shop_key))

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
        assert await _count(session) == 0

    @pytest.mark.parametrize("payload", [{"name": "Mei\x00Lin"}, {"email": "mei\x00@example.com"}])
    async def test_nul_character_is_refused(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop_key: str, payload: dict[str, str]
    ) -> None:
        response = await client.put("/api/customers/c-1", json=payload, headers=bearer(shop_key))

        assert response.status_code in {400, 422}, response.text
        assert await _count(session) == 0

    async def test_malformed_json_is_400(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop_key: str
    ) -> None:
        response = await client.put(
            "/api/customers/c-1",
            content=b'{"email": "a@example.com"',
            headers={**bearer(shop_key), "content-type": "application/json"},
        )

        assert response.status_code == 400
        assert set(response.json()["error"]) >= {"code", "message"}

    async def test_finance_role_is_403(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.finance)
        await session.commit()

        response = await client.put("/api/customers/c-1", json={}, headers=bearer(key))

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "role_not_allowed"
        assert await _count(session) == 0

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        response = await client.put("/api/customers/c-1", json={})

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert await _count(session) == 0


class TestGetCustomer:
    async def test_unknown_is_404(self, client: AsyncTestClient[Litestar], shop_key: str) -> None:
        response = await client.get("/api/customers/nobody", headers=bearer(shop_key))

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"


class TestDeleteCustomer:
    async def test_erases_personal_data_and_blocks_reuse(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop_key: str
    ) -> None:
        await client.put(
            "/api/customers/gdpr-1", json={"email": "x@example.com", "name": "Xiao"}, headers=bearer(shop_key)
        )

        deleted = await client.delete("/api/customers/gdpr-1", headers=bearer(shop_key))

        assert deleted.status_code == 204
        customer = await session.scalar(select(Customer).where(Customer.external_id == "gdpr-1"))
        assert customer is not None and customer.deleted_at is not None
        assert (customer.email, customer.email_key, customer.name) == (None, None, None)
        await session.rollback()  # end the read: on SQLite an open transaction holds the write lock
        assert (await client.get("/api/customers/gdpr-1", headers=bearer(shop_key))).status_code == 404
        again = await client.put(
            "/api/customers/gdpr-1", json={"email": "x@example.com"}, headers=bearer(shop_key)
        )
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "customer_deleted"
        session.expunge_all()
        customer = await session.scalar(select(Customer).where(Customer.external_id == "gdpr-1"))
        assert customer is not None and customer.email is None

    async def test_deleting_twice_is_404(self, client: AsyncTestClient[Litestar], shop_key: str) -> None:
        await client.put("/api/customers/gdpr-2", json={}, headers=bearer(shop_key))

        first = await client.delete("/api/customers/gdpr-2", headers=bearer(shop_key))
        second = await client.delete("/api/customers/gdpr-2", headers=bearer(shop_key))

        assert (first.status_code, second.status_code) == (204, 404)

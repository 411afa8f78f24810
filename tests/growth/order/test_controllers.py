from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.ports import no_leads
from growth.core.time import utc_now as _now
from growth.order import service as order_service
from growth.order.models import Order, OrderTransition
from tests.conftest import flush_clicks
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code

PLACED_AT = "2026-11-20T10:00:00+08:00"


def order_body(external_id: str = "o-1", **changes: Any) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "customer": {"external_id": "mei", "email": "mei@example.com"},
        "amount": 19900,
        "currency": "CNY",
        "placed_at": PLACED_AT,
        "lines": [{"sku": "TEA-1", "quantity": 2, "unit_amount": 9950, "category": "tea"}],
    }
    return {**body, **changes}


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return bearer(key)


async def _count(session: AsyncSession, model: Any) -> int:
    count = await session.scalar(select(func.count()).select_from(model)) or 0
    await session.rollback()  # end the read: SQLite's open transaction would hold the write lock
    return count


class TestCreateOrder:
    async def test_created_then_the_same_again_then_different(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        first = await client.post("/api/orders", json=order_body(), headers=shop)
        again = await client.post("/api/orders", json=order_body(), headers=shop)
        different = await client.post(
            "/api/orders", json=order_body(amount=29900, currency="USD"), headers=shop
        )

        assert first.status_code == 201, first.text
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert again.json()["attribution"] == first.json()["attribution"]
        assert different.status_code == 409
        error = different.json()["error"]
        assert error["code"] == "order_conflict" and error["details"]["fields"] == ["amount", "currency"]
        assert "amount, currency" in error["message"]
        assert await _count(session, Order) == 1

    @pytest.mark.parametrize(
        ("changes", "status"),
        [
            ({"amount": -1}, 422),
            ({"amount": 10**15}, 422),
            ({"amount": "lots"}, 400),
            ({"amount": 12.5}, 400),
            ({"currency": "XYZ"}, 422),
            ({"currency": "cny"}, 400),
            ({"placed_at": "2026-11-20T10:00:00"}, 400),
            ({"placed_at": "2099-01-01T00:00:00Z"}, 422),
            ({"surprise": 1}, 400),
            ({"external_id": "x" * 201}, 400),
            ({"customer": {"external_id": "mei", "email": "not-an-email"}}, 422),
            ({"lines": [{"sku": "A", "quantity": 0, "unit_amount": 1}]}, 422),
            ({"click_ids": ["not-a-uuid"]}, 400),
        ],
    )
    async def test_bad_input(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop: dict[str, str],
        changes: dict[str, Any],
        status: int,
    ) -> None:
        response = await client.post("/api/orders", json=order_body(**changes), headers=shop)

        assert response.status_code == status, response.text
        assert set(response.json()["error"]) >= {"code", "message"}
        assert await _count(session, Order) == 0

    async def test_malformed_json(self, client: AsyncTestClient[Litestar], shop: dict[str, str]) -> None:
        response = await client.post(
            "/api/orders", content=b'{"external_id": ', headers={**shop, "content-type": "application/json"}
        )
        assert response.status_code == 400

    async def test_auth(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        marketing = await create_key(session, role=Role.marketing)
        await session.commit()
        assert (await client.post("/api/orders", json=order_body())).status_code == 401
        assert (
            await client.post("/api/orders", json=order_body(), headers=bearer(marketing))
        ).status_code == 403
        # Marketing may read orders and their attribution.
        assert (await client.get("/api/orders/o-1", headers=bearer(marketing))).status_code == 404


class TestAttribution:
    async def test_by_referral_code_and_explained(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        campaign = await create_campaign(session, name="Spring")
        code = await issue_code(
            session, campaign=campaign, customer=await create_customer(session, external_id="alice")
        )
        await session.commit()

        created = await client.post(
            "/api/orders", json=order_body(referral_code=code.code.lower()), headers=shop
        )
        why = await client.get("/api/orders/o-1/attribution", headers=shop)

        assert created.status_code == 201
        assert why.json()["method"] == "referral_code"
        assert why.json()["referral_code_id"] == str(code.id)
        assert why.json()["explanation"] == (
            f"Attributed to customer alice by referral code {code.code} (campaign 'Spring')."
        )

    async def test_by_click_from_the_redirect(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        redirect = await client.get(f"/r/{code.code}", follow_redirects=False)
        click_id = redirect.cookies["growth_ref"]
        await flush_clicks(client)

        created = await client.post(
            "/api/orders", json=order_body(placed_at=_now().isoformat(), click_ids=[click_id]), headers=shop
        )

        attribution = created.json()["attribution"]
        assert attribution["method"] == "click" and attribution["click_id"] == click_id

    async def test_self_referral_is_nobody(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(
            session,
            campaign=campaign,
            customer=await create_customer(session, external_id="x", email="M.E.I+shop@gmail.com"),
        )
        await session.commit()
        body = order_body(referral_code=code.code, customer={"external_id": "mei", "email": "mei@gmail.com"})

        response = await client.post("/api/orders", json=body, headers=shop)

        attribution = response.json()["attribution"]
        assert attribution["method"] == "none" and "self-referral" in attribution["explanation"]

    async def test_existing_customer_is_not_a_referee(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        await client.post(
            "/api/orders", json=order_body("earlier", placed_at="2026-11-01T00:00:00Z"), headers=shop
        )
        await client.post("/api/orders/earlier/events", json={"type": "paid"}, headers=shop)

        later = await client.post(
            "/api/orders", json=order_body("later", referral_code=code.code), headers=shop
        )

        assert later.json()["attribution"]["method"] == "none"
        assert "new customers only" in later.json()["attribution"]["explanation"]

    async def test_order_attributed_event_is_published(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        await client.post("/api/orders", json=order_body(referral_code=code.code), headers=shop)

        names = list(await session.scalars(select(OutboxEvent.name)))
        payload = await session.scalar(
            select(OutboxEvent.payload).where(OutboxEvent.name == "order.attributed")
        )
        await session.rollback()
        assert "order.attributed" in names
        assert payload is not None and payload["method"] == "referral_code" and payload["amount"] == 19900


class TestLifecycle:
    async def _post(self, client: AsyncTestClient[Litestar], shop: dict[str, str], **event: Any) -> Any:
        return await client.post("/api/orders/o-1/events", json=event, headers=shop)

    async def test_paid_fulfilled_closed_with_history(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        await client.post("/api/orders", json=order_body(), headers=shop)
        for event in ("paid", "fulfilled", "closed"):
            assert (await self._post(client, shop, type=event)).status_code == 201

        order = (await client.get("/api/orders/o-1", headers=shop)).json()

        assert order["status"] == "closed" and order["paid_amount"] == 19900
        assert [(h["event"], h["to_status"], h["source"]) for h in order["history"]] == [
            ("paid", "paid", "api"),
            ("fulfilled", "fulfilled", "api"),
            ("closed", "closed", "api"),
        ]
        names = list(await session.scalars(select(OutboxEvent.name).order_by(OutboxEvent.id)))
        await session.rollback()
        assert names[-3:] == ["order.paid", "order.fulfilled", "order.closed"]

    @pytest.mark.parametrize(
        ("setup", "event", "current"),
        [
            ([], {"type": "refunded"}, "placed"),
            ([{"type": "cancelled"}], {"type": "closed"}, "cancelled"),
            ([{"type": "paid"}], {"type": "refunded", "amount": 19901}, "paid"),
            (
                [{"type": "paid"}, {"type": "refunded", "amount": 19000}],
                {"type": "refunded", "amount": 901},
                "paid",
            ),
        ],
    )
    async def test_illegal_transitions_are_409_with_the_current_state(
        self,
        client: AsyncTestClient[Litestar],
        shop: dict[str, str],
        setup: list[dict[str, Any]],
        event: dict[str, Any],
        current: str,
    ) -> None:
        await client.post("/api/orders", json=order_body(), headers=shop)
        for step in setup:
            assert (await self._post(client, shop, **step)).status_code == 201

        response = await self._post(client, shop, **event)

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "illegal_order_transition"
        assert response.json()["error"]["details"] == {"current": current}

    async def test_retried_event_applies_once(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        await client.post("/api/orders", json=order_body(), headers=shop)
        await self._post(client, shop, type="paid", event_id="pay-1")
        first = await self._post(client, shop, type="refunded", amount=500, event_id="ref-1")
        again = await self._post(client, shop, type="refunded", amount=500, event_id="ref-1")
        reused = await self._post(client, shop, type="closed", event_id="ref-1")

        assert (first.status_code, again.status_code, reused.status_code) == (201, 200, 409)
        order = (await client.get("/api/orders/o-1", headers=shop)).json()
        assert order["refunded_amount"] == 500 and order["status"] == "paid"

    async def test_unknown_order_and_bad_event(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str]
    ) -> None:
        assert (await self._post(client, shop, type="paid")).status_code == 404
        await client.post("/api/orders", json=order_body(), headers=shop)
        assert (await self._post(client, shop, type="teleported")).status_code == 400
        assert (
            await self._post(client, shop, type="paid", occurred_at="2026-11-20T10:00:00")
        ).status_code == 400


class TestIdempotencyUnderConcurrency:
    async def test_same_order_posted_concurrently_is_one_order(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        intake = order_service.OrderIntake(
            external_id="race-1",
            customer_external_id="mei",
            amount=100,
            currency="CNY",
            placed_at=datetime.fromisoformat(PLACED_AT),
            source="api",
        )

        async def ingest() -> bool:
            async with session_maker() as s, s.begin():
                result = await order_service.ingest_order(
                    s, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=_now()
                )
                return result.created

        created = await asyncio.gather(*[ingest() for _ in range(10)], return_exceptions=True)

        assert [c for c in created if c is True] == [True], created
        assert all(c in (True, False) for c in created), created
        assert await _count(session, Order) == 1
        assert await _count(session, OrderTransition) == 0

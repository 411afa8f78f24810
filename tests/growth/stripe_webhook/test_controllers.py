from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.app import create_app
from growth.order.models import Order, OrderTransition, PendingOrderEvent
from growth.settings import Settings
from growth.stripe_webhook.models import ExternalEvent
from tests.conftest import BASE_URL
from tests.growth.stripe_webhook import builders as b

URL = "/webhooks/stripe"


async def count(session: AsyncSession, model: Any) -> int:
    value = await session.scalar(select(func.count()).select_from(model)) or 0
    await session.rollback()  # end the read: SQLite's open transaction would hold the write lock
    return value


async def order(session: AsyncSession, external_id: str) -> Order:
    found = await session.scalar(
        select(Order).where(Order.external_id == external_id).execution_options(populate_existing=True)
    )
    assert found is not None, external_id
    session.expunge(found)  # keep what was read: the rollback below expires what is attached
    await session.rollback()
    return found


def checkout(**fields: Any) -> dict[str, Any]:
    return b.event("checkout.session.completed", b.checkout_session(**fields))


class TestReceive:
    async def test_checkout_creates_a_paid_order_without_an_api_key(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        body, headers = b.signed(checkout(id="cs_1"))

        response = await client.post(URL, content=body, headers=headers)

        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": False}
        placed = await order(session, "cs_1")
        assert (placed.status, placed.amount, placed.source) == ("paid", 19900, "stripe")

    async def test_a_duplicate_delivery_changes_nothing(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        body, headers = b.signed(checkout(id="cs_1"))

        first = await client.post(URL, content=body, headers=headers)
        again = await client.post(URL, content=body, headers=headers)

        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json() == {"received": True, "duplicate": True}
        assert await count(session, ExternalEvent) == 1
        assert await count(session, Order) == 1
        assert await count(session, OrderTransition) == 1

    async def test_unknown_event_type_is_acknowledged_and_recorded(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        body, headers = b.signed(b.event("customer.created", {"id": "cus_1", "object": "customer"}))

        response = await client.post(URL, content=body, headers=headers)
        replay = await client.post(URL, content=body, headers=headers)

        assert response.status_code == 200
        assert response.json() == {
            "received": True,
            "duplicate": False,
            "note": "event type customer.created is not used",
        }
        assert replay.json()["duplicate"] is True
        assert await count(session, ExternalEvent) == 1

    async def test_an_event_illegal_for_the_order_is_acknowledged_with_a_note(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        body, headers = b.signed(checkout(id="cs_1", payment_intent="pi_1"))
        await client.post(URL, content=body, headers=headers)
        won = b.event("charge.dispute.closed", b.dispute(payment_intent="pi_1", status="won"))
        body, headers = b.signed(won)

        response = await client.post(URL, content=body, headers=headers)

        assert response.status_code == 200
        assert response.json()["note"] == (
            "not applied: cannot apply dispute_won to a paid order: the order is not disputed"
        )
        assert (await order(session, "cs_1")).status == "paid"


class TestRefused:
    @pytest.mark.parametrize(
        ("case", "message"),
        [
            ("forged", "invalid Stripe signature: No signatures found matching the expected signature"),
            ("stale", "invalid Stripe signature: Timestamp outside the tolerance zone"),
            ("missing", "invalid Stripe signature: the Stripe-Signature header is missing"),
            ("tampered", "invalid Stripe signature: No signatures found matching the expected signature"),
            ("garbled", "invalid Stripe signature: Unable to extract timestamp and signatures"),
        ],
    )
    async def test_a_bad_signature_is_400_and_changes_nothing(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, case: str, message: str
    ) -> None:
        payload = checkout(id="cs_1")
        if case == "forged":
            body, headers = b.signed(payload, secret="whsec_someone_else")
        elif case == "stale":
            body, headers = b.signed(payload, timestamp=int(time.time()) - 301)
        else:
            body, headers = b.signed(payload)
        if case == "missing":
            del headers["stripe-signature"]
        if case == "tampered":
            body = body.replace(b"19900", b"99")
        if case == "garbled":
            headers["stripe-signature"] = "v1=abc"

        response = await client.post(URL, content=body, headers=headers)

        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid_stripe_signature" and error["message"].startswith(message)
        assert (await count(session, ExternalEvent), await count(session, Order)) == (0, 0)

    @pytest.mark.parametrize("body", ["not json", "[1, 2]", '"evt"', '{"id": "evt_1", "object": "event"}'])
    async def test_a_signed_body_that_is_not_an_event_is_400(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, body: str
    ) -> None:
        content, headers = b.signed(body)

        response = await client.post(URL, content=content, headers=headers)

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed_stripe_event"
        assert await count(session, ExternalEvent) == 0

    async def test_without_a_secret_the_endpoint_is_not_configured(self, settings: Settings) -> None:
        app = create_app(settings.with_overrides(stripe_webhook_secret=""))
        body, headers = b.signed(checkout())

        async with AsyncTestClient(app, base_url=BASE_URL) as client:
            response = await client.post(URL, content=body, headers=headers)

        assert response.status_code == 503
        assert response.json() == {
            "error": {
                "code": "stripe_webhooks_not_configured",
                "message": "Stripe webhooks are not configured (GROWTH_STRIPE_WEBHOOK_SECRET)",
            }
        }


class TestConcurrentDeliveries:
    async def test_ten_concurrent_deliveries_have_effect_once(
        self, postgres_only: None, stripe_live_server: str, session: AsyncSession
    ) -> None:
        body, headers = b.signed(checkout(id="cs_1"))

        async with httpx.AsyncClient(base_url=stripe_live_server, timeout=30) as http:
            responses = await asyncio.gather(
                *[http.post(URL, content=body, headers=headers) for _ in range(10)]
            )

        assert [r.status_code for r in responses] == [200] * 10
        assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
        assert await count(session, ExternalEvent) == 1
        assert await count(session, Order) == 1
        assert await count(session, OrderTransition) == 1  # paid, once

    async def test_a_refund_racing_its_checkout_is_counted(
        self, postgres_only: None, stripe_live_server: str, session: AsyncSession
    ) -> None:
        """Each refund is applied to its order, or kept and applied when the order arrives: never lost.

        The refunds start a little after their checkouts, staggered, so that some look for their
        order while the checkout's transaction is still open.
        """
        n_orders = 20

        async def deliver(http: httpx.AsyncClient, payload: dict[str, Any], delay: float) -> int:
            await asyncio.sleep(delay)
            body, headers = b.signed(payload)
            return (await http.post(URL, content=body, headers=headers)).status_code

        async with httpx.AsyncClient(base_url=stripe_live_server, timeout=30) as http:
            statuses = await asyncio.gather(
                *[
                    deliver(
                        http, checkout(id=f"cs_{n}", payment_intent=f"pi_{n}", email=f"c{n}@example.com"), 0
                    )
                    for n in range(n_orders)
                ],
                *[
                    deliver(
                        http,
                        b.event(
                            "charge.refunded", b.charge(payment_intent=f"pi_{n}", amount_refunded=1000 + n)
                        ),
                        0.002 * n,
                    )
                    for n in range(n_orders)
                ],
            )

        assert set(statuses) == {200}
        refunded = {(await order(session, f"cs_{n}")).refunded_amount for n in range(n_orders)}
        assert refunded == {1000 + n for n in range(n_orders)}
        waiting = select(PendingOrderEvent).where(PendingOrderEvent.applied_at.is_(None))
        assert await count(session, waiting.subquery()) == 0

"""Notifications over HTTP: the e-mail outbox, webhook endpoints and re-sending, and the whole path from
a referred order to the e-mails its referrer and friend receive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.notification import service as notification_service
from growth.settings import Settings
from tests.campaigns.reward.test_flow import Shop, drain, ok
from tests.factories import bearer, create_key
from tests.growth.notification.conftest import Receiver
from tests.growth.notification.test_service import event, handle, people


@pytest.fixture
async def keys(session: AsyncSession) -> dict[str, dict[str, str]]:
    made = {role: await create_key(session, role=role) for role in (Role.admin, Role.marketing, Role.shop)}
    await session.commit()
    return {role.value: bearer(key) for role, key in made.items()}


class TestEmailOutbox:
    async def test_marketing_sees_the_stored_emails_with_recipients_masked(
        self,
        client: AsyncTestClient[Litestar],
        keys: dict[str, dict[str, str]],
        session_maker: SessionMaker,
        settings: Settings,
    ) -> None:
        ids = await people(session_maker)
        await handle(
            session_maker,
            settings,
            event("payout.sent", {"partner_id": ids["tea"], "amount": 123450, "currency": "CNY"}),
            event("reward.issued", {"customer_id": ids["alice"], "amount": 2000, "currency": "USD"}),
        )
        emails = await ok(await client.get("/api/notifications/emails", headers=keys["marketing"]))
        assert [(e["kind"], e["recipient"], e["locale"], e["status"]) for e in emails] == [
            ("reward_issued", "a***@example.com", "en", "stored"),
            ("payout_sent", "t***@example.cn", "zh_Hans", "stored"),
        ]
        assert emails[1]["subject"] == "您的付款已发出" and emails[1]["sent_at"] is None
        only = await ok(await client.get("/api/notifications/emails?kind=payout_sent", headers=keys["admin"]))
        assert [e["kind"] for e in only] == ["payout_sent"]

    async def test_other_roles_and_anonymous_callers_are_refused(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        assert (await client.get("/api/notifications/emails", headers=keys["shop"])).status_code == 403
        assert (await client.get("/api/notifications/emails")).status_code == 401


class TestWebhookEndpoints:
    async def test_register_list_delete(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        body = {"url": "https://shop.example/hooks", "event_kinds": ["payout_sent", "friend_ordered"]}
        created = await ok(
            await client.post("/api/webhooks/endpoints", json=body, headers=keys["admin"]), 201
        )
        assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
        assert created["event_kinds"] == ["friend_ordered", "payout_sent"]
        given = await ok(
            await client.post(
                "/api/webhooks/endpoints",
                json={**body, "secret": "my-own-secret-1234"},
                headers=keys["admin"],
            ),
            201,
        )
        assert given["secret"] == "my-own-secret-1234"
        listed = await ok(await client.get("/api/webhooks/endpoints", headers=keys["admin"]))
        assert {e["id"] for e in listed} == {created["id"], given["id"]}
        assert all(e["secret"] is None for e in listed)  # shown once, at creation
        url = f"/api/webhooks/endpoints/{created['id']}"
        assert (await client.delete(url, headers=keys["admin"])).status_code == 204
        assert (await client.delete(url, headers=keys["admin"])).status_code == 404
        listed = await ok(await client.get("/api/webhooks/endpoints", headers=keys["admin"]))
        assert [e["id"] for e in listed] == [given["id"]]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"url": "ftp://shop.example/x", "event_kinds": ["payout_sent"]}, "http:// or https://"),
            ({"url": "https://shop.example/x", "event_kinds": ["payout_exploded"]}, "unknown event kind"),
            ({"url": "https://shop.example/x", "event_kinds": []}, "at least one event kind"),
            (
                {"url": "https://shop.example/x", "event_kinds": ["payout_sent"], "secret": "short"},
                "16 to 200",
            ),
            ({"event_kinds": ["payout_sent"]}, "url"),
        ],
    )
    async def test_bad_inputs_are_400_and_write_nothing(
        self,
        client: AsyncTestClient[Litestar],
        keys: dict[str, dict[str, str]],
        body: dict[str, Any],
        message: str,
    ) -> None:
        response = await client.post("/api/webhooks/endpoints", json=body, headers=keys["admin"])
        assert response.status_code == 400, response.text
        assert message in response.text
        assert await ok(await client.get("/api/webhooks/endpoints", headers=keys["admin"])) == []

    async def test_only_admins_manage_webhooks(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        body = {"url": "https://shop.example/hooks", "event_kinds": ["payout_sent"]}
        response = await client.post("/api/webhooks/endpoints", json=body, headers=keys["marketing"])
        assert response.status_code == 403
        assert (await client.get("/api/webhooks/deliveries", headers=keys["marketing"])).status_code == 403


class TestResend:
    async def test_a_delivery_is_sent_again_from_the_api(
        self,
        client: AsyncTestClient[Litestar],
        keys: dict[str, dict[str, str]],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        ids = await people(session_maker)
        body = {"url": receiver.url, "event_kinds": ["payout_sent"]}
        endpoint = await ok(
            await client.post("/api/webhooks/endpoints", json=body, headers=keys["admin"]), 201
        )
        receiver.secret = endpoint["secret"]
        await handle(session_maker, settings, event("payout.sent", {"partner_id": ids["acme"], "amount": 1}))
        async with session_maker() as s, s.begin():
            await notification_service.deliver_due(s, now=datetime.now(UTC), settings=settings)
        [delivery] = await ok(await client.get("/api/webhooks/deliveries", headers=keys["admin"]))
        assert delivery["status"] == "delivered" and len(delivery["log"]) == 1
        again = await ok(
            await client.post(f"/api/webhooks/deliveries/{delivery['id']}/resend", headers=keys["admin"])
        )
        assert again["attempts"] == 2 and [a["status_code"] for a in again["log"]] == [204, 204]
        assert len(receiver.received) == 2 and all(r.is_signature_valid for r in receiver.received)
        assert receiver.received[0].body == receiver.received[1].body

    async def test_an_unknown_delivery_is_404(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        url = "/api/webhooks/deliveries/01a21b94-1c64-760a-8c35-c37c9a5a587d/resend"
        response = await client.post(url, headers=keys["admin"])
        assert response.status_code == 404 and "no webhook delivery" in response.text


async def test_a_referred_order_and_its_rewards_notify_referrer_and_friend(
    client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
) -> None:
    """Through the API and the in-process outbox: no SMTP server, so the e-mails are stored."""
    shop = Shop(client, keys)
    campaign = await shop.campaign(hold_days=0)
    await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=2000)
    await shop.rule(campaign["id"], side="referee", reward_type="store_credit", amount=1000)
    code = (await shop.code(campaign["id"], "alice", "alice@example.com"))["code"]
    click = await shop.click(code)
    friend = {"external_id": "bob", "email": "bob@example.com", "name": "Bob Li"}
    body = {"external_id": "o-1", "customer": friend, "amount": 19900, "currency": "CNY"}
    body |= {"placed_at": datetime.now(UTC).isoformat(), "click_ids": [click]}
    await ok(await client.post("/api/orders", json=body, headers=keys["shop"]), 201)
    await drain(client)
    emails = await ok(await client.get("/api/notifications/emails", headers=keys["marketing"]))
    assert [(e["kind"], e["recipient"]) for e in emails] == [("friend_ordered", "a***@example.com")]
    for step in ("paid", "closed"):
        await shop.event("o-1", step)
    await drain(client)
    emails = await ok(await client.get("/api/notifications/emails", headers=keys["marketing"]))
    assert sorted((e["kind"], e["recipient"]) for e in emails) == [
        ("friend_ordered", "a***@example.com"),
        ("reward_approved", "a***@example.com"),
        ("reward_approved", "b***@example.com"),
        ("reward_issued", "a***@example.com"),
        ("reward_issued", "b***@example.com"),
    ]

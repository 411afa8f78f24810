"""The review queue end to end, through the public API: a held referred order closes and its hold passes,
yet its reward (and a partner's commission) stays pending; approving it in the queue lets them be
approved; declining another held order voids its reward and reverses its commission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from campaigns.reward import service as reward_service
from growth.core.jobs import run_once
from payouts.commission import service as commission_service
from tests.conftest import in_app_loop
from tests.growth.risk.queue_data import ok

Client = AsyncTestClient[Litestar]
Keys = dict[str, dict[str, str]]


async def drain(client: Client) -> None:
    """Let the in-process outbox worker handle everything committed so far."""
    await in_app_loop(client, client.app.state.outbox.drain)


async def pass_days(client: Client, days: int) -> None:
    """Run both periodic approval jobs as they will run ``days`` from now."""
    later = datetime.now(UTC) + timedelta(days=days)

    async def job() -> None:
        maker = client.app.state.session_maker
        await run_once(maker, lambda s, now: reward_service.approve_due(s, now=now), now=later)
        await run_once(maker, lambda s, now: commission_service.approve_due(s, now=now), now=later)

    await in_app_loop(client, job)


async def order(client: Client, keys: Keys, external_id: str, code: str, email: str) -> str:
    body = {
        "external_id": external_id,
        "customer": {"external_id": f"c-{external_id}", "email": email},
        "amount": 19900,
        "currency": "CNY",
        "placed_at": datetime.now(UTC).isoformat(),
        "referral_code": code,
    }
    created = await ok(await client.post("/api/orders", json=body, headers=keys["shop"]), 201)
    await drain(client)
    return str(created["id"])


async def close(client: Client, keys: Keys, external_id: str) -> None:
    for event in ("paid", "closed"):
        body = {"type": event, "event_id": f"{external_id}-{event}"}
        response = await client.post(f"/api/orders/{external_id}/events", json=body, headers=keys["shop"])
        assert response.status_code in (200, 201), response.text
    await drain(client)


async def decide(client: Client, keys: Keys, order_id: str, decision: str, note: str | None = None) -> None:
    body = {"decision": decision} | ({"note": note} if note else {})
    decided = await ok(
        await client.post(f"/api/reviews/{order_id}/decision", json=body, headers=keys["marketing"])
    )
    assert decided["is_changed"] is True
    await drain(client)


async def referral_code(client: Client, keys: Keys) -> tuple[str, str]:
    """A referral campaign with a 14-day hold and a store-credit reward for the referrer."""
    body = {
        "name": "Friends of tea",
        "landing_url": "https://shop.example/tea",
        "currency": "CNY",
        "status": "active",
        "hold_days": 14,
    }
    campaign = await ok(await client.post("/api/campaigns", json=body, headers=keys["marketing"]), 201)
    rule = {"side": "referrer", "reward_type": "store_credit", "amount": 2000}
    url = f"/api/campaigns/{campaign['id']}/reward-rules"
    await ok(await client.post(url, json=rule, headers=keys["marketing"]), 201)
    await ok(
        await client.put("/api/customers/alice", json={"email": "alice@example.com"}, headers=keys["admin"]),
        201,
    )
    body = {"campaign_id": campaign["id"], "customer_external_id": "alice"}
    code = await ok(await client.post("/api/referral-codes", json=body, headers=keys["admin"]), 201)
    return campaign["id"], code["code"]


async def partner_code(client: Client, keys: Keys) -> tuple[str, str]:
    """A partner program, a partner with a code, on a 10% plan with a 30-day hold."""
    body = {
        "name": "Consultants",
        "kind": "partner",
        "landing_url": "https://shop.example/b2b",
        "currency": "CNY",
        "status": "active",
        "new_customers_only": False,
    }
    campaign = await ok(await client.post("/api/campaigns", json=body, headers=keys["admin"]), 201)
    partner = await ok(
        await client.post(
            "/api/partners", json={"name": "Northwind", "email": "nw@example.com"}, headers=keys["finance"]
        ),
        201,
    )
    code = await ok(
        await client.post(
            f"/api/partners/{partner['id']}/referral-codes",
            json={"campaign_id": campaign["id"]},
            headers=keys["finance"],
        ),
        201,
    )
    plan = {"name": "Standard", "kind": "percent", "currency": "CNY", "rate_bps": 1000, "hold_days": 30}
    plan_id = (await ok(await client.post("/api/commission-plans", json=plan, headers=keys["finance"]), 201))[
        "id"
    ]
    await ok(
        await client.post(
            f"/api/partners/{partner['id']}/plan", json={"plan_id": plan_id}, headers=keys["finance"]
        ),
        201,
    )
    return partner["id"], code["code"]


async def rewards(client: Client, keys: Keys, campaign_id: str) -> dict[str, dict[str, Any]]:
    found = await ok(
        await client.get("/api/rewards", params={"campaign_id": campaign_id}, headers=keys["marketing"])
    )
    return {r["order_external_id"]: r for r in found if r["side"] == "referrer"}


async def commissions(client: Client, keys: Keys, partner_id: str) -> dict[str, dict[str, Any]]:
    found = await ok(
        await client.get("/api/commissions", params={"partner_id": partner_id}, headers=keys["finance"])
    )
    return {c["order_external_id"]: c for c in found}


@pytest.mark.usefixtures("keys")
class TestQueueFlow:
    async def test_held_referral_waits_for_the_queue(self, client: Client, keys: Keys) -> None:
        campaign_id, code = await referral_code(client, keys)
        kept = await order(client, keys, "o-1", code, "bob@mailinator.com")
        voided = await order(client, keys, "o-2", code, "carol@mailinator.com")
        queue = await ok(await client.get("/api/reviews", headers=keys["marketing"]))
        assert {r["order_id"] for r in queue} == {kept, voided}
        for external_id in ("o-1", "o-2"):
            await close(client, keys, external_id)

        await pass_days(client, 15)
        found = await rewards(client, keys, campaign_id)
        assert [(found[o]["status"], found[o]["is_order_held"]) for o in ("o-1", "o-2")] == [
            ("pending", True),
            ("pending", True),
        ]

        await decide(client, keys, kept, "approve")
        await decide(client, keys, voided, "reject", "Fake friend: same household")
        await pass_days(client, 15)
        found = await rewards(client, keys, campaign_id)
        # Approved, and store credit is issued at once.
        assert found["o-1"]["status"] == "issued" and found["o-1"]["is_order_held"] is False
        assert found["o-2"]["status"] == "voided"
        assert "Fake friend: same household" in found["o-2"]["reason"]
        assert await ok(await client.get("/api/reviews", headers=keys["marketing"])) == []

    async def test_held_partner_order_waits_for_the_queue(self, client: Client, keys: Keys) -> None:
        partner_id, code = await partner_code(client, keys)
        kept = await order(client, keys, "p-1", code, "buyer1@mailinator.com")
        reversed_ = await order(client, keys, "p-2", code, "buyer2@mailinator.com")
        for external_id in ("p-1", "p-2"):
            await close(client, keys, external_id)

        await pass_days(client, 31)
        found = await commissions(client, keys, partner_id)
        assert [(found[o]["status"], found[o]["is_order_held"]) for o in ("p-1", "p-2")] == [
            ("pending", True),
            ("pending", True),
        ]
        assert found["p-1"]["amount"] == 1990

        await decide(client, keys, kept, "approve", "Known client")
        await decide(client, keys, reversed_, "reject", "Not a real client")
        await pass_days(client, 31)
        found = await commissions(client, keys, partner_id)
        assert found["p-1"]["status"] == "approved" and found["p-1"]["reversed_amount"] == 0
        assert found["p-2"]["status"] != "approved"
        assert found["p-2"]["reversed_amount"] == found["p-2"]["amount"] == 1990
        assert "Not a real client" in found["p-2"]["reason"]

"""The audit trail of one order, from a partner's sign-up to the payout that pays its commission.

Every step a person takes goes through the API with that person's key, on a clock moved through
October and into November (``time_machine``: the service reads the real clock, and a payout run
needs its month to be over). The audit log must then tell the whole story, in order, each entry
with who, what, before and after, when and the request it came from, its hash chain intact, and no
route of the application able to change or remove an entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.settings import Settings
from tests.conftest import in_app_loop
from tests.factories import bearer, create_key

OCT = {day: datetime(2026, 10, day, 9, tzinfo=UTC) for day in (1, 5, 6, 8, 21)}
NOV_2 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(OCT[1], tick=True) as traveller:
        yield traveller


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The payout account is set on October 1 and paid on November 2: the default 7-day cooling-off
    # has passed; the trailing-average hold needs 3 earlier payouts, and this partner has none.
    return settings.with_overrides(payout_minimums="CNY:100")


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def settled(client: AsyncTestClient[Litestar]) -> None:
    """Let the app's outbox worker handle every event published so far."""
    await in_app_loop(client, client.app.state.outbox.drain)


async def test_an_order_to_payout_journey_leaves_its_trail(
    clock: time_machine.Coordinates, session: AsyncSession, client: AsyncTestClient[Litestar]
) -> None:
    admin = bearer(await create_key(session, role=Role.admin, name="Root"))
    finance = bearer(await create_key(session, role=Role.finance, name="Fei (finance)"))
    marketing = bearer(await create_key(session, role=Role.marketing, name="Mara (marketing)"))
    shop = bearer(await create_key(session, role=Role.shop, name="Shop"))
    await session.commit()

    # October 1: finance signs the partner up, with a plan, a payout account and verifications.
    partner = await ok(
        await client.post(
            "/api/partners",
            json={"name": "Northwind Consulting", "email": "ops@northwind.example", "country": "DE"},
            headers=finance,
        ),
        201,
    )
    pid = partner["id"]
    campaign = await ok(
        await client.post(
            "/api/campaigns",
            json={
                "name": "Consultants",
                "landing_url": "https://shop.example/b2b",
                "kind": "partner",
                "status": "active",
                "currency": "CNY",
                "new_customers_only": False,
            },
            headers=marketing,
        ),
        201,
    )
    plan = await ok(
        await client.post(
            "/api/commission-plans",
            json={
                "name": "Ten percent",
                "kind": "percent",
                "currency": "CNY",
                "rate_bps": 1000,
                "hold_days": 14,
            },
            headers=finance,
        ),
        201,
    )
    await ok(
        await client.post(f"/api/partners/{pid}/plan", json={"plan_id": plan["id"]}, headers=finance), 201
    )
    await ok(
        await client.put(
            f"/api/partners/{pid}/payout-account",
            json={
                "provider": "bank",
                "bank_holder_name": "Northwind Consulting GmbH",
                "bank_name": "ICBC",
                "bank_account_number": "6222 0212 3456 7890",
                "tax_form_type": "W-8BEN-E",
                "tax_form_on": "2026-09-30",
            },
            headers=finance,
        )
    )
    await ok(
        await client.post(
            f"/api/partners/{pid}/identity-verification", json={"is_verified": True}, headers=finance
        )
    )
    await ok(
        await client.post(
            f"/api/partners/{pid}/payout-account/verification", json={"is_verified": True}, headers=finance
        )
    )
    code = await ok(
        await client.post(
            f"/api/partners/{pid}/referral-codes", json={"campaign_id": campaign["id"]}, headers=finance
        ),
        201,
    )

    # October 5: a client orders with the partner's code from a disposable mailbox: held for review.
    clock.move_to(OCT[5])
    order = {
        "external_id": "INV-1001",
        "customer": {"external_id": "client-1", "email": "buyer@mailinator.com"},
        "amount": 250_000,
        "currency": "CNY",
        "placed_at": OCT[5].isoformat(),
        "referral_code": code["code"],
    }
    placed = await ok(await client.post("/api/orders", json=order, headers=shop), 201)
    order_id = placed["id"]
    await settled(client)
    review = await ok(await client.get(f"/api/reviews/{order_id}", headers=marketing))
    assert review["status"] == "held" and [r["code"] for r in review["reasons"]] == ["disposable_email"]

    # October 6: paid and closed. The commission is earned but held by the review.
    clock.move_to(OCT[6])
    for kind in ("paid", "closed"):
        await ok(await client.post("/api/orders/INV-1001/events", json={"type": kind}, headers=shop), 201)
    await settled(client)
    [commission] = await ok(await client.get("/api/commissions", params={"partner_id": pid}, headers=finance))
    assert (commission["amount"], commission["status"], commission["is_order_held"]) == (
        25_000,
        "pending",
        True,
    )

    # October 8: marketing looks at it and approves it, with a note.
    clock.move_to(OCT[8])
    decided = await ok(
        await client.post(
            f"/api/reviews/{order_id}/decision",
            json={"decision": "approve", "note": "Known client; the buyer's IT uses throwaway addresses."},
            headers=marketing,
        )
    )
    assert decided["status"] == "approved"
    await settled(client)

    # October 21: the 14-day hold is over; the approval job makes the commission payable.
    clock.move_to(OCT[21])
    assert (await ok(await client.post("/api/commissions/approve-due", headers=finance), 201))["moved"] == 1

    # November 2: finance issues October's statements and pays them out by bank transfer.
    clock.move_to(NOV_2)
    issued = await ok(await client.post("/api/statements", json={"period": "2026-10"}, headers=finance))
    assert issued["issued"] == 1
    run = await ok(
        await client.post("/api/payout-runs", json={"period": "2026-10", "currency": "CNY"}, headers=finance),
        201,
    )
    await ok(await client.post(f"/api/payout-runs/{run['id']}/execute", headers=finance), 202)
    detail = await ok(await client.get(f"/api/payout-runs/{run['id']}", headers=finance))
    assert [(p["partner_id"], p["amount"]) for p in detail["payouts"]] == [(pid, 25_000)] and detail[
        "skips"
    ] == []
    payout_id = detail["payouts"][0]["id"]
    await ok(await client.post(f"/api/payouts/{payout_id}/confirm", headers=finance))

    # The trail: every change of money or access, in order, with who did it and from which request.
    entries = await ok(await client.get("/api/audit", params={"limit": 200}, headers=finance))
    trail = [
        (e["action"], e["subject_id"], e["actor_name"])
        for e in sorted(entries, key=lambda e: e["sequence"])
        if not e["action"].startswith("api_key.")  # the test's own keys
    ]
    fei, mara = "Fei (finance) (finance)", "Mara (marketing) (marketing)"
    assert trail == [
        ("partner.created", pid, fei),
        ("commission_plan.assigned", pid, fei),
        ("payout_account.set", pid, fei),
        ("partner.identity_verified", pid, fei),
        ("payout_account.verified", pid, fei),
        ("order_review.approved", order_id, mara),
        ("statements.issued", "2026-10", fei),
        ("payout_run.created", run["id"], fei),
        ("payout_run.execution_requested", run["id"], fei),
        ("payout.confirmed_paid", payout_id, fei),
    ]
    by_action = {e["action"]: e for e in entries}
    for entry in by_action.values():
        assert entry["request_id"] and entry["actor_kind"] == "api_key" and entry["entry_hash"]
    approved = by_action["order_review.approved"]
    assert approved["before"]["status"] == "held" and approved["after"]["status"] == "approved"
    assert datetime.fromisoformat(approved["occurred_at"]).date() == OCT[8].date()
    assert by_action["payout_run.created"]["after"]["payouts"] == [{"partner_id": pid, "amount": 25_000}]
    account = by_action["payout_account.set"]["after"]
    assert "6222 0212 3456 7890" not in str(account) and "6222021234567890" not in str(account)
    verified = by_action["payout_account.verified"]
    assert verified["before"]["is_verified"] is False and verified["after"]["is_verified"] is True

    # The chain holds, and no route of the application can change or remove an entry.
    assert (await ok(await client.get("/api/audit/verify", headers=finance)))["is_valid"] is True
    one = entries[0]["id"]
    for method in ("put", "patch", "delete"):
        response = await getattr(client, method)(f"/api/audit/{one}", headers=admin)
        assert response.status_code == 405, (method, response.status_code)
    assert await ok(await client.get(f"/api/audit/{one}", headers=finance)) == next(
        e for e in entries if e["id"] == one
    )

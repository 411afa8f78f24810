from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from payouts.provider.rules import ProviderName
from tests.factories import bearer, create_key
from tests.payouts.payout_run.helpers import partner_with


async def test_a_run_through_the_api(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    bank = await partner_with(session, provider=ProviderName.bank, payable=12_050)
    no_account = await partner_with(session, provider=None)
    finance = bearer(await create_key(session, role=Role.finance))
    own = bearer(await create_key(session, role=Role.partner, subject_id=bank))
    other = bearer(await create_key(session, role=Role.partner, subject_id=no_account))
    await session.commit()

    r = await client.post("/api/payout-runs", json={"period": "2026-10", "currency": "CNY"}, headers=finance)
    assert r.status_code == 201, r.text
    run = r.json()
    again = await client.post(
        "/api/payout-runs", json={"period": "2026-10", "currency": "CNY"}, headers=finance
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "payout_run_exists"
    assert (
        await client.post("/api/payout-runs", json={"period": "2026-12", "currency": "CNY"}, headers=own)
    ).status_code == 403

    r = await client.post(f"/api/payout-runs/{run['id']}/execute", headers=finance)
    assert r.status_code == 202, r.text

    d = (await client.get(f"/api/payout-runs/{run['id']}", headers=finance)).json()
    assert [(p["partner_id"], p["amount"], p["status"]) for p in d["payouts"]] == [
        (str(bank), 12_050, "sent")
    ]
    assert d["skips"] == [{"partner_id": str(no_account), "amount": 20_000, "reason": "no_payout_account"}]

    csv = await client.get(f"/api/payout-runs/{run['id']}/bank-file.csv", headers=finance)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "6222021234567890,120.50,CNY" in csv.text

    payout_id = d["payouts"][0]["id"]
    r = await client.post(f"/api/payouts/{payout_id}/confirm", headers=finance)
    assert r.status_code == 200 and r.json()["status"] == "paid"

    mine = (await client.get("/api/partner/payouts", headers=own)).json()
    assert [p["id"] for p in mine] == [payout_id]
    assert (await client.get("/api/partner/payouts", headers=other)).json() == []
    runs = (await client.get("/api/payout-runs", headers=finance)).json()
    assert [(x["id"], x["status"]) for x in runs] == [(run["id"], "completed")]

    # Finance's money actions are in the audit log, with who did them and from which request.
    trail = [
        entry
        for prefix in ("payout_run.*", "payout.*")
        for entry in (await client.get("/api/audit", params={"action": prefix}, headers=finance)).json()
    ]
    actions = sorted((e["action"], e["subject_id"]) for e in trail)
    assert actions == [
        ("payout.confirmed_paid", payout_id),
        ("payout_run.created", run["id"]),
        ("payout_run.execution_requested", run["id"]),
    ]
    created = next(e for e in trail if e["action"] == "payout_run.created")
    assert created["actor_kind"] == "api_key" and created["after"]["payouts"] == [
        {"partner_id": str(bank), "amount": 12_050}
    ]
    assert created["request_id"]


async def test_execute_without_a_stripe_key_is_503(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    await partner_with(session)
    finance = bearer(await create_key(session, role=Role.finance))
    await session.commit()
    run = (
        await client.post("/api/payout-runs", json={"period": "2026-10", "currency": "CNY"}, headers=finance)
    ).json()
    r = await client.post(f"/api/payout-runs/{run['id']}/execute", headers=finance)
    assert r.status_code == 503 and r.json()["error"]["code"] == "stripe_not_configured"

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from tests.factories import bearer, create_key, create_partner


async def test_payout_account_is_set_by_finance_and_read_masked(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    partner = await create_partner(session)
    finance = bearer(await create_key(session, role=Role.finance))
    partner_key = bearer(await create_key(session, role=Role.partner, subject_id=partner.id))
    await session.commit()
    url = f"/api/partners/{partner.id}/payout-account"

    assert (await client.get(url, headers=finance)).status_code == 404
    body = {
        "provider": "bank",
        "bank_holder_name": "Li Wei",
        "bank_name": "ICBC",
        "bank_account_number": "6222 0212 3456 7890",
        "tax_form_type": "W-8BEN",
        "tax_form_on": "2026-10-01",
    }
    r = await client.put(url, json=body, headers=finance)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["bank_account_number_masked"] == "••••7890"
    assert "6222" not in r.text
    got = await client.get(url, headers=finance)
    assert got.json() == first and "6222" not in got.text

    # A name fix keeps the cooling-off clock; a new destination restarts it.
    r = await client.put(url, json=body | {"bank_name": "ICBC Beijing"}, headers=finance)
    assert r.json()["changed_at"] == first["changed_at"]
    r = await client.put(
        url, json={"provider": "stripe", "stripe_account_id": "acct_1PgafTB7WZ01zgkW"}, headers=finance
    )
    assert r.status_code == 200 and r.json()["changed_at"] > first["changed_at"]
    assert r.json()["bank_account_number_masked"] is None and r.json()["tax_form_type"] is None

    bad = await client.put(url, json={"provider": "stripe"}, headers=finance)
    assert bad.status_code == 422 and "stripe_account_id" in bad.json()["error"]["message"]
    assert (await client.get(url, headers=partner_key)).status_code == 403

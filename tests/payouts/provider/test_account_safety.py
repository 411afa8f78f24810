"""Payout account safety: finance verifies a destination, a new destination clears that and e-mails the
partner (through the outbox, to a real SMTP server on 127.0.0.1), with the last four characters only."""

from __future__ import annotations

import asyncio
from email.header import decode_header, make_header
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.settings import Settings
from payouts.partner import service as partner_service
from tests.factories import bearer, create_key, create_partner
from tests.payouts.portal.conftest import Inbox
from tests.payouts.portal.conftest import inbox as inbox  # the fixture
from tests.payouts.portal.conftest import mails as mails  # the fixture

BANK = {
    "provider": "bank",
    "bank_holder_name": "Li Wei",
    "bank_name": "ICBC",
    "bank_account_number": "6222 0212 3456 7890",
    "tax_form_type": "W-8BEN",
    "tax_form_on": "2026-01-05",
}


@pytest.fixture
def settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}", mail_from="partners@growth.test", timezone="Asia/Shanghai"
    )


def body_of(message: object) -> str:
    return message.get_payload(decode=True).decode()  # type: ignore[attr-defined]


async def wait_for(mails: Inbox, address: str, count: int) -> list[str]:
    found = await asyncio.to_thread(mails.wait_for, address, count)
    return [body_of(m) for m in found]


async def test_a_changed_destination_is_unverified_and_the_partner_is_told(
    client: AsyncTestClient[Litestar], session: AsyncSession, mails: Inbox
) -> None:
    partner = await create_partner(session, email="lin@partner.example")
    finance = bearer(await create_key(session, role=Role.finance))
    await session.commit()
    url = f"/api/partners/{partner.id}/payout-account"

    r = await client.put(url, json=BANK, headers=finance)
    assert r.status_code == 200 and r.json()["is_verified"] is False
    first = (await wait_for(mails, "lin@partner.example", 1))[0]
    assert "ending in 7890" in first and "6222021234567890" not in first and "6222 0212" not in first

    r = await client.post(f"{url}/verification", json={"is_verified": True}, headers=finance)
    assert r.status_code == 200, r.text
    assert r.json()["is_verified"] is True and r.json()["verified_by"].startswith("test (finance)")

    # The same destination with a tax form fix: still verified, no e-mail.
    r = await client.put(url, json=BANK | {"tax_form_type": "W-9"}, headers=finance)
    assert r.json()["is_verified"] is True

    # A new destination: the verification is gone and the partner hears about it, with the date the
    # cooling-off ends (7 days after the change, in the program's time zone).
    r = await client.put(url, json=BANK | {"bank_account_number": "6222 9999 8888 4321"}, headers=finance)
    assert r.status_code == 200 and r.json()["is_verified"] is False and r.json()["verified_at"] is None
    bodies = await wait_for(mails, "lin@partner.example", 2)
    assert len(mails.to("lin@partner.example")) == 2
    assert "ending in 4321" in bodies[1] and "99998888" not in bodies[1]
    assert "no payout is sent to a new account before" in bodies[1]
    detail = (await client.get(f"/api/partners/{partner.id}", headers=finance)).json()
    assert "payout_account_not_verified" in detail["compliance"]["failing_gates"]

    trail = (await client.get("/api/audit", params={"action": "payout_account.*"}, headers=finance)).json()
    assert sorted(e["action"] for e in trail) == [
        "payout_account.set",
        "payout_account.set",
        "payout_account.set",
        "payout_account.verified",
    ]
    assert all("6222021234567890" not in str(e) for e in trail)


async def test_a_partner_in_china_is_told_in_simplified_chinese(
    client: AsyncTestClient[Litestar], session: AsyncSession, mails: Inbox
) -> None:
    partner = await partner_service.create_partner(
        session, name="上海咨询", email="wang@partner.example", country="CN"
    )
    finance = bearer(await create_key(session, role=Role.finance))
    await session.commit()
    r = await client.put(
        f"/api/partners/{partner.id}/payout-account",
        json={"provider": "stripe", "stripe_account_id": "acct_1QxYz9AbCdEf1234"},
        headers=finance,
    )
    assert r.status_code == 200, r.text
    (message,) = await asyncio.to_thread(mails.wait_for, "wang@partner.example")
    text = body_of(message)
    assert "您好" in text and "1234" in text and "acct_1QxYz9" not in text
    assert "尾号为 1234 的 Stripe 账户" in text and "之前不会向新账户付款" in text
    assert str(make_header(decode_header(message["Subject"]))) == "您的收款账户已更改"


async def test_a_mail_server_that_is_down_loses_no_change(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    """The e-mail goes through the outbox: with the server down the account is saved and the mail waits."""
    from growth.app import create_app

    partner = await create_partner(session, email="down@partner.example")
    finance = bearer(await create_key(session, role=Role.finance))
    await session.commit()
    down = create_app(settings.with_overrides(smtp_url="smtp://127.0.0.1:9"))
    async with AsyncTestClient(down, base_url="https://growth.test") as other:
        r = await other.put(f"/api/partners/{partner.id}/payout-account", json=BANK, headers=finance)
        assert r.status_code == 200, r.text
    got = await client.get(f"/api/partners/{partner.id}/payout-account", headers=finance)
    assert got.status_code == 200 and got.json()["bank_account_number_masked"].endswith("7890")


async def test_verification_bad_inputs(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    partner = await create_partner(session)
    finance = bearer(await create_key(session, role=Role.finance))
    marketing = bearer(await create_key(session, role=Role.marketing))
    await session.commit()
    url = f"/api/partners/{partner.id}/payout-account/verification"
    assert (await client.post(url, json={"is_verified": True}, headers=marketing)).status_code == 403
    no_account = await client.post(url, json={"is_verified": True}, headers=finance)
    assert no_account.status_code == 404 and no_account.json()["error"]["code"] == "payout_account_not_found"
    unknown = await client.post(
        f"/api/partners/{uuid4()}/payout-account/verification", json={"is_verified": True}, headers=finance
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "partner_not_found"
    bad = await client.post(url, json={"is_verified": "yes"}, headers=finance)
    assert bad.status_code == 400

"""The partner's status page (portal orders): each commission with its stage, the day its payout is
expected (the first payout run after approval: the 1st of the next month) and the reason when held or
reversed; in English and Simplified Chinese."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from campaigns.campaign import service as campaign_service
from growth.attribution.service import Hints
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.ports import no_leads
from growth.order import service as order_service
from growth.settings import Settings
from tests.factories import bearer, create_key
from tests.pages import HTML
from tests.payouts.portal.conftest import Inbox, sign_in_partner
from tests.payouts.portal.test_pages import email_of, paid_october
from tests.payouts.statement.conftest import Program, at
from tests.payouts.statement.conftest import program as program  # the fixture


async def held_order(program: Program, session_maker: SessionMaker, code: str, external_id: str) -> None:
    """An order through the partner's code from a disposable e-mail domain: the firewall holds it."""
    intake = order_service.OrderIntake(
        external_id=external_id,
        customer_external_id=f"held-{external_id}",
        amount=30000,
        currency="CNY",
        placed_at=at("2025-11-06T10:00+08:00"),
        source="api",
        customer_email=f"{external_id}@mailinator.com",
        hints=Hints(referral_code=code),
    )
    async with session_maker() as s, s.begin():
        await order_service.ingest_order(
            s, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=intake.placed_at
        )
    await program._drain()


def row(html: str, external_id: str) -> str:
    found = re.search(rf'data-order="{external_id}">(.*?)</tr>', html, re.S)
    assert found, external_id
    return found.group(1)


def stage(html: str, external_id: str) -> tuple[str, str | None]:
    cells = row(html, external_id)
    found = re.search(r'data-stage="([a-z_]+)"', cells)
    expected = re.search(r'data-expected-payout="([0-9-]+)"', cells)
    assert found, cells
    return found.group(1), expected.group(1) if expected else None


async def test_each_commission_with_stage_expected_payout_and_reason(
    client: AsyncTestClient[Litestar],
    program: Program,
    session_maker: SessionMaker,
    mails: Inbox,
    settings: Settings,
) -> None:
    p = await paid_october(program, session_maker, settings)  # o-1 approved and paid, o-2 open
    await program.order(p, "o-3", 30000, at("2025-11-05T10:00+08:00"))
    await program.event("o-3", "paid", at("2025-11-06T10:00+08:00"))
    await program.event("o-3", "closed", at("2025-11-07T10:00+08:00"))
    await program.order(p, "o-4", 40000, at("2025-11-05T11:00+08:00"))
    await program.event("o-4", "paid", at("2025-11-06T11:00+08:00"))
    await program.event("o-4", "closed", at("2025-11-07T11:00+08:00"))
    await program.order(p, "o-5", 20000, at("2025-11-05T12:00+08:00"))
    await program.event("o-5", "paid", at("2025-11-06T12:00+08:00"))
    await program.event("o-5", "refunded", at("2025-11-08T12:00+08:00"), amount=20000)
    await held_order(program, session_maker, p.code, "h-1")
    await sign_in_partner(client, mails, await email_of(session_maker, p.id))

    html = (await client.get("/partner/orders", headers=HTML)).text
    assert stage(html, "o-1") == ("paid", None)  # paid by the 2025-10 run
    assert stage(html, "o-2") == ("pending", None)  # not closed: no date can be given yet
    # Closed, in the hold: paid by the run after approval, the 1st of the month after it.
    assert stage(html, "o-3") == ("pending", "2025-12-01")
    assert stage(html, "o-5") == ("reversed", None)
    # Held by the risk review: no date until a person decides, and the reason is shown.
    assert stage(html, "h-1") == ("in_review", None)
    assert "In review" in row(html, "h-1") and "Reason: we are checking this order" in row(html, "h-1")
    assert "disposable" not in html and "risk check" not in html  # the review's rules stay with staff
    assert "Reason: the order was refunded" in row(html, "o-5")

    assert await program.approve(at("2025-11-30T10:00+08:00")) == 2  # o-3 and o-4, in November
    html = (await client.get("/partner/orders", headers=HTML)).text
    assert stage(html, "o-3") == ("payable", "2025-12-01") and stage(html, "o-4") == ("payable", "2025-12-01")
    # The test's clock is in 2025 but the page's is today's: that run is late, and the page says so.
    assert "Payable" in row(html, "o-3") and 'data-overdue="true"' in row(html, "o-3")
    assert "payout due since Dec 1, 2025: it is paid by the next payout run" in row(html, "o-3")

    zh = (await client.get("/partner/orders", headers=HTML | {"accept-language": "zh-CN"})).text
    assert "可付款" in row(zh, "o-3") and "自 2025年12月1日 起应付" in row(zh, "o-3")
    assert "我们正在核实这笔订单" in row(zh, "h-1") and "订单已退款" in row(zh, "o-5")


async def test_the_partner_api_names_a_review_but_not_its_rules(
    client: AsyncTestClient[Litestar], program: Program, session_maker: SessionMaker, settings: Settings
) -> None:
    p = await paid_october(program, session_maker, settings)
    await held_order(program, session_maker, p.code, "h-2")
    async with session_maker() as s, s.begin():
        key = await create_key(s, role=Role.partner, subject_id=p.id)
    response = await client.get("/api/partner/commissions", headers=bearer(key))
    assert response.status_code == 200
    held = [c for c in response.json() if c["order_external_id"] == "h-2"]
    assert [(c["is_order_held"], c["reason"]) for c in held] == [(True, "held for review")]
    assert "disposable" not in response.text and "risk check" not in response.text
    # Finance still reads the whole reason.
    async with session_maker() as s, s.begin():
        finance = await create_key(s, role=Role.finance)
    staff = await client.get(f"/api/commissions?partner_id={p.id}", headers=bearer(finance))
    assert "held for review by the risk check: disposable_email" in staff.text, staff.text[:300]

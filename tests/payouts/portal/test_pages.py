"""What a signed-in partner reads: earnings by state with expected dates, orders with their commission,
statements (page and CSV), payouts, links and QR codes, leads. Data comes through the real services."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from litestar import Litestar
from litestar.testing import AsyncTestClient

from growth.core.db import SessionMaker
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
from payouts.provider import service as provider_service
from payouts.provider.rules import Destination, ProviderName
from tests.factories import verify_for_payouts
from tests.pages import HTML, post_form
from tests.payouts.portal.conftest import Inbox, sign_in_partner
from tests.payouts.statement.conftest import Partner, Program, at, october
from tests.payouts.statement.conftest import program as program  # the fixture


async def email_of(session_maker: SessionMaker, partner_id: object) -> str:
    async with session_maker() as s:
        return (await partner_service.get_partner(s, partner_id)).email  # type: ignore[arg-type]


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(table|p|section|div)>', html, re.S)
    assert match, f"no #{element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


async def paid_october(program: Program, session_maker: SessionMaker, settings: Settings) -> Partner:
    """October's orders (one approved 100.00, one pending and partly refunded), paid by bank in November."""
    p = await october(program)
    async with session_maker() as s, s.begin():
        await provider_service.set_account(
            s,
            p.id,
            destination=Destination(ProviderName.bank, None, "Li Wei", "ICBC", "6222 0212 3456 7890"),
            tax_form_type="W-8BEN",
            tax_form_on=datetime(2025, 1, 1, tzinfo=UTC).date(),
            now=datetime(2025, 1, 1, tzinfo=UTC),
        )
        await verify_for_payouts(s, p.id, now=datetime(2025, 1, 1, tzinfo=UTC))
    async with session_maker() as s, s.begin():
        run = await payout_run_service.create_run(
            s, period="2025-10", currency="CNY", now=at("2025-11-02T10:00+08:00"), minimums={"CNY": 5000}
        )
    await payout_run_service.execute_run(
        session_maker,
        run.id,
        providers=provider_service.providers(settings),
        now=at("2025-11-02T10:05+08:00"),
    )
    return p


async def test_a_partner_reads_its_money(
    client: AsyncTestClient[Litestar],
    program: Program,
    session_maker: SessionMaker,
    mails: Inbox,
    settings: Settings,
) -> None:
    p = await paid_october(program, session_maker, settings)
    await program.order(p, "o-3", 30000, at("2025-11-05T10:00+08:00"))  # pending, order not closed
    await sign_in_partner(client, mails, await email_of(session_maker, p.id))

    home = await client.get("/partner", headers=HTML)
    assert home.status_code == 200
    earnings = text_of(home.text, "earnings-CNY")
    # o-2 pending: 50.00 less 40% refunded = 30.00; o-3 pending: 30.00 -> 60.00, both waiting for a close.
    assert "Pending CN¥60.00" in earnings and "2 orders must be paid in full and closed first" in earnings
    assert "Approved CN¥0.00" in earnings
    assert "Being paid CN¥0.00" in earnings
    assert "Paid CN¥100.00" in earnings and "Last payout" in earnings
    # The partner's link and QR code, and the QR is served.
    assert f'data-code="{p.code}"' in home.text
    qr = re.search(r'<img src="([^"]+qr\.png)"', home.text)
    assert qr
    png = await client.get(qr.group(1).replace("https://growth.test", ""))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"

    orders = await client.get("/partner/orders", headers=HTML)
    at_row = [orders.text.find(f'data-order="{external_id}"') for external_id in ("o-3", "o-2", "o-1")]
    assert -1 < at_row[0] < at_row[1] < at_row[2]  # all there, newest first
    o1 = re.search(r'data-order="o-1">(.*?)</tr>', orders.text, re.S)
    assert (
        o1
        and "Closed" in o1.group(1)
        and "¥100.00" in o1.group(1)
        and 'data-commission-state="approved"' in o1.group(1)
    )
    o2 = re.search(r'data-order="o-2">(.*?)</tr>', orders.text, re.S)
    assert o2 and "Paid" in o2.group(1) and "CN¥200.00 refunded" in o2.group(1) and "¥30.00" in o2.group(1)

    statements = await client.get("/partner/statements", headers=HTML)
    ids = re.findall(r'data-statement="([0-9a-f-]{36})"', statements.text)
    assert len(ids) == 1 and "2025-10" in text_of(statements.text, "statements")
    page = await client.get(f"/partner/statements/{ids[0]}.html", headers=HTML)
    assert page.status_code == 200 and "Commission statement" in page.text
    csv = await client.get(f"/partner/statements/{ids[0]}.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv") and "o-1" in csv.text

    payouts = await client.get("/partner/payouts", headers=HTML)
    table = text_of(payouts.text, "payouts")
    assert "¥100.00" in table and "Bank transfer" in table and "Sent" in table
    assert f"/partner/statements/{ids[0]}.html" in payouts.text  # the statement the payout settles


async def test_expected_dates_for_pending_and_approved_money(
    client: AsyncTestClient[Litestar], program: Program, session_maker: SessionMaker, mails: Inbox
) -> None:
    p = await program.partner()
    await program.order(p, "n-1", 200000, at("2026-11-01T10:00+08:00"))
    await program.event("n-1", "paid", at("2026-11-02T10:00+08:00"))
    await program.event("n-1", "closed", at("2026-11-03T10:00+08:00"))
    assert await program.approve(at("2026-11-04T10:00+08:00")) == 1
    await program.order(p, "n-2", 100000, at("2026-11-05T10:00+08:00"))
    await sign_in_partner(client, mails, await email_of(session_maker, p.id))
    earnings = text_of((await client.get("/partner", headers=HTML)).text, "earnings-CNY")
    assert "Approved CN¥200.00" in earnings
    # The next run is the 1st of next month on the real clock (settings: UTC, minimum CNY 100.00).
    today = datetime.now(UTC).date()
    first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    assert f"Paid in the payout run from {first:%b} {first.day}, {first.year}" in earnings
    assert "Pending CN¥100.00" in earnings and "1 order must be paid in full and closed first" in earnings


async def test_leads_are_registered_from_the_portal_and_refusals_are_explained(
    client: AsyncTestClient[Litestar], program: Program, session_maker: SessionMaker, mails: Inbox
) -> None:
    p = await program.partner("Northwind")
    rival = await program.partner("Contoso")
    await sign_in_partner(client, mails, await email_of(session_maker, rival.id))
    r = await post_form(client, "/partner/leads", "/partner/leads", {"email": "cto@acme.example"})
    assert r.status_code == 303
    client.cookies.clear()

    await sign_in_partner(client, mails, await email_of(session_maker, p.id))
    r = await post_form(
        client, "/partner/leads", "/partner/leads", {"company": "Globex Ltd", "contact_name": "Hank"}
    )
    assert r.status_code == 303 and "registered=L-" in r.headers["location"]
    page = await client.get(r.headers["location"], headers=HTML)
    assert 'id="lead-registered"' in page.text and "Globex Ltd" in text_of(page.text, "leads")

    taken = await post_form(client, "/partner/leads", "/partner/leads", {"email": "CTO@acme.example"})
    assert taken.status_code == 409
    assert "Another partner registered this prospect first" in text_of(taken.text, "lead-error")
    assert 'value="CTO@acme.example"' in taken.text  # what was typed is kept

    empty = await post_form(client, "/partner/leads", "/partner/leads", {"email": "", "company": ""})
    assert empty.status_code == 422 and 'id="lead-error"' in empty.text
    assert "cto@acme.example" not in text_of(page.text, "leads")  # the rival's lead is not shown


async def test_pages_in_simplified_chinese(
    client: AsyncTestClient[Litestar], program: Program, session_maker: SessionMaker, mails: Inbox
) -> None:
    p = await program.partner()
    await sign_in_partner(client, mails, await email_of(session_maker, p.id))
    for path in ("/partner", "/partner/orders", "/partner/statements", "/partner/payouts", "/partner/leads"):
        r = await client.get(path, headers=HTML | {"accept-language": "zh-CN"})
        assert r.status_code == 200 and 'lang="zh-Hans"' in r.text
        assert "合作伙伴" in r.text

"""Signing in to the partner portal with an e-mailed, single-use, expiring link, sent through a real
SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.partner.rules import PartnerStatus
from payouts.portal.models import PartnerSignInLink
from tests.conftest import BASE_URL, _free_port
from tests.factories import create_partner
from tests.pages import HTML, csrf_token, post_form
from tests.payouts.portal.conftest import Inbox, ask_for_link, link_in, sign_in_partner


async def test_a_partner_signs_in_with_the_emailed_link_once(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    mails: Inbox,
) -> None:
    partner = await create_partner(session, name="Northwind Consulting", email="Ada.Li@Northwind.example")
    await session.commit()

    r = await client.get("/partner", headers=HTML, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/partner/sign-in")

    r = await ask_for_link(client, "ada.li@northwind.example")  # any case: one mailbox
    assert (r.status_code, r.headers["location"]) == (303, "/partner/sign-in?sent=true&lang=en")
    page = await client.get(r.headers["location"], headers=HTML)
    assert 'id="link-sent"' in page.text

    [message] = mails.wait_for("Ada.Li@Northwind.example")
    assert message["From"] == "partners@growth.test"
    assert message["Subject"] == "Your partner portal sign-in link"
    link = link_in(message)
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Hello Northwind Consulting," in body and "20 minutes" in body

    # Opening the link (as a mail scanner would) does not use it: a button press does.
    client.cookies.clear()  # the mail client is another browser
    opened = await client.get(link, headers=HTML)
    assert opened.status_code == 200 and 'id="use-link"' in opened.text
    again = await client.get(link, headers=HTML)
    assert again.status_code == 200
    used = await client.post(
        link, data={"_csrf_token": csrf_token(opened.text)}, headers=HTML, follow_redirects=False
    )
    assert (used.status_code, used.headers["location"]) == (303, "/partner")
    cookie = used.headers["set-cookie"]
    assert "growth_partner=" in cookie and "HttpOnly" in cookie and "Path=/partner" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    home = await client.get("/partner", headers=HTML)
    assert home.status_code == 200 and partner.name in home.text
    assert home.headers["cache-control"] == "no-store"

    # Single use: the same link again, in this browser or another, is refused.
    r = await client.get(link, headers=HTML)
    assert r.status_code == 410 and 'id="link-problem"' in r.text
    client.cookies.clear()
    r = await post_form(client, "/partner/sign-in", link, {})
    assert r.status_code == 410
    assert (await client.get("/partner", headers=HTML, follow_redirects=False)).status_code == 303


async def test_unknown_applicant_and_closed_addresses_get_the_same_answer_and_no_mail(
    client: AsyncTestClient[Litestar], session: AsyncSession, mails: Inbox
) -> None:
    await create_partner(session, email="applied@example.com", status=PartnerStatus.applied)
    closed = await create_partner(session, email="closed@example.com")
    closed.status = PartnerStatus.closed.value
    await session.commit()
    answers = set()
    for address in ("nobody@example.com", "applied@example.com", "closed@example.com", "not an address"):
        r = await ask_for_link(client, address)
        answers.add((r.status_code, r.headers.get("location")))
    assert answers == {(303, "/partner/sign-in?sent=true&lang=en")}
    r = await ask_for_link(client, "   ")
    assert r.status_code == 422 and 'id="email-problem"' in r.text
    assert mails.messages == []


async def test_an_expired_link_is_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker, mails: Inbox
) -> None:
    await create_partner(session, email="late@example.com")
    await session.commit()
    await ask_for_link(client, "late@example.com")
    link = link_in(mails.wait_for("late@example.com")[0])
    opened = await client.get(link, headers=HTML)
    async with session_maker() as s, s.begin():
        await s.execute(update(PartnerSignInLink).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert (await client.get(link, headers=HTML)).status_code == 410
    r = await client.post(
        link, data={"_csrf_token": csrf_token(opened.text)}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 410 and "growth_partner=" not in r.headers.get("set-cookie", "")


async def test_malformed_and_forged_links_and_cookies_are_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, mails: Inbox
) -> None:
    partner = await create_partner(session, email="forge@example.com")
    await session.commit()
    for path in ("/partner/sign-in/short", "/partner/sign-in/" + "A" * 43, "/partner/sign-in/" + "%00" * 43):
        assert (await client.get(path, headers=HTML)).status_code == 410
    # A cookie naming the partner without the server's signature is not a session.
    client.cookies.set("growth_partner", f"{partner.id.hex}.1900000000.deadbeef", path="/partner")
    r = await client.get("/partner", headers=HTML, follow_redirects=False)
    assert (
        r.status_code == 303 and 'growth_partner=""' in r.headers["set-cookie"]
    ) or "Max-Age=0" in r.headers["set-cookie"]


async def test_asking_again_and_again_sends_at_most_five_links(
    client: AsyncTestClient[Litestar], session: AsyncSession, mails: Inbox
) -> None:
    await create_partner(session, email="eager@example.com")
    await session.commit()
    for _ in range(7):
        assert (await ask_for_link(client, "eager@example.com")).status_code == 303
    mails.wait_for("eager@example.com", 5)
    assert len(mails.to("eager@example.com")) == 5


async def test_closing_a_partner_signs_it_out_and_sign_out_forgets_the_session(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker, mails: Inbox
) -> None:
    partner = await create_partner(session, email="leaving@example.com")
    await session.commit()
    await sign_in_partner(client, mails, "leaving@example.com")
    assert (await client.get("/partner", headers=HTML)).status_code == 200

    r = await post_form(client, "/partner", "/partner/sign-out", {})
    assert (r.status_code, r.headers["location"]) == (303, "/partner/sign-in")
    assert (await client.get("/partner", headers=HTML, follow_redirects=False)).status_code == 303

    await sign_in_partner(client, mails, "leaving@example.com")
    async with session_maker() as s, s.begin():
        from payouts.partner import service as partner_service

        await partner_service.change_status(
            s, partner.id, status=PartnerStatus.closed, reason="contract ended", now=utc_now()
        )
    r = await client.get("/partner", headers=HTML, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/partner/sign-in")


async def test_a_mail_server_that_is_down_is_a_503_and_keeps_no_link(
    session: AsyncSession, session_maker: SessionMaker, settings: Settings
) -> None:
    from growth.app import create_app

    await create_partner(session, email="down@example.com")
    await session.commit()
    closed_port = _free_port()  # nothing listens there
    app = create_app(settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{closed_port}"))
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        r = await ask_for_link(client, "down@example.com")
        assert r.status_code == 503 and "text/html" in r.headers["content-type"]
        api = await client.post(
            "/partner/sign-in",
            data={
                "email": "down@example.com",
                "_csrf_token": csrf_token((await client.get("/partner/sign-in", headers=HTML)).text),
            },
            headers={"accept": "application/json"},
        )
        assert api.status_code == 503 and api.json()["error"]["code"] == "mail_not_sent"
    async with session_maker() as s:
        assert await s.scalar(select(func.count()).select_from(PartnerSignInLink)) == 0

"""The partner portal in Debian's Chromium: ask for a link, follow the e-mail, read the money, open and
download a statement, register a lead; and the same pages in Simplified Chinese."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from growth.core.db import make_db_config, make_engine
from growth.settings import Settings
from tests.conftest import SECRET, serve
from tests.payouts.portal.conftest import Inbox, link_in
from tests.payouts.portal.test_pages import email_of, paid_october
from tests.payouts.statement.conftest import Program
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _require_browser, wait_for_js


@pytest.fixture(autouse=True)
def _browser_available() -> None:
    _require_browser()


@pytest.fixture
def portal(database_url: str, inbox: tuple[Inbox, int]) -> Iterator[tuple[str, Settings]]:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        log_level="WARNING",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        mail_from="partners@growth.test",
        payout_minimums="CNY:10000",
        reward_job_interval_seconds=3600,
        partner_tier_hold_days="",  # as in tests/conftest.py: no tier hold or cap
        partner_tier_caps="",
    )
    with serve(settings) as base:
        yield base, settings


async def _seed(settings: Settings) -> str:
    """A partner with October's orders paid out (see test_pages), and a November order pending."""
    from growth.app import build_subscriptions

    engine = make_engine(settings.database_url)
    try:
        session_maker = make_db_config(engine).create_session_maker()
        program = Program(session_maker, build_subscriptions(settings=settings))
        partner = await paid_october(program, session_maker, settings)
        return await email_of(session_maker, partner.id)
    finally:
        await engine.dispose()


def test_a_partner_signs_in_by_email_and_reads_its_money_in_chromium(
    portal: tuple[str, Settings], mails: Inbox, tmp_path: Path, screenshot: Callable[[str], str]
) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = portal
    address = asyncio.run(_seed(settings))
    # Setting the payout account, the statement and the payout e-mailed the partner first (the last two
    # are notifications, sent by whichever outbox worker gets there first); sign-in links come after.
    subjects = " | ".join(str(m["Subject"]) for m in mails.wait_for(address, 3))
    assert "payout account" in subjects and "statement" in subjects and "payout was sent" in subjects
    mails.messages.clear()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                locale="en-US", viewport={"width": 1280, "height": 1200}, accept_downloads=True
            )
            page = context.new_page()
            page.goto(f"{base}/partner")
            assert page.url == f"{base}/partner/sign-in"
            page.fill("#email", address.upper())
            page.click("#send-link")
            assert page.locator("#link-sent").is_visible()

            link = link_in(mails.wait_for(address)[0])
            page.goto(f"{base}{link}")
            page.click("#use-link")
            assert page.url == f"{base}/partner"
            cookie = next(c for c in context.cookies() if c["name"] == "growth_partner")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/partner"
            earnings = page.locator("#earnings-CNY")
            assert earnings.locator("tr[data-state=paid] td.num").inner_text() == "CN¥100.00"
            assert earnings.locator("tr[data-state=pending] td.num").inner_text() == "CN¥30.00"
            qr = page.locator(".code img")
            qr.scroll_into_view_if_needed()
            wait_for_js(page, "document.querySelector('.code img').naturalWidth > 0")
            page.screenshot(path=screenshot("portal-overview.png"), full_page=True)

            page.click("header.top >> text=Statements")
            page.click("#statements >> text=View")
            assert page.locator("#statement-title").inner_text().startswith("Commission statement 2025-10")
            with page.expect_download() as download:
                page.click("#download-csv")
            saved = tmp_path / "statement.csv"
            download.value.save_as(saved)
            assert "o-1" in saved.read_text(encoding="utf-8-sig")

            page.goto(f"{base}/partner/payouts")
            assert page.locator("[data-payout-state]").inner_text() == "Sent"

            page.goto(f"{base}/partner/leads")
            page.fill("#lead-company", "Globex Ltd")
            page.click("#register-lead")
            assert "Lead L-" in page.locator("#lead-registered").inner_text()
            assert page.locator("#leads").get_by_text("Globex Ltd").is_visible()

            page.click("#sign-out")
            assert page.url == f"{base}/partner/sign-in"
            page.goto(f"{base}{link}")  # the link was used: it never signs in again
            assert page.locator("#link-problem").is_visible()

            zh = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            zh_page = zh.new_page()
            zh_page.goto(f"{base}/partner/sign-in")
            assert zh_page.locator("h1").inner_text() == "合作伙伴门户登录"
            zh_page.fill("#email", address)
            zh_page.click("#send-link")
            zh_link = link_in(mails.wait_for(address, 2)[1])
            assert "您好" in str(mails.to(address)[1].get_payload(decode=True).decode())  # type: ignore[union-attr]
            zh_page.goto(f"{base}{zh_link}")
            zh_page.click("#use-link")
            assert zh_page.locator("#earnings-title").inner_text() == "收益"
            assert zh_page.locator("#earnings-CNY tr[data-state=paid] td").first.inner_text() == "已付款"
            zh_page.screenshot(path=screenshot("portal-zh-phone.png"), full_page=True)
        finally:
            browser.close()

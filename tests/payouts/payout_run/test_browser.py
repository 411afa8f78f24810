"""Finance runs last month's payouts from the pages, in Chromium against a live server: sign in, create
the run, open it, press Execute and see the payouts sent (bank partners: the live server has no Stripe
stand-in; the client tests in test_pages.py pay a Stripe partner through it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

from playwright.sync_api import Page, sync_playwright

from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine
from growth.core.time import utc_now
from growth.ledger import service as ledger_service
from payouts.partner import service as partner_service
from payouts.provider.rules import ProviderName
from tests.payouts.payout_run.helpers import partner_with
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _browser_available, _create_key  # noqa: F401

OWED = {"Li Wei": 12_050, "Chen Jing": 98_000}
"""Bank partners and what they are owed in USD (minor units) since last month."""


async def _seed(url: str) -> dict[str, UUID]:
    """Bank partners owed money since last month (accounts verified long enough ago), and one partner
    without a payout account, whom the run holds back. Returns the partners by name."""
    now = utc_now()
    earned_at = now - timedelta(days=45)  # always before this month began
    engine = make_engine(url)
    try:
        async with make_db_config(engine).create_session_maker()() as s, s.begin():
            partners = {}
            for name, amount in [*OWED.items(), ("Zhao Min", 20_000)]:
                provider = ProviderName.bank if name in OWED else None
                partner_id = await partner_with(
                    s, provider=provider, payable=0, changed_at=now - timedelta(days=60)
                )
                (await partner_service.get_partner(s, partner_id)).name = name
                await ledger_service.post_entry(
                    s,
                    reference=f"test:{uuid4()}",
                    kind="commission_approved",
                    lines=[
                        ledger_service.Line(ledger_service.COMMISSION_EXPENSE, amount, "USD"),
                        ledger_service.Line(
                            ledger_service.partner_account(partner_id, "payable"), -amount, "USD"
                        ),
                    ],
                    occurred_at=earned_at,
                )
                partners[name] = partner_id
            return partners
    finally:
        await engine.dispose()


def _statuses(page: Page) -> list[str]:
    return page.locator("#payouts [data-payout-status]").evaluate_all(
        "badges => badges.map(b => b.dataset.payoutStatus)"
    )


def test_finance_runs_last_months_payouts_in_chromium(
    live_server: str, database_url: str, screenshot: Callable[[str], str]
) -> None:
    partners = asyncio.run(_seed(database_url))
    key = asyncio.run(_create_key(database_url, Role.finance))
    now = utc_now()  # the live server's time zone is UTC
    last_month = f"{(now.replace(day=1) - timedelta(days=1)):%Y-%m}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1400})
            page = context.new_page()
            page.goto(f"{live_server}/dashboard")
            assert page.url.startswith(f"{live_server}/sign-in?next=")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.click("#nav-payouts")  # the dashboard's header links finance to its runs
            assert page.url == f"{live_server}/finance/payouts"
            assert page.locator("#no-runs").is_visible()
            assert page.input_value("#period") == last_month  # the defaults: last month, the currency
            assert page.input_value("#currency") == "USD"

            page.click("#create-run")
            assert page.url.endswith("?notice=created")
            run_url = page.url.split("?")[0]
            assert page.locator("h1").inner_text() == f"Payout run {last_month} USD"
            assert _statuses(page) == ["pending", "pending"]
            for name, amount in OWED.items():
                row = page.locator("#payouts tr", has_text=name)
                assert f"${amount // 100:,}.{amount % 100:02d}" in row.inner_text()
                assert "Waiting to be sent" in row.inner_text()
            held = page.locator(f"#skip-{partners['Zhao Min']}").inner_text()
            assert "Zhao Min" in held and "No payout account on file." in held
            page.screenshot(path=screenshot("run-created.png"), full_page=True)

            page.click("#execute")
            assert page.url == f"{run_url}?notice=executing"
            deadline = time.monotonic() + 20
            while _statuses(page) != ["sent", "sent"]:
                assert time.monotonic() < deadline, f"payouts still {_statuses(page)}"
                time.sleep(0.25)
                page.reload()
            assert page.locator("#run-status").inner_text() == "Completed"
            assert page.locator("#total-sent").inner_text() == "2 payouts · $1,100.50"
            assert not page.locator("#execute").is_visible()
            with page.expect_download() as download:
                page.click("#bank-file")
            assert download.value.suggested_filename.startswith("payout-run-")
            page.screenshot(path=screenshot("run-sent.png"), full_page=True)

            confirm = page.locator("#payouts tr", has_text="Li Wei").locator("button")
            confirm.click()
            assert page.locator("#notice").inner_text() == "The bank payout is confirmed as paid."
            assert "Paid (confirmed)" in page.locator("#payouts tr", has_text="Li Wei").inner_text()

            page.click("#back")
            row = page.locator("#runs tbody tr").first
            assert last_month in row.inner_text() and "Completed" in row.inner_text()
            page.screenshot(path=screenshot("runs.png"), full_page=True)

            zh = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1400}).new_page()
            zh.goto(run_url)
            zh.fill("#key", key)
            zh.click("button[type=submit]")
            assert zh.locator("h1").inner_text() == f"付款批次 {last_month} USD"
            assert zh.locator("#run-status").inner_text() == "已完成"
            zh.screenshot(path=screenshot("run-zh.png"), full_page=True)
        finally:
            browser.close()

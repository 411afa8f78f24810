"""Pages in a real browser: Debian's Chromium driven by Playwright against a live server.

Skipped with a reason when Chromium or Playwright is missing, unless GROWTH_REQUIRE_BROWSER=1
(``.ci/run`` sets it and installs Chromium), where a missing browser is a failure.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine
from growth.settings import env_flag
from tests.conftest import create_admin_key

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed"
    else:
        reason = "" if CHROMIUM else "Debian's chromium is not installed (apt-get install chromium)"
    if reason:
        if env_flag("REQUIRE_BROWSER"):
            pytest.fail(f"browser required by GROWTH_REQUIRE_BROWSER=1: {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _browser_available() -> None:
    _require_browser()


def wait_for_js(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Wait until ``expression`` is true in the page. Playwright's ``wait_for_function`` polls through
    an ``eval`` in the page, which our Content-Security-Policy refuses (no 'unsafe-eval') whenever the
    condition is not already true at once; ``evaluate`` goes through the DevTools protocol instead."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def _seed(base: str, key: str) -> dict[str, str]:
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=10) as api:
        api.put(
            "/api/customers/browser-1", json={"name": "Mei Wang", "email": "mei@example.com"}
        ).raise_for_status()
        campaign = api.post(
            "/api/campaigns",
            json={
                "name": "Autumn friends",
                "landing_url": f"{base}/demo/shop?utm_source=ref",
                "status": "active",
                "currency": "CNY",
                "hashtag": "#秋日好物",
            },
        ).json()
        code = api.post(
            "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "browser-1"}
        )
        code.raise_for_status()
        return code.json()


def test_share_page_copy_qr_and_link_in_chromium(
    live_server: str, database_url: str, screenshot: Callable[[str], str]
) -> None:
    from playwright.sync_api import sync_playwright

    code = _seed(live_server, asyncio.run(create_admin_key(database_url)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 1200})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
            page = context.new_page()

            page.goto(code["share_url"])
            assert page.locator("html").get_attribute("lang") == "zh-Hans"
            assert page.locator("h1").inner_text() == "Mei Wang，您好！分享Autumn friends"
            assert page.locator("#referral-link").input_value() == code["link"]
            qr_width = page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth")
            assert qr_width and qr_width > 0
            page.click("#copy-link")
            wait_for_js(page, "document.getElementById('copy-link-status').textContent.length > 0")
            assert page.locator("#copy-link-status").inner_text() == "已复制！"
            assert page.evaluate("navigator.clipboard.readText()") == code["link"]
            assert page.locator("#hashtag").input_value() == "#秋日好物"
            page.screenshot(path=screenshot("share-zh.png"), full_page=True)

            page.click("nav.lang >> text=English")
            assert "Your referral link" in page.content()

            # Following the link lands on the shop with the code, and sets the HttpOnly cookie.
            page.goto(code["link"])
            assert f"ref={code['code']}" in page.url
            assert code["code"] in page.locator("main").inner_text()
            cookie = next(c for c in context.cookies() if c["name"] == "growth_ref")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            assert cookie["value"] in page.url
        finally:
            browser.close()


def test_unknown_link_shows_the_friendly_page(live_server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="en-US")
            response = page.goto(f"{live_server}/r/NOPE2345")
            assert response is not None and response.status == 404
            assert page.locator("h1").inner_text() == "This link does not work"
        finally:
            browser.close()


def test_api_can_be_tried_from_the_schema_ui(live_server: str, database_url: str) -> None:
    """Swagger UI at /schema loads from local assets, takes an API key and runs a request."""
    from playwright.sync_api import sync_playwright

    key = asyncio.run(create_admin_key(database_url))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(f"{live_server}/schema")
            page.click("button.authorize")
            page.fill(".auth-container input", key)
            page.click(".auth-btn-wrapper button.authorize")
            page.click("button.btn-done")
            operation = page.locator("div.opblock[id*=ListCampaigns]")
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            status = operation.locator(".live-responses-table .response .response-col_status").first
            status.wait_for()
            assert status.inner_text().strip() == "200"
        finally:
            browser.close()


async def _create_key(url: str, role: Role) -> str:
    engine = make_engine(url)
    try:
        async with make_db_config(engine).create_session_maker()() as session, session.begin():
            return (await auth_service.create_key(session, name="browser", role=role)).secret
    finally:
        await engine.dispose()


def test_marketing_runs_a_campaign_from_the_pages_in_chromium(
    live_server: str, database_url: str, screenshot: Callable[[str], str]
) -> None:
    """Sign in, create a campaign, activate and end it; a stale page's Activate shows the 409 error."""
    from playwright.sync_api import sync_playwright

    key = asyncio.run(_create_key(database_url, Role.marketing))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1400})
            page = context.new_page()
            page.goto(f"{live_server}/marketing/campaigns")
            assert page.url.startswith(f"{live_server}/sign-in?next=")
            page.fill("#key", key)
            page.click("button[type=submit]")
            assert page.url == f"{live_server}/marketing/campaigns"
            assert "marketing" in page.locator("#signed-in-as").inner_text()
            session = next(c for c in context.cookies() if c["name"] == "growth_session")
            assert session["httpOnly"] and session["sameSite"] == "Lax"

            page.click("#new-campaign")
            page.fill("#name", "Winter friends")
            page.fill("#currency", "CNY")
            page.fill("#landing_url", f"{live_server}/demo/shop")
            page.fill("#hashtag", "#冬日好物")
            page.fill("#starts_at", "2026-12-01T09:30")
            page.fill("#min_order_amount", "20.00")
            page.fill("#budget_amount", "5000")
            page.click("#save")
            assert "?notice=created" in page.url
            assert page.locator("#campaign-status").inner_text() == "Draft"
            assert page.locator("#budget").inner_text() == "CN¥0.00 / CN¥5,000.00"
            page.screenshot(path=screenshot("campaign-edit.png"), full_page=True)

            stale = context.new_page()  # a second tab, still showing the draft
            stale.goto(page.url)
            page.click("#activate")
            assert page.locator("#campaign-status").inner_text() == "Active"
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#end")
            assert page.locator("#campaign-status").inner_text() == "Ended"
            assert page.locator("#notice").inner_text() == "The campaign has ended."

            with stale.expect_response(lambda r: r.request.method == "POST") as answer:
                stale.click("#activate")
            assert answer.value.status == 409
            assert (
                stale.locator("#page-error").inner_text()
                == "This campaign is Ended; it cannot become Active."
            )
            assert stale.locator("#campaign-status").inner_text() == "Ended"
            stale.screenshot(path=screenshot("campaign-409.png"), full_page=True)

            zh = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1400})
            zh_page = zh.new_page()
            zh_page.goto(f"{live_server}/marketing/campaigns")
            assert zh_page.locator("h1").inner_text() == "登录管理后台"
            zh_page.fill("#key", key)
            zh_page.click("button[type=submit]")
            assert zh_page.locator("h1").inner_text() == "推广活动"
            assert zh_page.locator("#campaigns").get_by_text("已结束").is_visible()
            zh_page.click("text=Winter friends")
            assert zh_page.locator("#save").inner_text() == "保存更改"
            assert zh_page.locator("label[for=landing_url]").inner_text() == "着陆页"
            zh_page.screenshot(path=screenshot("campaign-zh.png"), full_page=True)
        finally:
            browser.close()


def _seed_post(base: str, key: str) -> str:
    """A social-share campaign giving a sample, and one post waiting for review; the post's URL."""
    post = "https://www.xiaohongshu.com/explore/64a1b2c3d4e5f600000042"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        api.post(
            "/api/gift-packs",
            json={
                "sku": "SERUM-S",
                "name": "Serum sample",
                "value_amount": 3500,
                "currency": "CNY",
                "stock_on_hand": 5,
            },
        ).raise_for_status()
        campaign = api.post(
            "/api/campaigns",
            json={
                "name": "Serum posts",
                "kind": "social_share",
                "landing_url": f"{base}/demo/shop",
                "status": "active",
                "currency": "CNY",
                "hashtag": "#美妆新品",
            },
        ).json()
        api.post(
            f"/api/campaigns/{campaign['id']}/reward-rules",
            json={"side": "share", "reward_type": "free_sample", "sku": "SERUM-S"},
        ).raise_for_status()
        api.put("/api/customers/poster-1", json={"name": "Lin Mei"}).raise_for_status()
        code = api.post(
            "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "poster-1"}
        ).json()
        token = code["share_url"].rsplit("/", 1)[1]
        api.post(f"/api/share/{token}/submissions", json={"url": post}).raise_for_status()
    return post


def test_marketing_approves_a_post_from_the_queue_in_chromium(
    live_server: str, database_url: str, screenshot: Callable[[str], str]
) -> None:
    """Sign in, open the share queue, approve the post: the notice says the sample was granted."""
    from playwright.sync_api import sync_playwright

    post = _seed_post(live_server, asyncio.run(create_admin_key(database_url)))
    key = asyncio.run(_create_key(database_url, Role.marketing))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 1000})
            page.goto(f"{live_server}/marketing/shares")
            assert page.url.startswith(f"{live_server}/sign-in?next=")
            page.fill("#key", key)
            page.click("button[type=submit]")
            assert page.url == f"{live_server}/marketing/shares"

            row = page.locator("#queue tbody tr")
            assert row.count() == 1
            assert "Lin Mei" in row.inner_text() and "Serum posts" in row.inner_text()
            link = row.locator(f'a[href="{post}"]')
            assert link.get_attribute("rel") == "noopener noreferrer nofollow"
            assert link.get_attribute("target") == "_blank"
            row.locator("button[id^=approve-]").click()

            assert "notice=approved" in page.url and "outcome=granted" in page.url
            assert page.locator("#notice").inner_text() == "Approved. The reward was granted."
            assert page.locator("#empty-queue").inner_text() == "No posts are waiting for review."
            page.screenshot(path=screenshot("share-queue-approved.png"), full_page=True)

            page.click("nav.filters >> text=Approved")
            assert "Reward granted" in page.locator("#queue").inner_text()
        finally:
            browser.close()

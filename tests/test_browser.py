"""Pages in a real browser: Debian's Chromium driven by Playwright against a live server.

Skipped with a reason when Chromium or Playwright is missing, unless GROWTH_REQUIRE_BROWSER=1
(``.ci/run`` sets it and installs Chromium), where a missing browser is a failure.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

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


def test_share_page_copy_qr_and_link_in_chromium(live_server: str, database_url: str, tmp_path: Path) -> None:
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
            page.wait_for_function("document.getElementById('copy-link-status').textContent.length > 0")
            assert page.locator("#copy-link-status").inner_text() == "已复制！"
            assert page.evaluate("navigator.clipboard.readText()") == code["link"]
            assert page.locator("#hashtag").input_value() == "#秋日好物"
            page.screenshot(path=str(tmp_path / "share-zh.png"), full_page=True)

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

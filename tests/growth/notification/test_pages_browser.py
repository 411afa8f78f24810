"""The admin re-sends a webhook delivery from the dashboard, in Chromium against a live server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from playwright.sync_api import sync_playwright

from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine
from growth.notification import service as notification_service
from growth.settings import Settings
from tests.conftest import create_admin_key
from tests.growth.notification.conftest import Receiver
from tests.growth.notification.test_service import event, handle, people
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _browser_available, _create_key  # noqa: F401


async def _failed_once(database_url: str) -> str:
    """A payout.sent notification through the real handler and its first attempt (refused); its id."""
    settings = Settings(database_url=database_url)
    engine = make_engine(database_url)
    try:
        session_maker = make_db_config(engine).create_session_maker()
        ids = await people(session_maker)
        payout = {
            "partner_id": ids["acme"],
            "amount": 123450,
            "currency": "USD",
            "at": "2026-11-25T17:30:00+00:00",
        }
        await handle(session_maker, settings, event("payout.sent", payout))
        async with session_maker() as s, s.begin():
            await notification_service.deliver_due(s, now=datetime.now(UTC), settings=settings)
            [view] = await notification_service.list_deliveries(s)
            return str(view.delivery.id)
    finally:
        await engine.dispose()


def test_admin_resends_a_delivery_in_chromium(
    live_server: str, database_url: str, receiver: Receiver, screenshot: Callable[[str], str]
) -> None:
    api_key = asyncio.run(create_admin_key(database_url))
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {api_key}"}) as api:
        body = {"url": receiver.url, "event_kinds": ["payout_sent"]}
        created = api.post("/api/webhooks/endpoints", json=body)
        created.raise_for_status()
        receiver.secret = created.json()["secret"]
    receiver.failures = 1
    delivery_id = asyncio.run(_failed_once(database_url))
    assert len(receiver.received) == 1
    key = asyncio.run(_create_key(database_url, Role.admin))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1200}).new_page()
            page.goto(f"{live_server}/marketing/alerts")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.click("#nav-webhooks")  # the marketing pages' nav links to it, for admins
            assert page.url == f"{live_server}/marketing/webhooks"
            row = page.locator(f"#delivery-{delivery_id}")
            assert "Pending" in row.inner_text() and "HTTP 500" in row.inner_text()

            page.click(f"#resend-{delivery_id}")
            assert page.url.startswith(f"{live_server}/marketing/webhooks?resent=delivered")
            assert page.locator("#notice").inner_text() == "Re-sent: the endpoint accepted it (HTTP 204)."
            row = page.locator(f"#delivery-{delivery_id}")
            assert row.get_attribute("data-status") == "delivered"
            assert row.locator("ol.attempts li").count() == 2 and "HTTP 204" in row.inner_text()
            assert len(receiver.received) == 2 and receiver.received[1].is_signature_valid
            page.screenshot(path=screenshot("webhooks.png"), full_page=True)

            page.click("nav.lang >> text=简体中文")
            assert "投递日志" in page.locator("main").inner_text()
            assert page.locator(f"#resend-{delivery_id}").inner_text() == "重新发送"
            page.screenshot(path=screenshot("webhooks-zh.png"), full_page=True)
            page.click("#nav-emails")
            assert page.locator("h1").inner_text() == "邮件发件箱"  # the chosen language is remembered
            assert "a***@example.com" in page.locator("#emails").inner_text()
            assert "acme@example.com" not in page.content()
            page.screenshot(path=screenshot("emails-zh.png"), full_page=True)
            page.click("#emails a")  # the e-mail's own page: its text, the recipient still masked
            assert page.locator("#subject").inner_text() == "Your payout was sent"
            assert page.locator("#body").inner_text().startswith("Hello Acme,")
            assert "We sent your payout of $1,234.50 on Nov 25, 2026." in page.locator("#body").inner_text()
            assert "a***@example.com" in page.locator("#recipient").inner_text()
            assert "acme@example.com" not in page.content()
            page.screenshot(path=screenshot("email.png"), full_page=True)

            # Register a second endpoint (its secret shown once), then delete it after confirming.
            page.goto(f"{live_server}/marketing/webhooks?lang=en")
            page.fill("#url", "https://shop.example/hooks/growth")
            page.check("input[name=event_kinds][value=friend_ordered]")
            page.check("input[name=event_kinds][value=delay_alert]")
            page.click("#register-endpoint")
            assert page.locator("h1").inner_text() == "Endpoint registered"
            secret = page.locator("#secret").inner_text()
            assert secret.startswith("whsec_")
            page.screenshot(path=screenshot("endpoint.png"), full_page=True)
            page.click("#back")
            assert secret not in page.content()
            row = page.locator("#endpoints tr", has_text="https://shop.example/hooks/growth")
            assert "Delay alert, Friend ordered" in row.inner_text()
            page.once("dialog", lambda dialog: dialog.accept())
            row.locator("button.danger").click()
            page.wait_for_url("**/marketing/webhooks?done=endpoint_deleted")
            assert "The endpoint was deleted" in page.locator("#notice").inner_text()
            assert "https://shop.example/hooks/growth" not in page.locator("#endpoints").inner_text()
        finally:
            browser.close()

"""Marketing approves a held order from the review queue, in Chromium against a live server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from playwright.sync_api import sync_playwright

from growth.core.auth.rules import Role
from tests.conftest import create_admin_key
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _browser_available, _create_key  # noqa: F401


def _seed(base: str, key: str) -> str:
    """A referred order at a disposable e-mail domain: held for review. Returns its id."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        campaign = api.post(
            "/api/campaigns",
            json={
                "name": "Tea friends",
                "landing_url": f"{base}/demo/shop",
                "status": "active",
                "currency": "CNY",
            },
        ).json()
        api.put(
            "/api/customers/mei", json={"name": "Mei Wang", "email": "mei@example.com"}
        ).raise_for_status()
        code = api.post(
            "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "mei"}
        )
        code.raise_for_status()
        order = api.post(
            "/api/orders",
            json={
                "external_id": "b-1",
                "customer": {"external_id": "li", "name": "Li Lei", "email": "li@mailinator.com"},
                "amount": 19900,
                "currency": "CNY",
                "placed_at": datetime.now(UTC).isoformat(),
                "referral_code": code.json()["code"],
            },
        )
        order.raise_for_status()
        return str(order.json()["id"])


def test_marketing_approves_a_held_order_in_chromium(
    live_server: str, database_url: str, screenshot: Callable[[str], str]
) -> None:
    order_id = _seed(live_server, asyncio.run(create_admin_key(database_url)))
    key = asyncio.run(_create_key(database_url, Role.marketing))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1400}).new_page()
            page.goto(f"{live_server}/marketing/shares")  # the marketing pages' nav links to the queue
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.click("#nav-reviews")
            assert page.url == f"{live_server}/marketing/reviews"
            row = page.locator(f"#review-{order_id}")
            assert (
                "Disposable e-mail address" in row.inner_text() and "l***@mailinator.com" in row.inner_text()
            )

            page.click(f"#open-{order_id}")
            assert page.locator("h1").inner_text() == "Order b-1"
            assert "Risk check: held for review" in page.locator("#explanation").inner_text()
            page.fill("#note", "Known customer")
            page.click("#approve")
            assert page.url == f"{live_server}/marketing/reviews?notice=approved&count=1"
            assert "1 order approved" in page.locator("#notice").inner_text()
            assert page.locator("#empty-queue").is_visible()
            page.screenshot(path=screenshot("reviews.png"), full_page=True)

            page.goto(f"{live_server}/marketing/reviews/{order_id}")
            assert page.locator("#review-status").inner_text() == "Approved"
            assert (
                "Review: approved by browser (marketing): Known customer."
                in page.locator("#explanation").inner_text()
            )
        finally:
            browser.close()

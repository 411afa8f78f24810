"""Taking store credit instead of waiting for a gift pack's restock, on the share page, in Chromium."""

from __future__ import annotations

import asyncio
import time

import httpx
from playwright.sync_api import sync_playwright

from tests.conftest import create_admin_key
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _browser_available  # noqa: F401  (autouse skip)


def _seed(base: str, key: str) -> tuple[str, str]:
    """Mei's referrer reward: the VIP pack, out of stock, waiting (¥250.00 store credit instead)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        pack = {"sku": "VIP", "name": "VIP gift pack", "value_amount": 30000, "currency": "CNY"}
        api.post("/api/gift-packs", json=pack).raise_for_status()
        campaign = api.post(
            "/api/campaigns",
            json={
                "name": "Tea friends",
                "landing_url": f"{base}/demo/shop",
                "status": "active",
                "currency": "CNY",
                "hold_days": 0,
                "budget_amount": 100_000,
            },
        ).json()
        rule = {
            "side": "referrer",
            "reward_type": "gift_pack",
            "sku": "VIP",
            "out_of_stock": "wait",
            "alternative_amount": 25000,
        }
        api.post(f"/api/campaigns/{campaign['id']}/reward-rules", json=rule).raise_for_status()
        api.put(
            "/api/customers/mei", json={"name": "Mei Wang", "email": "mei@example.com"}
        ).raise_for_status()
        code = api.post(
            "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "mei"}
        )
        code.raise_for_status()
        order = {
            "external_id": "sc-1",
            "customer": {"external_id": "li", "name": "Li Lei"},
            "amount": 19900,
            "currency": "CNY",
            "placed_at": "2026-11-01T08:00:00Z",
            "referral_code": code.json()["code"],
        }
        api.post("/api/orders", json=order).raise_for_status()
        for event in ("paid", "closed"):
            api.post("/api/orders/sc-1/events", json={"type": event}).raise_for_status()
        for _ in range(50):  # the outbox handles the events right after commit
            rewards = api.get("/api/rewards", params={"campaign_id": campaign["id"]}).json()
            if any(r["is_waiting_for_stock"] for r in rewards):
                break
            time.sleep(0.1)
        return code.json()["share_url"], campaign["id"]


def test_customer_takes_store_credit_instead_of_waiting_in_chromium(
    live_server: str, database_url: str
) -> None:
    key = asyncio.run(create_admin_key(database_url))
    share_url, campaign_id = _seed(live_server, key)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        zh = browser.new_page(locale="zh-CN")
        zh.goto(share_url)
        assert zh.get_by_role("button", name="立即领取店铺余额").is_visible()
        assert "¥250.00" in zh.inner_text("form.store-credit")

        page = browser.new_page(locale="en-US")
        page.goto(share_url)
        assert page.get_by_text("Reward waiting for restock").is_visible()
        assert "take CN¥250.00 in store credit now" in page.inner_text("form.store-credit")
        page.get_by_role("button", name="Take store credit now").click()
        page.wait_for_selector("#credit-notice")
        assert "you took store credit" in page.inner_text("#credit-notice")
        assert page.locator("form.store-credit").count() == 0  # nothing waits any more
        assert page.get_by_text("CN¥250.00 store credit").is_visible()
        browser.close()
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {key}"}) as api:
        (reward,) = api.get("/api/rewards", params={"campaign_id": campaign_id}).json()
        assert (reward["reward_type"], reward["amount"], reward["status"]) == (
            "store_credit",
            25000,
            "issued",
        )
        assert api.get(f"/api/campaigns/{campaign_id}").json()["budget_spent"] == 25000
        assert api.get("/api/gift-packs/VIP").json()["stock_reserved"] == 0

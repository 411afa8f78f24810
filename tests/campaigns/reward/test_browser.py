"""The customer confirms a gift pack's shipping address on the share page, in Chromium."""

from __future__ import annotations

import asyncio
import time

import httpx
from playwright.sync_api import sync_playwright

from tests.conftest import create_admin_key
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _browser_available  # noqa: F401  (autouse skip)


def _seed(base: str, key: str) -> tuple[str, str]:
    """A milestone pack earned at the first referral (no hold): it waits for the address."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        pack = {
            "sku": "HOME-CLEAN",
            "name": "Home-cleaning gift pack",
            "value_amount": 8800,
            "currency": "CNY",
        }
        api.post("/api/gift-packs", json=pack | {"stock_on_hand": 3}).raise_for_status()
        campaign = api.post(
            "/api/campaigns",
            json={
                "name": "Tea friends",
                "landing_url": f"{base}/demo/shop",
                "status": "active",
                "currency": "CNY",
                "hold_days": 0,
            },
        ).json()
        rule = {"side": "milestone", "reward_type": "gift_pack", "sku": "HOME-CLEAN", "threshold": 1}
        api.post(f"/api/campaigns/{campaign['id']}/reward-rules", json=rule).raise_for_status()
        api.post(
            f"/api/campaigns/{campaign['id']}/reward-rules",
            json={"side": "referrer", "reward_type": "store_credit", "amount": 2000},
        ).raise_for_status()
        api.put(
            "/api/customers/mei", json={"name": "Mei Wang", "email": "mei@example.com"}
        ).raise_for_status()
        code = api.post(
            "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "mei"}
        )
        code.raise_for_status()
        order = {
            "external_id": "b-1",
            "customer": {"external_id": "li", "name": "Li Lei"},
            "amount": 19900,
            "currency": "CNY",
            "placed_at": "2026-11-01T08:00:00Z",
            "referral_code": code.json()["code"],
        }
        api.post("/api/orders", json=order).raise_for_status()
        for event in ("paid", "closed"):
            api.post("/api/orders/b-1/events", json={"type": event}).raise_for_status()
        for _ in range(50):  # the outbox handles the events right after commit
            rewards = api.get("/api/rewards", params={"campaign_id": campaign["id"]}).json()
            if any(r["side"] == "milestone" and r["status"] == "approved" for r in rewards):
                break
            time.sleep(0.1)
        return code.json()["share_url"], campaign["id"]


def test_customer_confirms_the_address_of_a_gift_pack_in_chromium(
    live_server: str, database_url: str
) -> None:
    key = asyncio.run(create_admin_key(database_url))
    share_url, campaign_id = _seed(live_server, key)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(locale="en-US")
        page.goto(share_url)
        assert page.get_by_text("Friends you referred").is_visible()
        assert page.get_by_text("L. L.").is_visible()
        assert page.get_by_text("Gift pack: Home-cleaning gift pack").is_visible()
        page.fill("input[name=name]", "Mei Wang")
        page.fill("input[name=line1]", "88 Nanjing Road")
        page.fill("input[name=city]", "Shanghai")
        page.fill("input[name=postal_code]", "200001")
        page.fill("input[name=country]", "CN")
        page.get_by_role("button", name="Confirm address").click()
        page.wait_for_selector("#address-notice")
        assert "on its way" in page.inner_text("#address-notice")
        assert page.locator("input[name=line1]").count() == 0  # the form is gone: the pack is issued
        browser.close()
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {key}"}) as api:
        (shipment,) = api.get("/api/shipments").json()
        assert shipment["address"]["city"] == "Shanghai" and shipment["status"] == "requested"
        rewards = api.get("/api/rewards", params={"campaign_id": campaign_id}).json()
        assert {r["side"]: r["status"] for r in rewards} == {"milestone": "issued", "referrer": "issued"}

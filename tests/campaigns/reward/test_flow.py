"""The whole reward flow through the public API: campaign -> code -> friend's click -> welcome
coupon -> order -> closed -> hold passes -> both rewards approved and issued; and the refund path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.reward import service as reward_service
from growth.core.auth.rules import Role
from growth.core.events.service import DomainEvent
from growth.core.jobs import run_once
from growth.ledger import service as ledger_service
from tests.conftest import flush_clicks, in_app_loop
from tests.factories import bearer, create_key


@pytest.fixture
async def keys(session: AsyncSession) -> dict[str, dict[str, str]]:
    marketing = await create_key(session, role=Role.marketing)
    shop = await create_key(session, role=Role.shop)
    admin = await create_key(session, role=Role.admin)
    await session.commit()
    return {"marketing": bearer(marketing), "shop": bearer(shop), "admin": bearer(admin)}


async def drain(client: AsyncTestClient[Litestar]) -> None:
    """Let the in-process outbox worker handle everything committed so far."""
    await in_app_loop(client, client.app.state.outbox.drain)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Shop:
    """What a shop and marketing do through the API, step by step."""

    def __init__(self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]) -> None:
        self.client, self.keys = client, keys

    async def campaign(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Friends of tea", "landing_url": "https://shop.example/tea", "currency": "CNY"}
        body |= {"status": "active", "hold_days": 14} | fields
        return await ok(
            await self.client.post("/api/campaigns", json=body, headers=self.keys["marketing"]), 201
        )

    async def rule(self, campaign_id: str, **rule: Any) -> dict[str, Any]:
        url = f"/api/campaigns/{campaign_id}/reward-rules"
        return await ok(await self.client.post(url, json=rule, headers=self.keys["marketing"]), 201)

    async def code(self, campaign_id: str, customer: str, email: str) -> dict[str, Any]:
        await ok(
            await self.client.put(
                f"/api/customers/{customer}", json={"email": email}, headers=self.keys["admin"]
            ),
            201,
        )
        body = {"campaign_id": campaign_id, "customer_external_id": customer}
        return await ok(
            await self.client.post("/api/referral-codes", json=body, headers=self.keys["admin"]), 201
        )

    async def click(self, code: str) -> str:
        response = await self.client.get(f"/r/{code}", follow_redirects=False)
        assert response.status_code == 302
        await flush_clicks(self.client)
        return response.headers["location"].split("ref_click=")[1].split("&")[0]

    async def welcome(self, code: str, customer: str, email: str) -> dict[str, Any]:
        body = {"referral_code": code, "customer": {"external_id": customer, "email": email}}
        return await ok(
            await self.client.post("/api/welcome-coupons", json=body, headers=self.keys["shop"]), 201
        )

    async def order(self, external_id: str, customer: str, amount: int, **hints: Any) -> dict[str, Any]:
        body = {
            "external_id": external_id,
            "customer": {"external_id": customer},
            "amount": amount,
            "currency": "CNY",
            "placed_at": datetime.now(UTC).isoformat(),
            **hints,
        }
        created = await ok(await self.client.post("/api/orders", json=body, headers=self.keys["shop"]), 201)
        await drain(self.client)
        return created

    async def event(self, external_id: str, type_: str, **fields: Any) -> None:
        body = {"type": type_, "event_id": f"{external_id}-{type_}-{fields.get('amount', '')}", **fields}
        url = f"/api/orders/{external_id}/events"
        response = await self.client.post(url, json=body, headers=self.keys["shop"])
        assert response.status_code in (200, 201), response.text
        await drain(self.client)

    async def rewards(self, **params: str) -> list[dict[str, Any]]:
        return await ok(await self.client.get("/api/rewards", params=params, headers=self.keys["marketing"]))


async def pass_hold(client: AsyncTestClient[Litestar], days: int) -> int:
    """Run the periodic approval job (on the app's loop and engine) as it will run ``days`` from now."""
    later = datetime.now(UTC) + timedelta(days=days)

    async def job() -> int:
        return await run_once(
            client.app.state.session_maker, lambda s, now: reward_service.approve_due(s, now=now), now=later
        )

    moved: int = await in_app_loop(client, job)
    return moved


@pytest.fixture
def shop(client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]) -> Shop:
    return Shop(client, keys)


async def _referred_order(shop: Shop, **campaign_fields: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    campaign = await shop.campaign(**campaign_fields)
    await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=2000)
    await shop.rule(campaign["id"], side="referee", reward_type="fixed_discount", amount=1500)
    code = (await shop.code(campaign["id"], "alice", "alice@example.com"))["code"]
    click = await shop.click(code)
    coupon = await shop.welcome(code, "bob", "bob@example.com")
    assert coupon["coupon_code"].startswith(code.upper() + "-")
    assert coupon["is_usable"] is True and coupon["amount"] == 1500
    await shop.order("o-1", "bob", 19900, click_ids=[click], coupon_code=coupon["coupon_code"])
    return campaign, coupon, code


class TestRewardFlow:
    async def test_closed_order_past_its_hold_approves_and_issues_both_rewards(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign, _, _ = await _referred_order(shop)
        attribution = await ok(await client.get("/api/orders/o-1/attribution", headers=shop.keys["admin"]))
        assert attribution["method"] == "coupon"

        referrer, welcome = await _two(shop, campaign["id"])
        assert referrer["status"] == "pending" and referrer["is_granted"] is False
        assert welcome["status"] == "issued" and welcome["order_external_id"] == "o-1"

        for event in ("paid", "fulfilled", "closed"):
            await shop.event("o-1", event)
        referrer, welcome = await _two(shop, campaign["id"])
        assert referrer["status"] == "pending" and referrer["is_granted"] is True
        approve_at = datetime.fromisoformat(referrer["approve_after"])
        assert timedelta(days=13, hours=23) < approve_at - datetime.now(UTC) <= timedelta(days=14)

        assert await pass_hold(client, days=13) == 0  # still inside the hold
        assert await pass_hold(client, days=15) == 2
        referrer, welcome = await _two(shop, campaign["id"])
        assert referrer["status"] == "issued" and referrer["approved_at"] and referrer["issued_at"]
        assert welcome["status"] == "fulfilled"
        read = await ok(await client.get(f"/api/campaigns/{campaign['id']}", headers=shop.keys["marketing"]))
        assert read["budget_spent"] == 2000 + 1500

        async def credit() -> int:
            async with client.app.state.session_maker() as s:
                return await ledger_service.liability(
                    s, f"customer:{referrer['customer_id']}:store_credit", "CNY"
                )

        assert await in_app_loop(client, credit) == 2000
        # Replaying the job later changes nothing.
        assert await pass_hold(client, days=30) == 0

    async def test_refund_voids_both_rewards_and_releases_the_budget(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign, _, _ = await _referred_order(shop)
        for event in ("paid", "closed"):
            await shop.event("o-1", event)
        await shop.event("o-1", "refunded")

        referrer, welcome = await _two(shop, campaign["id"])
        assert (referrer["status"], referrer["reason"]) == ("voided", "order refunded")
        assert (welcome["status"], welcome["reason"]) == ("voided", "order refunded")
        assert await pass_hold(client, days=30) == 0
        read = await ok(await client.get(f"/api/campaigns/{campaign['id']}", headers=shop.keys["marketing"]))
        assert read["budget_spent"] == 0

    async def test_refund_after_the_credit_was_issued_reverses_it_in_the_ledger(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign, _, _ = await _referred_order(shop, hold_days=0)
        for event in ("paid", "closed"):
            await shop.event("o-1", event)
        referrer, _ = await _two(shop, campaign["id"])
        assert referrer["status"] == "issued"  # no hold: approved and issued on close

        await shop.event("o-1", "refunded")
        referrer, _ = await _two(shop, campaign["id"])
        assert referrer["status"] == "voided"

        async def books() -> tuple[int, list[Any]]:
            async with client.app.state.session_maker() as s:
                owed = await ledger_service.liability(
                    s, f"customer:{referrer['customer_id']}:store_credit", "CNY"
                )
                return owed, await ledger_service.unbalanced_entries(s)

        assert await in_app_loop(client, books) == (0, [])

    async def test_replaying_every_event_twice_changes_nothing(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign, _, _ = await _referred_order(shop, hold_days=0)
        for event in ("paid", "closed"):
            await shop.event("o-1", event)
        before = await shop.rewards(campaign_id=campaign["id"])
        assert await in_app_loop(client, lambda: _replay_all(client)) == 2  # attributed, closed
        assert await shop.rewards(campaign_id=campaign["id"]) == before

        await shop.event("o-1", "refunded")
        voided = await shop.rewards(campaign_id=campaign["id"])
        assert {r["status"] for r in voided} == {"voided"}
        assert await in_app_loop(client, lambda: _replay_all(client)) == 3
        assert await shop.rewards(campaign_id=campaign["id"]) == voided
        read = await ok(await client.get(f"/api/campaigns/{campaign['id']}", headers=shop.keys["marketing"]))
        assert read["budget_spent"] == 0


async def _replay_all(client: AsyncTestClient[Litestar]) -> int:
    """Hand every event in the outbox to the reward handlers once more, as a redelivery would."""
    from sqlalchemy import select

    from growth.app import build_subscriptions
    from growth.core.events.models import OutboxEvent
    from growth.core.events.service import DomainEvent

    subscriptions = build_subscriptions(settings=client.app.state.settings)
    count = 0
    async with client.app.state.session_maker() as session, session.begin():
        for row in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)):
            event = DomainEvent(row.id, row.name, row.payload, row.occurred_at)
            for name, handler in subscriptions.handlers_for(row.name).items():
                if name == "campaigns.rewards":
                    await handler(session, event)
                    count += 1
    return count


async def _two(shop: Shop, campaign_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rewards = await shop.rewards(campaign_id=campaign_id)
    by_side = {r["side"]: r for r in rewards}
    assert len(rewards) == 2, rewards
    return by_side["referrer"], by_side["referee"]


class TestRuleApi:
    async def test_bad_rules_are_refused_with_the_reason(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign = await shop.campaign(budget_amount=100_000)
        url = f"/api/campaigns/{campaign['id']}/reward-rules"
        cases = [
            ({"side": "referee", "reward_type": "percent_discount", "rate_bps": 1000}, 422, "max_amount"),
            ({"side": "referrer", "reward_type": "store_credit"}, 422, "positive amount"),
            ({"side": "referrer", "reward_type": "gift_pack", "sku": "NOPE"}, 404, "NOPE"),
            ({"side": "milestone", "reward_type": "store_credit", "amount": 100}, 422, "threshold"),
            ({"side": "share", "reward_type": "free_sample", "sku": "X"}, 422, "social_share"),
            ({"side": "referrer", "reward_type": "cash", "amount": 1.5}, 400, ""),
            ({"side": "referrer", "reward_type": "bitcoin", "amount": 1}, 400, ""),
        ]
        for body, status, words in cases:
            response = await client.post(url, json=body, headers=shop.keys["marketing"])
            assert response.status_code == status, (body, response.text)
            assert words in response.json()["error"]["message"]
        assert await ok(await client.get(url, headers=shop.keys["marketing"])) == []
        assert (await client.post(url, json=cases[1][0], headers=shop.keys["shop"])).status_code == 403

    async def test_welcome_coupon_refusals(self, shop: Shop, client: AsyncTestClient[Litestar]) -> None:
        campaign = await shop.campaign()
        code = (await shop.code(campaign["id"], "alice", "alice@example.com"))["code"]
        body = {"referral_code": code, "customer": {"external_id": "bob"}}
        response = await client.post("/api/welcome-coupons", json=body, headers=shop.keys["shop"])
        assert response.status_code == 409 and "no welcome coupon" in response.text  # no referee rule yet
        await shop.rule(campaign["id"], side="referee", reward_type="fixed_discount", amount=500)
        own = {"referral_code": code, "customer": {"external_id": "alice"}}
        response = await client.post("/api/welcome-coupons", json=own, headers=shop.keys["shop"])
        assert response.status_code == 409 and "own code" in response.text
        unknown = {"referral_code": "NOSUCHCODE", "customer": {"external_id": "bob"}}
        assert (
            await client.post("/api/welcome-coupons", json=unknown, headers=shop.keys["shop"])
        ).status_code == 404
        first = await shop.welcome(code, "bob", "bob@example.com")
        again = await shop.welcome(code, "bob", "bob@example.com")
        assert first["coupon_code"] == again["coupon_code"]
        checked = await ok(
            await client.get(f"/api/coupons/{first['coupon_code'].lower()}", headers=shop.keys["shop"])
        )
        assert checked["is_usable"] is True and checked["amount"] == 500
        assert (await client.get("/api/coupons/NOPE-123456", headers=shop.keys["shop"])).status_code == 404
        assert (await client.post("/api/welcome-coupons", json=body)).status_code == 401


class TestSharePage:
    async def test_lists_referrals_and_rewards_with_status_and_expected_date(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign = await shop.campaign()
        await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=2000)
        await shop.rule(campaign["id"], side="referee", reward_type="fixed_discount", amount=1500)
        issued = await shop.code(campaign["id"], "alice", "alice@example.com")
        share_path = "/share/" + issued["share_url"].rsplit("/share/", 1)[1]
        await ok(
            await client.put("/api/customers/bob", json={"name": "Bob Li"}, headers=shop.keys["admin"]), 201
        )
        coupon = await shop.welcome(issued["code"], "bob", "bob@example.com")
        await shop.order("o-1", "bob", 19900, coupon_code=coupon["coupon_code"])
        for event in ("paid", "closed"):
            await shop.event("o-1", event)

        page = await client.get(share_path, headers={"accept-language": "en"})
        assert page.status_code == 200
        html = page.text
        assert "Friends you referred" in html and "B. L." in html and "bob@example.com" not in html
        assert "Order closed" in html and "Pending" in html
        assert "CN¥20.00 store credit" in html or "¥20.00 store credit" in html
        expected = (datetime.now(UTC) + timedelta(days=14)).strftime("%b %-d, %Y")
        assert f"Expected {expected}" in html

        # The friend sees the welcome coupon on their own page; the referrer's credit shows once issued.
        await pass_hold(client, days=15)
        html = (await client.get(share_path, headers={"accept-language": "zh-CN"})).text
        assert "你推荐的朋友" in html and "已发放" in html and "店铺余额" in html


class TestGiftPackFlow:
    async def test_milestone_pack_waits_for_the_address_then_ships_and_is_fulfilled(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        from tests.pages import HTML, post_form

        pack = {"sku": "HOME-CLEAN", "name": "Home-cleaning pack", "value_amount": 8800, "currency": "CNY"}
        await ok(
            await client.post(
                "/api/gift-packs", json=pack | {"stock_on_hand": 1}, headers=shop.keys["marketing"]
            ),
            201,
        )
        campaign = await shop.campaign(hold_days=0)
        await shop.rule(
            campaign["id"], side="milestone", reward_type="gift_pack", sku="HOME-CLEAN", threshold=1
        )
        await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=1000)
        issued = await shop.code(campaign["id"], "alice", "alice@example.com")
        share_path = "/share/" + issued["share_url"].rsplit("/share/", 1)[1]
        await shop.order("o-1", "bob", 19900, referral_code=issued["code"])
        for event in ("paid", "closed"):
            await shop.event("o-1", event)

        rewards = {r["side"]: r for r in await shop.rewards(campaign_id=campaign["id"])}
        milestone = rewards["milestone"]
        assert milestone["status"] == "approved" and milestone["is_granted"] is True
        stock = await ok(await client.get("/api/gift-packs/HOME-CLEAN", headers=shop.keys["marketing"]))
        assert stock["stock_reserved"] == 1

        action = f"{share_path}/rewards/{milestone['id']}/address"
        bad = await post_form(
            client, share_path, action, {"name": "Alice", "line1": "1 Road", "city": "Shanghai"}
        )
        assert bad.status_code == 303 and "address_error=invalid_address" in bad.headers["location"]
        address = {
            "name": "Alice Chen",
            "line1": "88 Nanjing Rd",
            "city": "Shanghai",
            "postal_code": "200001",
        }
        done = await post_form(client, share_path, action, address | {"country": "cn"})
        assert done.status_code == 303 and "address_saved=1" in done.headers["location"]
        page = await client.get(done.headers["location"], headers=HTML)
        assert "Your gift is on its way" in page.text
        no_csrf = await client.post(action, data=address | {"country": "CN"}, headers=HTML)
        assert no_csrf.status_code == 403

        shipments = await ok(await client.get("/api/shipments", headers=shop.keys["shop"]))
        assert len(shipments) == 1 and shipments[0]["address"]["country"] == "CN"
        url = f"/api/shipments/{shipments[0]['id']}/status"
        for body in (
            {"status": "shipped", "carrier": "SF", "tracking_number": "SF123"},
            {"status": "delivered"},
        ):
            await ok(await client.post(url, json=body, headers=shop.keys["shop"]))
            await drain(client)
        reward = await ok(await client.get(f"/api/rewards/{milestone['id']}", headers=shop.keys["marketing"]))
        assert reward["status"] == "fulfilled"
        stock = await ok(await client.get("/api/gift-packs/HOME-CLEAN", headers=shop.keys["marketing"]))
        assert (stock["stock_on_hand"], stock["stock_reserved"]) == (0, 0)

    async def test_out_of_stock_pack_waits_and_is_granted_on_restock(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        pack = {"sku": "VIP", "name": "VIP pack", "value_amount": 30000, "currency": "CNY"}
        await ok(await client.post("/api/gift-packs", json=pack, headers=shop.keys["marketing"]), 201)
        campaign = await shop.campaign(hold_days=0)
        await shop.rule(
            campaign["id"], side="referrer", reward_type="gift_pack", sku="VIP", out_of_stock="wait"
        )
        issued = await shop.code(campaign["id"], "alice", "alice@example.com")
        await shop.order("o-1", "bob", 19900, referral_code=issued["code"])
        for event in ("paid", "closed"):
            await shop.event("o-1", event)
        (reward,) = await shop.rewards(campaign_id=campaign["id"])
        assert reward["status"] == "pending" and reward["is_waiting_for_stock"] is True
        assert reward["reason"] == "waiting for restock of gift pack VIP"

        await ok(
            await client.post(
                "/api/gift-packs/VIP/restock", json={"quantity": 2}, headers=shop.keys["marketing"]
            )
        )
        await drain(client)
        await pass_hold(client, days=0)
        (reward,) = await shop.rewards(campaign_id=campaign["id"])
        assert reward["status"] == "approved" and reward["is_granted"] is True and reward["reason"] is None


class TestLateAttribution:
    async def test_a_retried_attribution_handler_catches_up_with_a_closed_or_refunded_order(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        """The outbox retries a failed handler later: by then the order may be closed, or refunded."""
        from sqlalchemy import delete, select, update

        from campaigns.campaign.models import Campaign
        from campaigns.reward.models import Reward
        from growth.core.events.models import OutboxEvent

        campaign = await shop.campaign(hold_days=0)
        await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=2000)
        issued = await shop.code(campaign["id"], "alice", "alice@example.com")
        for n in (1, 2):
            await shop.order(f"o-{n}", f"friend-{n}", 19900, referral_code=issued["code"])
        for event in ("paid", "closed"):
            for n in (1, 2):
                await shop.event(f"o-{n}", event)
        await shop.event("o-2", "refunded")

        async def redo_attribution() -> None:
            # As if the attribution handler had failed: no rewards yet; then it runs after everything else.
            async with client.app.state.session_maker() as s, s.begin():
                await s.execute(delete(Reward))
                await s.execute(update(Campaign).values(budget_spent=0))
                rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.name == "order.attributed"))
                for row in rows:
                    await reward_service.on_order_attributed(
                        s, DomainEvent(row.id, row.name, row.payload, row.occurred_at)
                    )

        await in_app_loop(client, redo_attribution)
        rewards = {r["order_external_id"]: r for r in await shop.rewards(campaign_id=campaign["id"])}
        assert rewards["o-1"]["status"] == "issued"
        assert (rewards["o-2"]["status"], rewards["o-2"]["reason"]) == ("voided", "order refunded")
        read = await ok(await client.get(f"/api/campaigns/{campaign['id']}", headers=shop.keys["marketing"]))
        assert read["budget_spent"] == 2000  # o-1's; o-2's was reserved, then released


class TestWelcomeCouponExpiry:
    async def test_an_unused_coupon_expires_with_the_window_and_gives_its_budget_back(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign = await shop.campaign(attribution_window_days=7, budget_amount=10_000)
        await shop.rule(campaign["id"], side="referee", reward_type="fixed_discount", amount=1500)
        code = (await shop.code(campaign["id"], "alice", "alice@example.com"))["code"]
        coupon = await shop.welcome(code, "bob", "bob@example.com")
        expires = datetime.fromisoformat(coupon["expires_at"])
        assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
        read = await ok(await client.get(f"/api/campaigns/{campaign['id']}", headers=shop.keys["marketing"]))
        assert read["budget_spent"] == 1500

        assert await pass_hold(client, days=6) == 0
        assert await pass_hold(client, days=8) == 1
        checked = await ok(
            await client.get(f"/api/coupons/{coupon['coupon_code']}", headers=shop.keys["shop"])
        )
        assert checked["status"] == "voided" and checked["is_usable"] is False
        (reward,) = await shop.rewards(campaign_id=campaign["id"])
        assert reward["reason"] == "coupon expired unused"
        read = await ok(await client.get(f"/api/campaigns/{campaign['id']}", headers=shop.keys["marketing"]))
        assert read["budget_spent"] == 0

    async def test_an_order_placed_after_expiry_does_not_use_the_coupon(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        from sqlalchemy import update

        from campaigns.reward.models import Reward

        campaign = await shop.campaign(attribution_window_days=7)
        await shop.rule(campaign["id"], side="referee", reward_type="fixed_discount", amount=1500)
        code = (await shop.code(campaign["id"], "alice", "alice@example.com"))["code"]
        coupon = await shop.welcome(code, "bob", "bob@example.com")

        async def seven_days_pass() -> None:
            async with client.app.state.session_maker() as s, s.begin():
                await s.execute(update(Reward).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))

        await in_app_loop(client, seven_days_pass)
        checked = await ok(
            await client.get(f"/api/coupons/{coupon['coupon_code']}", headers=shop.keys["shop"])
        )
        assert checked["is_usable"] is False
        await shop.order("late-1", "bob", 19900, coupon_code=coupon["coupon_code"])
        (reward,) = await shop.rewards(campaign_id=campaign["id"])
        assert reward["order_external_id"] is None and reward["status"] == "issued"
        assert await pass_hold(client, days=0) == 1
        (reward,) = await shop.rewards(campaign_id=campaign["id"])
        assert (reward["status"], reward["reason"]) == ("voided", "coupon expired unused")


class TestCampaignLanguage:
    async def test_the_campaigns_language_wins_over_the_browsers_and_lang_over_both(
        self, shop: Shop, client: AsyncTestClient[Litestar]
    ) -> None:
        campaign = await shop.campaign(locale="zh_Hans")
        issued = await shop.code(campaign["id"], "alice", "alice@example.com")
        path = "/share/" + issued["share_url"].rsplit("/share/", 1)[1]
        chinese = await client.get(path, headers={"accept-language": "en-US"})
        assert 'lang="zh-Hans"' in chinese.text
        english = await client.get(path, params={"lang": "en"}, headers={"accept-language": "zh-CN"})
        assert 'lang="en"' in english.text
        plain = await shop.campaign(name="No language")
        issued = await shop.code(plain["id"], "bob", "bob@example.com")
        path = "/share/" + issued["share_url"].rsplit("/share/", 1)[1]
        assert 'lang="en"' in (await client.get(path, headers={"accept-language": "en-US"})).text

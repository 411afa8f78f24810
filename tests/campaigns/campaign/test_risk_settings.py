"""A campaign's risk settings: set and read through the API, layered over the program's
(``GROWTH_RISK_SETTINGS``), and followed by the firewall when the campaign's orders arrive."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from growth.app import create_app
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.time import utc_now
from growth.order.models import Order
from growth.risk.models import OrderReview
from growth.settings import Settings
from tests.conftest import BASE_URL
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code
from tests.pages import HTML, sign_in

LANDING = "https://shop.example/spring"
NOW = utc_now().replace(microsecond=0)


@pytest.fixture
async def keys(session: AsyncSession) -> dict[str, dict[str, str]]:
    marketing = await create_key(session, role=Role.marketing)
    shop = await create_key(session, role=Role.shop)
    await session.commit()
    return {"marketing": bearer(marketing), "shop": bearer(shop)}


async def _campaign(
    client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]], **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        "/api/campaigns",
        json={"name": "Spring", "landing_url": LANDING, **fields},
        headers=keys["marketing"],
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


class TestApi:
    async def test_create_keeps_the_overrides_and_shows_the_effective_settings(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        body = await _campaign(client, keys, risk={"disposable_email": "reject", "velocity_max_orders": 3})

        assert body["risk"] == {"disposable_email": "reject", "velocity_max_orders": 3}
        effective = body["risk_effective"]
        assert effective["disposable_email"] == "reject"
        assert effective["velocity_max_orders"] == 3
        assert effective["self_referral_same_address"] == "hold"  # the default, untouched
        assert effective["amount_max_ratio_bps"] == 50_000
        read = await client.get(f"/api/campaigns/{body['id']}", headers=keys["marketing"])
        assert read.json()["risk"] == body["risk"]

    @pytest.mark.parametrize(
        ("risk", "named"),
        [
            ({"velocity_max": 3}, "unknown risk setting 'velocity_max'"),
            ({"disposable_email": "block"}, "'disposable_email' must be one of off, hold, reject"),
            ({"velocity_max_orders": -1}, "'velocity_max_orders' must be at least 0"),
            ({"duplicate_identity_min": 0}, "'duplicate_identity_min' must be at least 1"),
            ({"same_ip_minutes": "30"}, "'same_ip_minutes' must be a whole number"),
            ({"same_ip_minutes": True}, "'same_ip_minutes' must be a whole number"),
        ],
    )
    async def test_a_bad_key_or_value_is_a_400_naming_it_and_nothing_is_saved(
        self,
        client: AsyncTestClient[Litestar],
        keys: dict[str, dict[str, str]],
        session: AsyncSession,
        risk: dict[str, Any],
        named: str,
    ) -> None:
        r = await client.post(
            "/api/campaigns",
            json={"name": "Spring", "landing_url": LANDING, "risk": risk},
            headers=keys["marketing"],
        )

        assert r.status_code == 400, r.text
        assert named in r.json()["error"]["message"]
        assert (await session.scalars(select(Campaign))).all() == []

    async def test_update_replaces_the_overrides_and_a_bad_one_changes_nothing(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        campaign = await _campaign(client, keys, risk={"disposable_email": "off"})
        url = f"/api/campaigns/{campaign['id']}"

        r = await client.patch(url, json={"risk": {"coupon_max_customers": 9}}, headers=keys["marketing"])
        assert r.status_code == 200, r.text
        assert r.json()["risk"] == {"coupon_max_customers": 9}
        assert r.json()["risk_effective"]["disposable_email"] == "hold"

        bad = await client.patch(
            url, json={"risk": {"nope": 1}, "name": "Renamed"}, headers=keys["marketing"]
        )
        assert bad.status_code == 400
        after = (await client.get(url, headers=keys["marketing"])).json()
        assert (after["name"], after["risk"]) == ("Spring", {"coupon_max_customers": 9})

        cleared = await client.patch(url, json={"risk": {}}, headers=keys["marketing"])
        assert cleared.json()["risk"] == {}

    async def test_only_marketing_sets_them(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]]
    ) -> None:
        r = await client.post(
            "/api/campaigns",
            json={"name": "Spring", "landing_url": LANDING, "risk": {"disposable_email": "off"}},
            headers=keys["shop"],
        )
        assert r.status_code == 403

    async def test_the_program_settings_lie_under_the_campaigns(
        self, settings: Settings, keys: dict[str, dict[str, str]]
    ) -> None:
        program = '{"disposable_email": "reject", "velocity_max_orders": 4}'
        app = create_app(settings.with_overrides(risk_settings=program))
        async with AsyncTestClient(app, base_url=BASE_URL) as client:
            body = await _campaign(client, keys, risk={"velocity_max_orders": 7})

        assert body["risk"] == {"velocity_max_orders": 7}
        assert body["risk_effective"]["disposable_email"] == "reject"  # the program's
        assert body["risk_effective"]["velocity_max_orders"] == 7  # the campaign's, over it


async def _review(session_maker: SessionMaker, external_id: str) -> OrderReview:
    async with session_maker() as s:
        review = await s.scalar(
            select(OrderReview)
            .join(Order, Order.id == OrderReview.order_id)
            .where(Order.external_id == external_id)
        )
    assert review is not None
    return review


async def _order(
    client: AsyncTestClient[Litestar], shop: dict[str, str], external_id: str, code: str
) -> None:
    r = await client.post(
        "/api/orders",
        json={
            "external_id": external_id,
            "customer": {"external_id": f"friend-{external_id}", "email": f"{external_id}@mailinator.com"},
            "amount": 10000,
            "currency": "CNY",
            "placed_at": (NOW - timedelta(minutes=5)).isoformat(),
            "referral_code": code,
        },
        headers=shop,
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("program", "campaign", "status"),
    [
        ("", {}, "held"),  # the built-in default
        ("", {"disposable_email": "reject"}, "rejected"),
        ('{"disposable_email": "off"}', {}, "allowed"),
        ('{"disposable_email": "off"}', {"disposable_email": "reject"}, "rejected"),
    ],
)
async def test_attribution_follows_the_campaign_over_the_program(
    settings: Settings,
    session: AsyncSession,
    session_maker: SessionMaker,
    keys: dict[str, dict[str, str]],
    program: str,
    campaign: dict[str, Any],
    status: str,
) -> None:
    spring = await create_campaign(session, name="Spring", risk=campaign)
    referrer = await create_customer(session, external_id="mei", email="mei@example.com")
    code = (await issue_code(session, campaign=spring, customer=referrer)).code
    await session.commit()

    async with AsyncTestClient(
        create_app(settings.with_overrides(risk_settings=program)), base_url=BASE_URL
    ) as c:
        await _order(c, keys["shop"], "o-1", code)

    assert (await _review(session_maker, "o-1")).status == status


async def test_the_campaign_page_shows_the_rules_it_runs_with(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    campaign = await create_campaign(
        session, name="Spring", risk={"disposable_email": "off", "same_ip_minutes": 10}
    )
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303

    page = await client.get(f"/marketing/campaigns/{campaign.id}", headers=HTML)
    zh = await client.get(f"/marketing/campaigns/{campaign.id}", headers=HTML | {"accept-language": "zh-CN"})

    assert page.status_code == 200
    html = " ".join(page.text.split())
    assert (
        'id="risk-disposable_email"><td><code>disposable_email</code></td><td>Off</td><td>This campaign</td>'
        in html
    )
    assert (
        'id="risk-self_referral_same_email"><td><code>self_referral_same_email</code></td><td>Reject' in html
    )
    assert "<dd>10 (This campaign)</dd>" in html and "<dd>50000</dd>" in html
    assert "风险规则" in zh.text and "暂扣待审" in zh.text

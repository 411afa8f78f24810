"""Marketing's campaign pages: forms with CSRF tokens, exact amounts, local times, status buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignStatus
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.settings import Settings
from tests.factories import bearer, create_campaign, create_key
from tests.pages import HTML, csrf_token, post_form, sign_in

PAGES = "/marketing/campaigns"
FORM = {
    "name": "Spring friends",
    "kind": "referral",
    "currency": "CNY",
    "landing_url": "https://shop.example/spring?utm_source=ref",
    "hashtag": "春日好物",
    "attribution_window_days": "30",
    "attribution_model": "last_click",
    "new_customers_only": "on",
    "starts_at": "2026-12-01T09:30",
    "ends_at": "2027-01-01T00:00",
    "hold_days": "14",
    "min_order_amount": "12.34",
    "budget_amount": "5000",
    "per_referrer_cap": "",
    "locale": "zh_Hans",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The program runs in Shanghai time: forms are read and shown in it."""
    return settings.with_overrides(timezone="Asia/Shanghai", default_currency="CNY")


@pytest.fixture
async def marketing(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The client, signed in with a marketing key."""
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    yield client


async def _campaigns(session_maker: SessionMaker) -> list[Campaign]:
    async with session_maker() as fresh:
        return list(await fresh.scalars(select(Campaign).order_by(Campaign.created_at)))


async def _campaign(session_maker: SessionMaker, campaign_id: UUID | str) -> Campaign:
    async with session_maker() as fresh:
        campaign = await fresh.get(Campaign, UUID(str(campaign_id)))
        assert campaign is not None
        return campaign


async def _stored(session: AsyncSession, **fields: Any) -> Campaign:
    campaign = await create_campaign(session, **fields)
    await session.commit()
    return campaign


async def _create(client: AsyncTestClient[Litestar], **changes: str) -> Any:
    return await post_form(client, f"{PAGES}/new", PAGES, FORM | changes)


class TestSignInRequired:
    @pytest.mark.parametrize("path", [PAGES, f"{PAGES}/new", f"{PAGES}/00000000-0000-0000-0000-000000000000"])
    async def test_pages_redirect_to_sign_in(self, client: AsyncTestClient[Litestar], path: str) -> None:
        response = await client.get(path, headers=HTML, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=%2Fmarketing%2Fcampaigns")

    async def test_partner_key_cannot_use_a_marketing_session(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.partner)
        await session.commit()
        await sign_in(client, key)

        response = await client.get(PAGES, headers=HTML, follow_redirects=False)

        assert response.status_code == 303


class TestCreate:
    async def test_form_creates_a_draft_with_exact_amounts_and_utc_times(
        self, marketing: AsyncTestClient[Litestar], session_maker: SessionMaker
    ) -> None:
        response = await _create(marketing)

        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith(f"{PAGES}/") and location.endswith("?notice=created")
        [campaign] = await _campaigns(session_maker)
        assert str(campaign.id) in location
        assert (campaign.name, campaign.status, campaign.kind, campaign.currency) == (
            "Spring friends",
            "draft",
            "referral",
            "CNY",
        )
        assert campaign.min_order_amount == 1234
        assert campaign.budget_amount == 500_000
        assert campaign.hashtag == "#春日好物"
        assert campaign.new_customers_only is True
        assert campaign.per_referrer_cap is None
        assert campaign.locale == "zh_Hans"
        # 09:30 in Shanghai (UTC+8) is 01:30 UTC; midnight on New Year's Day is 16:00 the day before.
        assert campaign.starts_at == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
        assert campaign.ends_at == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)

        page = await marketing.get(location, headers=HTML)
        assert page.status_code == 200
        assert "Campaign created as a draft" in page.text
        assert 'value="2026-12-01T09:30"' in page.text  # shown again in Shanghai time
        assert 'value="12.34"' in page.text and 'value="5000.00"' in page.text

    async def test_jpy_amounts_have_no_decimals(
        self, marketing: AsyncTestClient[Litestar], session_maker: SessionMaker
    ) -> None:
        response = await _create(marketing, currency="JPY", min_order_amount="1200", budget_amount="300000")

        assert response.status_code == 303
        [campaign] = await _campaigns(session_maker)
        assert (campaign.currency, campaign.min_order_amount, campaign.budget_amount) == (
            "JPY",
            1200,
            300_000,
        )

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"min_order_amount": "12.345"}, "min_order_amount", "CNY amounts have at most 2 digits"),
            (
                {"currency": "JPY", "budget_amount": "10.5"},
                "budget_amount",
                "JPY amounts have at most 0 digits",
            ),
            ({"budget_amount": "-5"}, "budget_amount", "Enter an amount in CNY, like 1200.00."),
            ({"budget_amount": "1e3"}, "budget_amount", "Enter an amount in CNY"),
            ({"budget_amount": "20,00"}, "budget_amount", "Enter an amount in CNY"),
            ({"budget_amount": "99999999999"}, "budget_amount", "This amount is too large."),
            ({"landing_url": "javascript:alert(1)"}, "landing_url", "starting with http:// or https://"),
            ({"landing_url": "shop.example/spring"}, "landing_url", "starting with http:// or https://"),
            ({"name": "   "}, "name", "Enter a name."),
            ({"hashtag": "#no spaces"}, "hashtag", "A hashtag is # followed by"),
            ({"attribution_window_days": "0"}, "attribution_window_days", "from 1 to 365"),
            ({"hold_days": "two"}, "hold_days", "from 0 to 365"),
            ({"per_referrer_cap": "0"}, "per_referrer_cap", "from 1 to 1,000,000"),
            ({"starts_at": "tomorrow"}, "starts_at", "Enter a date and time."),
            ({"ends_at": "2026-12-01T09:00"}, "ends_at", "The end must be after the start."),
            ({"currency": "XXY"}, "currency", "ISO 4217 currency code"),
            ({"kind": "pyramid"}, "kind", "Choose one of the options."),
            ({"locale": "fr"}, "locale", "Choose one of the options."),
        ],
    )
    async def test_invalid_fields_show_the_form_again(
        self,
        marketing: AsyncTestClient[Litestar],
        session_maker: SessionMaker,
        changes: dict[str, str],
        field: str,
        message: str,
    ) -> None:
        response = await _create(marketing, **changes)

        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert 'class="error"' in response.text and "Some fields need attention" in response.text
        assert f'id="{field}-problem"' in response.text
        assert message in response.text
        assert 'value="Spring friends"' in response.text or field == "name"  # what was typed stays
        assert csrf_token(response.text)
        assert await _campaigns(session_maker) == []

    async def test_typed_values_are_kept_and_escaped(self, marketing: AsyncTestClient[Litestar]) -> None:
        response = await _create(marketing, landing_url="not a url", name='<b>"Big" sale</b>')

        assert response.status_code == 422
        assert 'value="not a url"' in response.text
        assert "&lt;b&gt;&#34;Big&#34; sale&lt;/b&gt;" in response.text
        assert "<b>" not in response.text

    async def test_empty_budget_is_unlimited(
        self, marketing: AsyncTestClient[Litestar], session_maker: SessionMaker
    ) -> None:
        response = await _create(marketing, budget_amount="", new_customers_only="", starts_at="", ends_at="")

        assert response.status_code == 303
        [campaign] = await _campaigns(session_maker)
        assert campaign.budget_amount is None
        assert campaign.new_customers_only is False  # an unticked checkbox is not sent
        assert campaign.starts_at is None and campaign.ends_at is None


class TestCsrf:
    async def test_post_without_token_is_refused(
        self, marketing: AsyncTestClient[Litestar], session_maker: SessionMaker
    ) -> None:
        response = await marketing.post(PAGES, data=FORM, headers=HTML, follow_redirects=False)

        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "This request was refused" in response.text
        assert await _campaigns(session_maker) == []

    @pytest.mark.parametrize(
        "token",
        ["forged", "0" * 64 + "f" * 64, "x" * 200],
    )
    async def test_forged_token_is_refused(
        self, marketing: AsyncTestClient[Litestar], session_maker: SessionMaker, token: str
    ) -> None:
        response = await marketing.post(
            PAGES, data=FORM | {"_csrf_token": token}, headers=HTML, follow_redirects=False
        )

        assert response.status_code == 403
        assert await _campaigns(session_maker) == []

    async def test_token_without_the_cookie_is_refused(
        self, marketing: AsyncTestClient[Litestar], session_maker: SessionMaker
    ) -> None:
        page = await marketing.get(f"{PAGES}/new", headers=HTML)
        marketing.cookies.delete("growth_csrf")

        response = await marketing.post(
            PAGES, data=FORM | {"_csrf_token": csrf_token(page.text)}, headers=HTML, follow_redirects=False
        )

        assert response.status_code == 403
        assert await _campaigns(session_maker) == []

    async def test_json_api_needs_no_csrf_token(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.marketing)
        await session.commit()

        created = await client.post(
            "/api/campaigns", json={"name": "API", "landing_url": "https://shop.example"}, headers=bearer(key)
        )
        changed = await client.patch(
            f"/api/campaigns/{created.json()['id']}", json={"status": "active"}, headers=bearer(key)
        )

        assert created.status_code == 201 and changed.status_code == 200
        assert "growth_csrf" not in created.headers.get("set-cookie", "")


class TestEdit:
    async def test_edit_form_saves_every_field(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await _stored(session, status=CampaignStatus.active, currency="USD")
        page = f"{PAGES}/{campaign.id}"

        response = await post_form(
            marketing,
            page,
            page,
            FORM
            | {
                "name": "Renamed",
                "kind": "partner",  # fixed once created: ignored
                "currency": "EUR",  # fixed once created: ignored
                "hashtag": "",
                "attribution_window_days": "7",
                "attribution_model": "first_click",
                "new_customers_only": "",
                "hold_days": "0",
                "min_order_amount": "0.5",
                "budget_amount": "",
                "per_referrer_cap": "3",
                "locale": "",
                "starts_at": "2026-06-01T08:00:30",
            },
        )

        assert response.status_code == 303
        assert response.headers["location"] == f"{page}?notice=saved"
        saved = await _campaign(session_maker, campaign.id)
        assert (saved.name, saved.kind, saved.currency, saved.status) == (
            "Renamed",
            "referral",
            "USD",
            "active",
        )
        assert saved.hashtag is None and saved.locale is None
        assert (saved.attribution_window_days, saved.attribution_model) == (7, "first_click")
        assert (saved.new_customers_only, saved.hold_days, saved.per_referrer_cap) == (False, 0, 3)
        assert (saved.min_order_amount, saved.budget_amount) == (50, None)
        assert saved.starts_at == datetime(2026, 6, 1, 0, 0, 30, tzinfo=UTC)
        shown = await marketing.get(response.headers["location"], headers=HTML)
        assert "Changes saved." in shown.text
        assert 'value="2026-06-01T08:00:30"' in shown.text and 'step="1"' in shown.text
        assert 'value="0.50"' in shown.text

    async def test_invalid_landing_url_shows_the_form_with_the_values(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await _stored(session, name="Before", status=CampaignStatus.active)
        page = f"{PAGES}/{campaign.id}"

        response = await post_form(
            marketing, page, page, FORM | {"name": "After", "landing_url": "ftp://shop.example/file"}
        )

        assert response.status_code == 422
        assert 'value="After"' in response.text and 'value="ftp://shop.example/file"' in response.text
        assert 'id="landing_url-problem"' in response.text
        assert 'aria-invalid="true"' in response.text
        assert "Before" in response.text  # the page title is the stored campaign
        saved = await _campaign(session_maker, campaign.id)
        assert (saved.name, saved.landing_url) == ("Before", campaign.landing_url)

    async def test_amounts_are_read_in_the_campaign_currency(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await _stored(session, currency="JPY")
        page = f"{PAGES}/{campaign.id}"

        refused = await post_form(marketing, page, page, FORM | {"min_order_amount": "12.34"})
        accepted = await post_form(marketing, page, page, FORM | {"min_order_amount": "1200"})

        assert refused.status_code == 422 and "JPY amounts have at most 0 digits" in refused.text
        assert accepted.status_code == 303
        assert (await _campaign(session_maker, campaign.id)).min_order_amount == 1200

    async def test_unknown_campaign_is_a_404_page(self, marketing: AsyncTestClient[Litestar]) -> None:
        response = await marketing.get(f"{PAGES}/00000000-0000-0000-0000-000000000000", headers=HTML)

        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


class TestStatusButtons:
    async def test_activate_pause_resume_end(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await _stored(session, status=CampaignStatus.draft)
        page = f"{PAGES}/{campaign.id}"
        seen: list[tuple[str, str]] = []

        for target, button in [
            ("active", "activate"),
            ("paused", "pause"),
            ("active", "resume"),
            ("ended", "end"),
        ]:
            before = await marketing.get(page, headers=HTML)
            assert f'id="{button}"' in before.text
            response = await post_form(marketing, page, f"{page}/status", {"status": target})
            seen.append((response.headers["location"], (await _campaign(session_maker, campaign.id)).status))

        assert seen == [
            (f"{page}?notice=active", "active"),
            (f"{page}?notice=paused", "paused"),
            (f"{page}?notice=active", "active"),
            (f"{page}?notice=ended", "ended"),
        ]
        ended = await marketing.get(f"{page}?notice=ended", headers=HTML)
        assert "The campaign has ended." in ended.text
        assert 'id="activate"' not in ended.text and 'id="end"' not in ended.text

    async def test_illegal_move_is_a_409_page_and_changes_nothing(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await _stored(session, status=CampaignStatus.ended)
        page = f"{PAGES}/{campaign.id}"

        response = await post_form(marketing, page, f"{page}/status", {"status": "active"})

        assert response.status_code == 409
        assert 'id="page-error"' in response.text
        assert "This campaign is Ended; it cannot become Active." in response.text
        assert (await _campaign(session_maker, campaign.id)).status == "ended"

    async def test_unknown_status_is_a_400(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await _stored(session)
        page = f"{PAGES}/{campaign.id}"

        response = await post_form(marketing, page, f"{page}/status", {"status": "deleted"})

        assert response.status_code == 400


class TestList:
    async def test_lists_with_money_dates_codes_and_status_filter(
        self, marketing: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        await _stored(
            session,
            name="Budgeted",
            status=CampaignStatus.active,
            budget_amount=500_000,
            starts_at=datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
        )
        await _stored(session, name="Quiet draft", status=CampaignStatus.draft, currency="JPY")

        everything = await marketing.get(PAGES, headers=HTML)
        active = await marketing.get(f"{PAGES}?status=active", headers=HTML)

        assert everything.status_code == 200
        assert "Budgeted" in everything.text and "Quiet draft" in everything.text
        assert "CN¥0.00 / CN¥5,000.00" in everything.text
        assert "¥0 / unlimited" in everything.text
        assert "12/1/26, 9:30" in everything.text  # 01:30 UTC, shown in Shanghai time
        assert "Budgeted" in active.text and "Quiet draft" not in active.text
        assert (await marketing.get(f"{PAGES}?status=bogus", headers=HTML)).status_code == 400

    async def test_in_chinese(self, marketing: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        campaign = await _stored(session, name="春季活动", status=CampaignStatus.active, budget_amount=1234)
        zh = HTML | {"accept-language": "zh-CN,zh;q=0.9"}

        listing = await marketing.get(PAGES, headers=zh)
        detail = await marketing.get(f"{PAGES}/{campaign.id}", headers=zh)

        assert '<html lang="zh-Hans">' in listing.text
        for label in ("推广活动", "新建活动", "进行中", "已发放推荐码", "¥0.00 / ¥12.34", "退出登录"):
            assert label in listing.text, label
        for label in ("暂停", "结束", "保存更改", "着陆页"):
            assert label in detail.text, label

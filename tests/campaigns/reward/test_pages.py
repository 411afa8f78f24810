"""The campaign page's reward-rule forms (add, retire) and the partials that show rules and stock warnings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward import forms
from campaigns.reward import service as reward_service
from campaigns.reward.errors import InvalidRewardRule
from campaigns.reward.models import RewardRule
from campaigns.reward.rules import OutOfStock, RewardType, RuleSpec, Side
from campaigns.reward.service import StockWarning
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.i18n import negotiate_locale
from growth.core.money import Money
from growth.settings import Settings
from tests.factories import create_campaign, create_key
from tests.pages import HTML, post_form, sign_in

Client = AsyncTestClient[Litestar]
ZH = negotiate_locale("zh-CN,zh;q=0.9")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(timezone="Asia/Shanghai", default_currency="CNY")


@pytest.fixture
async def campaign(session: AsyncSession) -> Campaign:
    """A committed referral campaign in CNY with a ¥5,000.00 budget."""
    campaign = await create_campaign(session, budget_amount=500_000)
    await session.commit()
    return campaign


def rules_path(campaign_id: UUID) -> str:
    return f"/marketing/campaigns/{campaign_id}/reward-rules"


async def add(client: Client, campaign_id: UUID, **fields: str) -> Any:
    page = f"/marketing/campaigns/{campaign_id}"
    return await post_form(client, page, rules_path(campaign_id), fields)


async def rules_of(session_maker: SessionMaker, campaign_id: UUID) -> list[RewardRule]:
    async with session_maker() as fresh:
        return await reward_service.list_rules(fresh, campaign_id)


def outcome(response: Any, campaign_id: UUID) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert (location.path, location.fragment) == (f"/marketing/campaigns/{campaign_id}", "reward-rules")
    return parse_qs(location.query)


class TestAccess:
    async def test_signed_out_is_sent_to_sign_in(self, client: Client, campaign: Campaign) -> None:
        response = await post_form(client, "/sign-in", rules_path(campaign.id), {})

        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=%2Fdashboard"

    async def test_finance_may_not_add_rules(
        self, client: Client, session: AsyncSession, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        key = await create_key(session, role=Role.finance)
        await session.commit()
        await sign_in(client, key)

        response = await post_form(
            client,
            "/sign-in",
            rules_path(campaign.id),
            {"side": "referrer", "reward_type": "cash", "amount": "5"},
        )

        assert response.status_code == 403
        assert await rules_of(session_maker, campaign.id) == []

    async def test_csrf_token_is_required(
        self, marketing: Client, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        response = await marketing.post(
            rules_path(campaign.id),
            data={"side": "referrer", "reward_type": "cash", "amount": "5"},
            headers=HTML,
            follow_redirects=False,
        )

        assert response.status_code == 403
        assert await rules_of(session_maker, campaign.id) == []


class TestAddRule:
    async def test_store_credit_in_major_units(
        self, marketing: Client, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        response = await add(
            marketing, campaign.id, side="referrer", reward_type="store_credit", amount="20.00"
        )

        assert outcome(response, campaign.id) == {"notice": ["rule_added"]}
        [rule] = await rules_of(session_maker, campaign.id)
        assert (rule.side, rule.reward_type, rule.amount, rule.rate_bps, rule.is_active) == (
            "referrer",
            "store_credit",
            2000,
            None,
            True,
        )

    async def test_percent_discount_rate_is_exact(
        self, marketing: Client, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        response = await add(
            marketing,
            campaign.id,
            side="referee",
            reward_type="percent_discount",
            rate_percent="12.5",
            max_amount="30",
            out_of_stock="wait",
        )

        assert outcome(response, campaign.id) == {"notice": ["rule_added"]}
        [rule] = await rules_of(session_maker, campaign.id)
        assert (rule.rate_bps, rule.max_amount, rule.amount) == (1250, 3000, None)

    async def test_gift_pack_with_store_credit_alternative(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        await gift_pack_service.create_pack(
            session, sku="HOME-CLEAN", name="Home-cleaning gift pack", value_amount=8800, currency="CNY"
        )
        await session.commit()

        response = await add(
            marketing,
            campaign.id,
            side="milestone",
            reward_type="gift_pack",
            sku="HOME-CLEAN",
            threshold="5",
            out_of_stock="store_credit",
            alternative_amount="200",
        )

        assert outcome(response, campaign.id) == {"notice": ["rule_added"]}
        [rule] = await rules_of(session_maker, campaign.id)
        assert (rule.sku, rule.threshold, rule.out_of_stock, rule.alternative_amount) == (
            "HOME-CLEAN",
            5,
            "store_credit",
            20000,
        )

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            (
                {"side": "referrer", "reward_type": "percent_discount", "amount": "5"},
                "a percent discount needs rate_bps between 1 and 10000",
            ),
            (
                {"side": "referrer", "reward_type": "cash", "amount": "5.001"},
                "amount: CNY amounts have at most 2",
            ),
            ({"side": "referrer", "reward_type": "cash", "amount": "1e3"}, "amount: Enter an amount in CNY"),
            (
                {"side": "referee", "reward_type": "percent_discount", "rate_percent": "12.345"},
                "rate_percent: A percentage has at most 2 digits",
            ),
            (
                {"side": "referee", "reward_type": "percent_discount", "rate_percent": "150"},
                "rate_percent: Enter a percentage from 0.01 to 100",
            ),
            (
                {"side": "referee", "reward_type": "percent_discount", "rate_percent": "10"},
                "a percent discount needs max_amount when the campaign has a budget",
            ),
            (
                {"side": "share", "reward_type": "free_sample", "sku": "X"},
                "share rewards belong to social_share",
            ),
            ({"side": "friend", "reward_type": "cash", "amount": "5"}, "side: choose one of"),
            ({"side": "referrer", "reward_type": "gift_pack", "sku": "NOPE"}, "gift pack 'NOPE' not found"),
        ],
    )
    async def test_a_bad_rule_is_refused_with_its_reason(
        self,
        marketing: Client,
        session_maker: SessionMaker,
        campaign: Campaign,
        fields: dict[str, str],
        message: str,
    ) -> None:
        response = await add(marketing, campaign.id, **fields)

        query = outcome(response, campaign.id)
        assert query["error"][0] in ("invalid_reward_rule", "gift_pack_not_found")
        assert message in query["error_message"][0]
        assert await rules_of(session_maker, campaign.id) == []

    async def test_unknown_campaign(self, marketing: Client) -> None:
        missing = uuid4()

        response = await post_form(
            marketing,
            "/marketing/gift-packs",
            rules_path(missing),
            {"side": "referrer", "reward_type": "cash"},
        )

        assert outcome(response, missing)["error"] == ["campaign_not_found"]


class TestRetire:
    async def test_retire(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        rule = await reward_service.add_rule(
            session, campaign.id, RuleSpec(side=Side.referrer, reward_type=RewardType.cash, amount=500)
        )
        await session.commit()

        response = await post_form(
            marketing,
            f"/marketing/campaigns/{campaign.id}",
            f"{rules_path(campaign.id)}/{rule.id}/retire",
            {},
        )

        assert outcome(response, campaign.id) == {"notice": ["rule_retired"]}
        [retired] = await rules_of(session_maker, campaign.id)
        assert retired.is_active is False

    async def test_a_rule_of_another_campaign_is_not_retired(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker, campaign: Campaign
    ) -> None:
        other = await create_campaign(session)
        rule = await reward_service.add_rule(
            session, other.id, RuleSpec(side=Side.referrer, reward_type=RewardType.cash, amount=500)
        )
        await session.commit()

        response = await post_form(
            marketing,
            f"/marketing/campaigns/{campaign.id}",
            f"{rules_path(campaign.id)}/{rule.id}/retire",
            {},
        )

        assert outcome(response, campaign.id)["error"] == ["reward_rule_not_found"]
        [kept] = await rules_of(session_maker, other.id)
        assert kept.is_active is True


def render(app: Litestar, name: str, **context: Any) -> str:
    """A partial rendered by the app's own Jinja environment (its filters and translations)."""
    assert app.template_engine is not None
    template = app.template_engine.get_template(f"campaigns/reward/{name}.html.j2")
    return template.render(
        timezone="Asia/Shanghai", csrf_input='<input type="hidden" name="_csrf_token">', **context
    )


def warning(**changes: Any) -> forms.StockWarningView:
    fields: dict[str, Any] = {
        "rule_id": uuid4(),
        "sku": "HOME-CLEAN",
        "pack_name": "Home-cleaning gift pack",
        "available": 0,
        "is_out_of_stock": True,
        "waiting": 3,
        "out_of_stock": OutOfStock.store_credit,
        "alternative_sku": None,
        "alternative_amount": 20000,
        "currency": "CNY",
    }
    [view] = forms.stock_warning_views([StockWarning(**(fields | changes))])
    return view


class TestStockWarningsPartial:
    @pytest.mark.parametrize(
        ("changes", "meanwhile"),
        [
            ({}, "Meanwhile this rule gives:\n      store credit ¥200.00"),
            ({"out_of_stock": OutOfStock.gift_pack, "alternative_sku": "VIP-2"}, "the pack VIP-2"),
            (
                {"out_of_stock": OutOfStock.wait, "alternative_amount": None},
                "nothing yet: rewards wait for a restock",
            ),
            ({"out_of_stock": OutOfStock.none, "alternative_amount": None}, "gives:\n      nothing"),
        ],
    )
    async def test_out_of_stock_is_a_red_alert_with_what_the_rule_gives(
        self, app: Litestar, changes: dict[str, Any], meanwhile: str
    ) -> None:
        html = render(app, "_stock_warnings", locale="en", stock_warnings=[warning(**changes)])

        assert '<div class="stock-alert out" id="stock-warning-HOME-CLEAN" role="alert">' in html
        assert (
            "Gift pack HOME-CLEAN (Home-cleaning gift pack) is out of stock: "
            "3 rewards are waiting for a restock." in html
        )
        assert meanwhile in html.replace("CN¥", "¥")
        assert 'href="/marketing/gift-packs#pack-HOME-CLEAN"' in html

    async def test_low_stock_is_amber(self, app: Litestar) -> None:
        low = warning(available=2, is_out_of_stock=False, waiting=0, sku="VIP-2", pack_name="VIP")

        html = render(app, "_stock_warnings", locale="en", stock_warnings=[low])

        assert '<div class="stock-alert low" id="stock-warning-VIP-2" role="status">' in html
        assert "Gift pack VIP-2 (VIP) is running low: 2 left." in html
        assert "If it runs out, this rule gives:" in html and "waiting" not in html

    async def test_nothing_to_warn_about(self, app: Litestar) -> None:
        assert render(app, "_stock_warnings", locale="en", stock_warnings=[]).strip() == ""

    async def test_one_waiting_reward_and_escaping(self, app: Litestar) -> None:
        html = render(
            app, "_stock_warnings", locale="en", stock_warnings=[warning(waiting=1, pack_name="<b>Tea</b>")]
        )

        assert "(&lt;b&gt;Tea&lt;/b&gt;) is out of stock: 1 reward is waiting for a restock." in html

    async def test_in_chinese(self, app: Litestar) -> None:
        html = render(app, "_stock_warnings", locale=ZH, stock_warnings=[warning()])

        assert "礼包 HOME-CLEAN（Home-cleaning gift pack）已缺货：3 份奖励正在等待补货。" in html
        assert "缺货期间此规则发放：" in html and "店铺余额 ¥200.00" in html

    async def test_renders_what_the_service_finds(
        self, app: Litestar, session: AsyncSession, campaign: Campaign
    ) -> None:
        await gift_pack_service.create_pack(
            session, sku="HOME-CLEAN", name="Home-cleaning gift pack", value_amount=8800, currency="CNY"
        )
        await gift_pack_service.create_pack(
            session, sku="VIP-2", name="VIP", value_amount=100, currency="CNY"
        )
        spec = RuleSpec(
            side=Side.referrer,
            reward_type=RewardType.gift_pack,
            sku="HOME-CLEAN",
            out_of_stock=OutOfStock.gift_pack,
            alternative_sku="VIP-2",
        )
        await reward_service.add_rule(session, campaign.id, spec)

        warnings = forms.stock_warning_views(await reward_service.stock_warnings(session, campaign.id))
        html = render(app, "_stock_warnings", locale="en", stock_warnings=warnings)

        assert "Gift pack HOME-CLEAN (Home-cleaning gift pack) is out of stock." in html
        assert "the pack VIP-2" in html


class TestRulesPartial:
    async def test_lists_rules_with_values_and_forms(
        self, app: Litestar, session: AsyncSession, campaign: Campaign
    ) -> None:
        await gift_pack_service.create_pack(
            session, sku="HOME-CLEAN", name="Home", value_amount=8800, currency="CNY"
        )
        specs = [
            RuleSpec(
                side=Side.referee, reward_type=RewardType.percent_discount, rate_bps=1250, max_amount=3000
            ),
            RuleSpec(side=Side.referrer, reward_type=RewardType.store_credit, amount=2000),
            RuleSpec(
                side=Side.milestone,
                reward_type=RewardType.gift_pack,
                sku="HOME-CLEAN",
                threshold=5,
                out_of_stock=OutOfStock.store_credit,
                alternative_amount=20000,
            ),
        ]
        added = [await reward_service.add_rule(session, campaign.id, spec) for spec in specs]
        await reward_service.retire_rule(session, campaign.id, added[1].id)

        views = forms.rule_views(await reward_service.list_rules(session, campaign.id), campaign.currency)
        html = render(app, "_rules", locale="en", rules=views, campaign=campaign)

        assert "12.5% · at most CN¥30.00" in html and "CN¥20.00" in html and "Pack HOME-CLEAN" in html
        assert "Store credit instead: CN¥200.00" in html
        assert html.count('class="badge active"') == 2 and html.count('class="badge ended"') == 1
        assert f'action="/marketing/campaigns/{campaign.id}/reward-rules/{added[0].id}/retire"' in html
        assert f"/reward-rules/{added[1].id}/retire" not in html  # retired: no button
        assert (
            f'action="/marketing/campaigns/{campaign.id}/reward-rules" class="fields" id="add-rule"' in html
        )
        for name in ("side", "reward_type", "amount", "rate_percent", "max_amount", "sku", "threshold"):
            assert f'name="{name}"' in html, name
        for name in ("out_of_stock", "alternative_sku", "alternative_amount"):
            assert f'name="{name}"' in html, name
        assert html.count('name="_csrf_token"') == 3  # two Retire buttons and the add form

    async def test_notice_and_error(self, app: Litestar, campaign: Campaign) -> None:
        added = render(app, "_rules", locale="en", rules=[], campaign=campaign, notice="rule_added")
        refused = render(
            app,
            "_rules",
            locale="en",
            rules=[],
            campaign=campaign,
            rule_error={"code": "invalid_reward_rule", "message": "<i>bad</i>"},
        )

        assert "Reward rule added." in added and "This campaign gives no rewards yet." in added
        assert (
            'id="rule-error"' in refused
            and "The reward rule was not saved: &lt;i&gt;bad&lt;/i&gt;" in refused
        )

    async def test_in_chinese(self, app: Litestar, campaign: Campaign) -> None:
        rule = forms.RuleView(
            id=uuid4(),
            campaign_id=campaign.id,
            side="referrer",
            reward_type="store_credit",
            amount=Money(2000, "CNY"),
            rate_bps=None,
            rate_percent=None,
            max_amount=None,
            sku=None,
            threshold=None,
            out_of_stock="wait",
            alternative_sku=None,
            alternative_amount=None,
            is_active=True,
        )

        html = render(app, "_rules", locale=ZH, rules=[rule], campaign=campaign, notice="rule_added")

        for label in (
            "奖励规则",
            "推荐人",
            "店铺余额",
            "¥20.00",
            "停用",
            "添加奖励规则",
            "缺货时",
            "已添加奖励规则",
        ):
            assert label in html, label


class TestParseRule:
    @pytest.mark.parametrize(
        ("percent", "bps"), [("12.5", 1250), ("10", 1000), ("0.01", 1), ("100", 10_000), ("7.25", 725)]
    )
    def test_percent_to_basis_points_exactly(self, percent: str, bps: int) -> None:
        form = forms.RuleForm(side="referee", reward_type="percent_discount", rate_percent=percent)

        assert forms.parse_rule(form, currency="CNY").rate_bps == bps
        assert forms.percent_text(bps) == str(percent)

    @pytest.mark.parametrize(("currency", "typed", "minor"), [("CNY", "20", 2000), ("JPY", "1200", 1200)])
    def test_amounts_in_the_campaign_currency(self, currency: str, typed: str, minor: int) -> None:
        form = forms.RuleForm(side="referrer", reward_type="cash", amount=typed)

        assert forms.parse_rule(form, currency=currency).amount == minor

    @pytest.mark.parametrize(
        "changes",
        [{"amount": "0"}, {"amount": "12.5", "reward_type": "cash"}, {"threshold": "0"}, {"sku": "a b"}],
    )
    def test_refused(self, changes: dict[str, str]) -> None:
        form = forms.RuleForm(**({"side": "referrer", "reward_type": "cash", "amount": "1"} | changes))

        with pytest.raises(InvalidRewardRule):
            forms.parse_rule(form, currency="JPY")


class TestCampaignPageShowsRulesAndStock:
    async def test_rules_warnings_and_rule_errors_on_the_campaign_page(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        await gift_pack_service.create_pack(
            session, sku="VIP-PACK", name="VIP gift pack", value_amount=30000, currency="CNY", stock_on_hand=0
        )
        campaign = await create_campaign(session)
        await reward_service.add_rule(
            session,
            campaign.id,
            RuleSpec(
                Side.milestone,
                RewardType.gift_pack,
                sku="VIP-PACK",
                threshold=10,
                out_of_stock=OutOfStock.store_credit,
                alternative_amount=20000,
            ),
        )
        key = await create_key(session, role=Role.marketing)
        await session.commit()
        await sign_in(client, key)
        page = f"/marketing/campaigns/{campaign.id}"

        html = (await client.get(page, headers=HTML)).text
        assert 'id="stock-warning-VIP-PACK"' in html and "stock-alert out" in html
        assert "VIP gift pack" in html and "¥200.00" in html
        assert 'id="reward-rules"' in html and "VIP-PACK" in html

        refused = await post_form(
            client,
            page,
            f"{page}/reward-rules",
            {"side": "referrer", "reward_type": "store_credit", "amount": ""},
        )
        assert refused.status_code == 303 and "error=" in refused.headers["location"]
        html = (await client.get(refused.headers["location"], headers=HTML)).text
        assert 'id="rule-error"' in html
        added = await post_form(
            client,
            page,
            f"{page}/reward-rules",
            {"side": "referrer", "reward_type": "store_credit", "amount": "20.00"},
        )
        assert added.status_code == 303 and "notice=rule_added" in added.headers["location"]
        html = (await client.get(added.headers["location"], headers=HTML)).text
        assert 'id="rule-notice"' in html and "¥20.00" in html

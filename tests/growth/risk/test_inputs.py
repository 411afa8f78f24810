"""The firewall's inputs from outside ``growth/risk``: the program's settings (checked at start-up),
the disposable-domain file, the estimate of what an order would grant (``reward_above_margin``),
and the README's table of rules, kept true to ``growth/risk/rules.py``."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.reward import service as reward_service
from campaigns.reward.rules import RewardType, RuleSpec, Side
from growth.app import check_settings, create_app
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.time import utc_now
from growth.order.models import Order
from growth.referral_code.models import ReferralCode
from growth.risk.models import OrderReview
from growth.risk.rules import Action, Rule, Thresholds
from growth.settings import Settings, load_settings
from payouts.commission import service as commission_service
from payouts.commission.rules import PlanKind, PlanSpec
from payouts.partner import service as partner_service
from tests.conftest import BASE_URL
from tests.factories import bearer, create_campaign, create_customer, create_key, create_partner, issue_code

NOW = utc_now().replace(microsecond=0)
README = Path(__file__).resolve().parents[3] / "README.md"


class TestSettings:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"risk_settings": "{nope"}, "invalid setting: GROWTH_RISK_SETTINGS is not JSON"),
            ({"risk_settings": "[1]"}, "GROWTH_RISK_SETTINGS: risk settings must be an object"),
            (
                {"risk_settings": '{"velocity_max": 3}'},
                "GROWTH_RISK_SETTINGS: unknown risk setting 'velocity_max'",
            ),
            (
                {"risk_settings": '{"disposable_email": "block"}'},
                "'disposable_email' must be one of off, hold, reject; got 'block'",
            ),
            ({"risk_settings": '{"velocity_window_hours": 0}'}, "'velocity_window_hours' must be at least 1"),
            ({"disposable_domains_file": "/nonexistent/domains.txt"}, "GROWTH_DISPOSABLE_DOMAINS_FILE:"),
        ],
    )
    def test_a_bad_setting_stops_the_start(
        self, settings: Settings, changes: dict[str, str], message: str
    ) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_settings(settings.with_overrides(**changes))
        with pytest.raises(ValueError, match=re.escape(message)):
            create_app(settings.with_overrides(**changes))

    def test_a_bad_line_in_the_domain_file_is_named(self, settings: Settings, tmp_path: Path) -> None:
        listed = tmp_path / "domains.txt"
        listed.write_text("# ours\nthrowaway.example\nnot a domain\n")

        with pytest.raises(ValueError, match=re.escape(f"{listed}:3: not a domain name: 'not a domain'")):
            check_settings(settings.with_overrides(disposable_domains_file=str(listed)))

    def test_they_are_read_from_the_environment(self) -> None:
        env = {"GROWTH_RISK_SETTINGS": '{"same_ip_minutes": 5}', "GROWTH_DISPOSABLE_DOMAINS_FILE": "/x.txt"}
        loaded = load_settings(env)
        assert (loaded.risk_settings, loaded.disposable_domains_file) == ('{"same_ip_minutes": 5}', "/x.txt")


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return bearer(key)


def order(external_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer": {
            "external_id": f"c-{external_id}",
            "email": changes.pop("email", f"{external_id}@example.com"),
        },
        "amount": 10000,
        "currency": "CNY",
        "placed_at": (NOW - timedelta(minutes=5)).isoformat(),
    } | changes


async def post(client: AsyncTestClient[Litestar], shop: dict[str, str], body: dict[str, Any]) -> None:
    r = await client.post("/api/orders", json=body, headers=shop)
    assert r.status_code == 201, r.text


async def review(session_maker: SessionMaker, external_id: str) -> tuple[str, list[dict[str, Any]]]:
    async with session_maker() as s:
        found = await s.scalar(
            select(OrderReview)
            .join(Order, Order.id == OrderReview.order_id)
            .where(Order.external_id == external_id)
        )
    assert found is not None
    return found.status, found.reasons


async def test_a_domain_file_replaces_the_shipped_list(
    settings: Settings,
    session: AsyncSession,
    session_maker: SessionMaker,
    shop: dict[str, str],
    tmp_path: Path,
) -> None:
    listed = tmp_path / "domains.txt"
    listed.write_text("throwaway.example\n")
    campaign = await create_campaign(session, name="Spring")
    code = (await issue_code(session, campaign=campaign, customer=await create_customer(session))).code
    await session.commit()

    app = create_app(settings.with_overrides(disposable_domains_file=str(listed)))
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        await post(client, shop, order("o-1", referral_code=code, email="a@mail.throwaway.example"))
        await post(client, shop, order("o-2", referral_code=code, email="b@mailinator.com"))

    assert (await review(session_maker, "o-1"))[0] == "held"
    assert (await review(session_maker, "o-2")) == ("allowed", [])


class TestRewardAboveMargin:
    """The estimate: the referrer's and the referee's (non-coupon) rewards, and the partner's commission."""

    @pytest.fixture
    async def code(self, session: AsyncSession) -> str:
        campaign = await create_campaign(session, name="Spring")
        for spec in (
            RuleSpec(Side.referrer, RewardType.store_credit, amount=2000),
            RuleSpec(Side.referee, RewardType.store_credit, amount=1000),
            # A welcome coupon is redeemed at checkout (the margin is after it): not counted.
            RuleSpec(Side.referee, RewardType.percent_discount, rate_bps=1000),
        ):
            await reward_service.add_rule(session, campaign.id, spec)
        code = (await issue_code(session, campaign=campaign, customer=await create_customer(session))).code
        await session.commit()
        return code

    @pytest.mark.parametrize(("margin", "status"), [(2999, "held"), (3000, "allowed"), (None, "allowed")])
    async def test_rewards_against_the_margin(
        self,
        client: AsyncTestClient[Litestar],
        shop: dict[str, str],
        session_maker: SessionMaker,
        code: str,
        margin: int | None,
        status: str,
    ) -> None:
        await post(client, shop, order("o-1", referral_code=code, margin_amount=margin))

        got, reasons = await review(session_maker, "o-1")
        assert got == status
        if status == "held":
            assert reasons[0]["code"] == "reward_above_margin"
            assert reasons[0]["details"] == {"rewards_amount": 3000, "margin_amount": 2999, "currency": "CNY"}
            assert reasons[0]["message"] == (
                "the rewards and commissions of 30.00 CNY exceed the order's margin of 29.99 CNY"
            )

    async def test_an_order_below_the_campaigns_minimum_earns_nothing_to_compare(
        self,
        client: AsyncTestClient[Litestar],
        shop: dict[str, str],
        session_maker: SessionMaker,
        code: str,
        session: AsyncSession,
    ) -> None:
        terms = await campaign_service.get_terms(session, (await _campaign_of(session, code)))
        assert terms is not None
        await campaign_service.update_campaign(session, terms.id, min_order_amount=20000)
        await session.commit()

        await post(client, shop, order("o-1", referral_code=code, margin_amount=100))

        assert (await review(session_maker, "o-1")) == ("allowed", [])

    @pytest.mark.parametrize(("margin", "status"), [(999, "held"), (1000, "allowed")])
    async def test_a_partners_commission_under_its_plan(
        self,
        client: AsyncTestClient[Litestar],
        shop: dict[str, str],
        session: AsyncSession,
        session_maker: SessionMaker,
        margin: int,
        status: str,
    ) -> None:
        campaign = await create_campaign(session, kind="partner", hashtag=None)
        spec = PlanSpec(kind=PlanKind.percent, currency="CNY", rate_bps=1000, hold_days=30)
        plan = await commission_service.create_plan(session, name="Standard", spec=spec)
        partner = await create_partner(session)
        issued = await partner_service.issue_partner_code(
            session, partner_id=partner.id, campaign_id=campaign.id, terms_lookup=campaign_service.get_terms
        )
        await commission_service.assign_plan(
            session, partner_id=partner.id, plan_id=plan.id, now=NOW - timedelta(days=1)
        )
        await session.commit()

        await post(client, shop, order("o-1", referral_code=issued.referral_code.code, margin_amount=margin))

        got, reasons = await review(session_maker, "o-1")
        assert got == status
        assert [r["code"] for r in reasons] == (["reward_above_margin"] if status == "held" else [])


async def _campaign_of(session: AsyncSession, code: str) -> Any:
    return await session.scalar(select(ReferralCode.campaign_id).where(ReferralCode.code == code))


def _risk_table() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Risk firewall rules") :]
    section = section[: section.index("\n## ", 1)]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_the_readme_table_lists_every_rule_with_its_default_action() -> None:
    rows = {
        row.split("|")[1].strip().strip("`"): [c.strip() for c in row.split("|")[1:-1]]
        for row in _risk_table()
    }
    defaults = Thresholds()

    assert set(rows) == {rule.value for rule in Rule}
    for rule in Rule:
        assert rows[rule.value][2] == defaults.action(rule).value, rule
        assert "`risk`" in rows[rule.value][4] and "GROWTH_RISK_SETTINGS" in rows[rule.value][4]
    assert "GROWTH_DISPOSABLE_DOMAINS_FILE" in rows[Rule.disposable_email.value][4]


def test_the_readme_table_names_every_threshold_with_its_default() -> None:
    table = "\n".join(_risk_table())
    defaults = Thresholds()
    numbers = [f.name for f in fields(Thresholds) if not isinstance(getattr(defaults, f.name), Action)]

    assert numbers  # the thresholds are there to check
    for name in numbers:
        assert f"`{name}` = {getattr(defaults, name)}" in table, name

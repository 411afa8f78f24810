"""A customer whose gift pack waits for its restock takes store credit now instead: the rules, the service
on a real database (budget, stock, ledger, idempotency, refusals), the delay alert and its e-mail, and the
whole way through the API and the share page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward import service as reward_service
from campaigns.reward.errors import RewardNotFound, RewardNotWaitingForStock, StoreCreditNotAvailable
from campaigns.reward.rules import (
    OutOfStock,
    RewardOutcome,
    RewardStatus,
    RewardType,
    has_chosen_store_credit,
    reward_outcome,
    store_credit_chosen_reason,
    store_credit_instead,
    store_credit_problem,
)
from growth.app import check_delays
from growth.core.db import SessionMaker
from growth.core.i18n import translations
from growth.core.jobs import run_once
from growth.core.money import Money
from growth.ledger import service as ledger_service
from growth.ledger.models import LedgerEntry
from growth.notification.models import NotificationEmail
from growth.notification.rules import Kind, Notice, RecipientType, render
from growth.referral_code.models import ReferralCode
from growth.settings import Settings
from tests.campaigns.reward.test_delays import alerts
from tests.campaigns.reward.test_flow import Shop, drain, ok
from tests.campaigns.reward.test_flow import keys as keys
from tests.campaigns.reward.test_flow import shop as shop
from tests.campaigns.reward.test_service import (
    HOLD,
    NOW,
    Outbox,
    add_rule,
    close,
    credit_owed,
    event,
    grant_share,
    one,
    outbox,
    pack,
    pack_campaign,
    pack_stock,
    place,
    referral_campaign,
    referrer,
    spent,
)
from tests.conftest import in_app_loop
from tests.factories import create_campaign, create_customer
from tests.pages import HTML, post_form

__all__ = ["keys", "outbox", "shop"]

DAY = timedelta(days=1)
REASON = "customer chose store credit instead of waiting for gift pack TEA-01"

# ------------------------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("alternative", "pack_value", "credit"), [(2000, 3500, 2000), (None, 3500, 3500), (None, 0, 0)]
)
def test_credit_is_the_rules_alternative_else_the_packs_value(
    alternative: int | None, pack_value: int, credit: int
) -> None:
    assert store_credit_instead(
        alternative_amount=alternative, pack_value=pack_value, currency="CNY"
    ) == Money(credit, "CNY")


@pytest.mark.parametrize(
    ("status", "reward_type", "is_waiting", "problem"),
    [
        (RewardStatus.pending, RewardType.gift_pack, True, None),
        (RewardStatus.pending, RewardType.free_sample, True, None),
        (RewardStatus.pending, RewardType.gift_pack, False, "gift pack is pending and not waiting"),
        (RewardStatus.issued, RewardType.gift_pack, False, "gift pack is issued and not waiting"),
        (RewardStatus.voided, RewardType.gift_pack, False, "gift pack is voided and not waiting"),
        (RewardStatus.pending, RewardType.store_credit, False, "is store credit, not a gift pack"),
        (RewardStatus.issued, RewardType.fixed_discount, False, "is fixed discount, not a gift pack"),
    ],
)
def test_only_a_pack_waiting_for_its_restock_can_be_taken_as_credit(
    status: RewardStatus, reward_type: RewardType, is_waiting: bool, problem: str | None
) -> None:
    found = store_credit_problem(status=status, reward_type=reward_type, is_waiting_for_stock=is_waiting)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_the_choice_is_marked_by_its_reason() -> None:
    reason = store_credit_chosen_reason("TEA-01")
    assert reason == REASON
    assert has_chosen_store_credit(RewardType.store_credit, reason)
    assert not has_chosen_store_credit(
        RewardType.store_credit, "gift pack TEA-01 out of stock: store credit instead"
    )
    assert not has_chosen_store_credit(RewardType.gift_pack, reason)
    assert not has_chosen_store_credit(RewardType.store_credit, None)
    outcome = reward_outcome(RewardStatus.issued, is_granted=True, is_waiting_for_stock=False, reason=reason)
    assert outcome is RewardOutcome.alternative


# ------------------------------------------------------------------------------------------ service


async def waiting_pack(session: AsyncSession, outbox: Outbox, **rule: Any) -> Any:
    """Alice's referrer reward: gift pack TEA-01 (¥35.00), out of stock, waiting; the order closed at NOW."""
    await pack(session, "TEA-01", stock=0)
    campaign = await pack_campaign(session, OutOfStock.wait, **rule)
    alice, code = await referrer(session, campaign)
    order = await place(session, outbox, code)
    await close(session, outbox, order)
    reward = await one(session, campaign)
    assert (reward.status, reward.is_waiting_for_stock, reward.is_granted) == ("pending", True, False)
    assert await spent(session, campaign) == 0  # a waiting pack holds no budget
    return campaign, alice, reward, order


async def ledger_entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


class TestTakeStoreCredit:
    async def test_the_rules_alternative_issued_at_once_when_the_hold_is_over(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign, alice, reward, _ = await waiting_pack(
            session, outbox, alternative_amount=2000, campaign={"budget_amount": 10_000}
        )
        later = NOW + (HOLD + 8) * DAY

        taken = await reward_service.take_store_credit(
            session, reward_id=reward.id, customer_id=alice.id, now=later
        )

        assert taken is reward
        assert (reward.reward_type, reward.amount, reward.currency, reward.sku) == (
            "store_credit",
            2000,
            "CNY",
            None,
        )
        assert (reward.status, reward.is_granted, reward.is_waiting_for_stock) == ("issued", True, False)
        assert (reward.approved_at, reward.issued_at, reward.reason) == (later, later, REASON)
        assert not reward.is_stock_reserved and await pack_stock(session, "TEA-01") == (0, 0)
        assert await spent(session, campaign) == 2000
        assert await credit_owed(session, alice.id) == 2000
        entries = await ledger_entries(session)

        # Asking again answers the same reward and changes nothing.
        again = await reward_service.take_store_credit(
            session, reward_id=reward.id, customer_id=alice.id, now=later + DAY
        )
        assert again is reward and (reward.status, reward.amount, reward.issued_at) == ("issued", 2000, later)
        assert await spent(session, campaign) == 2000
        assert await credit_owed(session, alice.id) == 2000 and await ledger_entries(session) == entries

    async def test_the_packs_value_approved_by_the_job_after_the_hold(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign, alice, reward, _ = await waiting_pack(session, outbox)

        await reward_service.take_store_credit(
            session, reward_id=reward.id, customer_id=alice.id, now=NOW + DAY
        )

        # Granted, but the hold still runs: approved by the periodic job, as a restocked pack would be.
        assert (reward.status, reward.is_granted, reward.amount, reward.reward_type) == (
            "pending",
            True,
            3500,
            "store_credit",
        )
        assert await spent(session, campaign) == 3500 and await credit_owed(session, alice.id) == 0
        assert await reward_service.approve_due(session, now=NOW + HOLD * DAY) == 1
        assert reward.status == "issued" and await credit_owed(session, alice.id) == 3500

        # A later restock has nothing left waiting for it.
        await gift_pack_service.restock(session, "TEA-01", quantity=5, now=NOW + 20 * DAY)
        await outbox.deliver()
        assert (reward.reward_type, reward.sku, reward.amount) == ("store_credit", None, 3500)
        assert await pack_stock(session, "TEA-01") == (5, 0) and await spent(session, campaign) == 3500

    async def test_the_budget_is_never_exceeded(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign, alice, reward, _ = await waiting_pack(session, outbox, campaign={"budget_amount": 4000})
        # Marketing cuts the budget while the pack waits: its ¥35.00 no longer fits.
        await campaign_service.update_campaign(session, campaign.id, budget_amount=3000)

        with pytest.raises(StoreCreditNotAvailable, match="budget exhausted"):
            await reward_service.take_store_credit(
                session, reward_id=reward.id, customer_id=alice.id, now=NOW + 30 * DAY
            )

        # Nothing was written: the pack keeps waiting for its restock.
        assert (reward.status, reward.reward_type, reward.sku, reward.is_waiting_for_stock) == (
            "pending",
            "gift_pack",
            "TEA-01",
            True,
        )
        assert await spent(session, campaign) == 0

    async def test_a_credit_that_fills_the_budget_exactly_is_given(
        self, session: AsyncSession, outbox: Outbox
    ) -> None:
        campaign, alice, reward, _ = await waiting_pack(session, outbox, campaign={"budget_amount": 3500})

        await reward_service.take_store_credit(
            session, reward_id=reward.id, customer_id=alice.id, now=NOW + 30 * DAY
        )

        assert reward.status == "issued" and await spent(session, campaign) == 3500
        assert await credit_owed(session, alice.id) == 3500

    async def test_another_customers_reward_is_not_found(self, session: AsyncSession, outbox: Outbox) -> None:
        campaign, _, reward, _ = await waiting_pack(session, outbox)
        bob, _ = await referrer(session, campaign)

        for reward_id, customer_id in ((reward.id, bob.id), (uuid4(), reward.customer_id)):
            with pytest.raises(RewardNotFound):
                await reward_service.take_store_credit(
                    session, reward_id=reward_id, customer_id=customer_id, now=NOW
                )
        assert reward.is_waiting_for_stock and reward.reward_type == "gift_pack"

    async def test_rewards_not_waiting_are_refused(self, session: AsyncSession, outbox: Outbox) -> None:
        # A pack in stock (reserved), a store-credit reward, and a waiting pack whose order was refunded.
        await pack(session, "TEA-02", stock=3)
        in_stock = await create_campaign(session, kind="referral", hold_days=HOLD)
        await add_rule(session, in_stock, "referrer", "gift_pack", sku="TEA-02")
        await add_rule(session, in_stock, "referrer", "store_credit", amount=1000)
        alice, code = await referrer(session, in_stock)
        await close(session, outbox, await place(session, outbox, code))
        refused = list(await reward_service.rewards_of(session, alice.id))
        assert sorted(r.reward_type for r in refused) == ["gift_pack", "store_credit"]

        campaign, bob, waiting, order = await waiting_pack(session, outbox)
        await event(session, outbox, order, "refunded", amount=order.amount)
        assert waiting.status == "voided"

        for reward, customer in [*((r, alice) for r in refused), (waiting, bob)]:
            with pytest.raises(RewardNotWaitingForStock):
                await reward_service.take_store_credit(
                    session, reward_id=reward.id, customer_id=customer.id, now=NOW + 30 * DAY
                )
        assert await spent(session, campaign) == 0

    async def test_a_share_sample_is_approved_and_issued_at_once(self, session: AsyncSession) -> None:
        await pack(session, "SAMPLE-02", stock=0, value=1200)
        campaign = await create_campaign(session, kind="social_share", budget_amount=5000)
        await add_rule(session, campaign, "share", "free_sample", sku="SAMPLE-02")
        mei = await create_customer(session)
        reward = await grant_share(session, campaign, mei, uuid4())
        assert (reward.status, reward.is_waiting_for_stock) == ("pending", True)

        await reward_service.take_store_credit(session, reward_id=reward.id, customer_id=mei.id, now=NOW)

        assert (reward.status, reward.reward_type, reward.amount) == ("issued", "store_credit", 1200)
        assert await spent(session, campaign) == 1200 and await credit_owed(session, mei.id) == 1200
        assert reward.reason == "customer chose store credit instead of waiting for gift pack SAMPLE-02"


class TestConcurrentTakes:
    async def test_ten_takes_and_a_restock_at_once_grant_the_credit_once(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker, outbox: Outbox
    ) -> None:
        campaign, alice, reward, _ = await waiting_pack(session, outbox, campaign={"budget_amount": 10_000})
        await session.commit()

        async def take() -> str:
            async with session_maker() as s, s.begin():
                taken = await reward_service.take_store_credit(
                    s, reward_id=reward.id, customer_id=alice.id, now=NOW + 30 * DAY
                )
                return f"{taken.reward_type}:{taken.amount}:{taken.status}"

        async def restock() -> None:
            async with session_maker() as s, s.begin():
                await gift_pack_service.restock(s, "TEA-01", quantity=1, now=NOW + 30 * DAY)
                await Outbox(s, outbox.subscriptions).deliver()

        *answers, _ = await asyncio.gather(*[take() for _ in range(10)], restock(), return_exceptions=True)

        # The takes serialise on the reward's row lock: the first one converts it and the restock finds
        # nothing left waiting, or the restock grants the pack first and every take is refused.
        async with session_maker() as s:
            assert await spent(s, campaign) == 3500
            if set(answers) == {"store_credit:3500:issued"}:
                assert await credit_owed(s, alice.id) == 3500
                assert await pack_stock(s, "TEA-01") == (1, 0)
            else:
                assert all(isinstance(a, RewardNotWaitingForStock) for a in answers), answers
                assert await credit_owed(s, alice.id) == 0
                assert await pack_stock(s, "TEA-01") == (1, 1)


class TestDelayAlert:
    async def test_names_the_credit_and_the_customers_code(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        campaign, alice, reward, _ = await waiting_pack(session, outbox, alternative_amount=2000)
        due = NOW + (HOLD + settings.gift_pack_fulfilment_days + 1) * DAY

        assert await check_delays(session, due, settings=settings) == 1

        (alert,) = await alerts(session)
        assert (alert.subject_id, alert.recipient_id) == (reward.id, alice.id)
        assert alert.options == ["take_store_credit_now", "wait_for_restock"]
        (code,) = await session.scalars(
            select(ReferralCode.code).where(ReferralCode.campaign_id == campaign.id)
        )
        assert alert.context["store_credit_amount"] == 2000 and alert.context["share_code"] == code

    async def test_without_a_share_page_only_waiting_is_offered(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        await pack(session, "TEA-01", stock=0)
        campaign = await referral_campaign(session)
        await add_rule(session, campaign, "referee", "gift_pack", sku="TEA-01", out_of_stock=OutOfStock.wait)
        _, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))
        friend_reward = await one(session, campaign, "referee")
        assert friend_reward.is_waiting_for_stock

        await check_delays(session, NOW + (HOLD + 8) * DAY, settings=settings)

        (alert,) = [a for a in await alerts(session) if a.subject_id == friend_reward.id]
        assert alert.options == ["wait_for_restock", "contact_support"]
        assert alert.context["share_code"] is None


# ---------------------------------------------------------------------------------------- the e-mail

OUT_OF_STOCK = {
    "kind": "gift_pack_out_of_stock",
    "expected_at": NOW.isoformat(),
    "options": ["take_store_credit_now", "wait_for_restock"],
    "context": {"store_credit_amount": 2000, "currency": "CNY", "amount": 3500},
    "share_url": "https://growth.test/share/ABC.sig#rewards",
}


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "en",
            [
                "Your gift pack is out of stock.",
                "Your options: take CN¥20.00 in store credit now; wait for the restock",
                "Choose on your share page: https://growth.test/share/ABC.sig#rewards",
            ],
        ),
        (
            "zh_Hans",
            [
                "您可以选择：立即领取 ¥20.00 店铺余额；等待补货",
                "请在您的分享页面上选择：https://growth.test/share/ABC.sig#rewards",
            ],
        ),
    ],
)
def test_the_out_of_stock_email_names_both_options_and_the_share_page(locale: str, words: list[str]) -> None:
    notice = Notice(Kind.delay_alert, RecipientType.customer, "c", OUT_OF_STOCK)
    _, text = render(
        notice, gettext=translations(locale).gettext, locale=locale, tz="Asia/Shanghai", name="Mei"
    )
    for expected in words:
        assert expected in text, text


def test_without_the_credit_amount_or_the_page_the_email_still_names_the_options() -> None:
    data = {k: v for k, v in OUT_OF_STOCK.items() if k not in ("context", "share_url")}
    notice = Notice(Kind.delay_alert, RecipientType.customer, "c", data)
    _, text = render(notice, gettext=translations("en").gettext, locale="en", tz="UTC", name=None)
    assert "Your options: take store credit now; wait for the restock" in text
    assert "share page" not in text


# ------------------------------------------------------------------------------- API and share page


class Waiting:
    """What the API journey set up: alice's waiting pack and her other reward, bob's page."""

    def __init__(
        self, campaign: dict[str, Any], alice: str, bob: str, pack: dict[str, Any], credit: dict[str, Any]
    ):
        self.campaign, self.alice, self.bob, self.pack, self.credit = campaign, alice, bob, pack, credit


def share_path(issued: dict[str, Any]) -> str:
    return "/share/" + issued["share_url"].rsplit("/share/", 1)[1]


@pytest.fixture
async def waiting(shop: Shop, client: AsyncTestClient[Litestar]) -> Waiting:
    """A referral campaign (no hold, ¥1,000 budget) whose referrers earn the VIP pack (¥300, out of stock,
    wait; ¥250 store credit instead) and ¥10 store credit; alice's friend ordered and the order closed."""
    pack = {"sku": "VIP", "name": "VIP pack", "value_amount": 30000, "currency": "CNY"}
    await ok(await client.post("/api/gift-packs", json=pack, headers=shop.keys["marketing"]), 201)
    campaign = await shop.campaign(hold_days=0, budget_amount=100_000)
    await shop.rule(
        campaign["id"],
        side="referrer",
        reward_type="gift_pack",
        sku="VIP",
        out_of_stock="wait",
        alternative_amount=25000,
    )
    await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=1000)
    alice = await shop.code(campaign["id"], "alice", "alice@example.com")
    bob = await shop.code(campaign["id"], "bob", "bob@example.com")
    await shop.order("o-1", "friend", 19900, referral_code=alice["code"])
    for event_type in ("paid", "closed"):
        await shop.event("o-1", event_type)
    rewards = {r["reward_type"]: r for r in await shop.rewards(campaign_id=campaign["id"])}
    assert (
        rewards["gift_pack"]["is_waiting_for_stock"] is True and rewards["store_credit"]["status"] == "issued"
    )
    return Waiting(
        campaign, share_path(alice), share_path(bob), rewards["gift_pack"], rewards["store_credit"]
    )


async def budget_spent(shop: Shop, campaign_id: str) -> int:
    campaign = await ok(
        await shop.client.get(f"/api/campaigns/{campaign_id}", headers=shop.keys["marketing"])
    )
    return int(campaign["budget_spent"])


async def owed(client: AsyncTestClient[Litestar], customer_id: str) -> int:
    async def read() -> int:
        async with client.app.state.session_maker() as session:
            return await ledger_service.liability(session, f"customer:{customer_id}:store_credit", "CNY")

    return int(await in_app_loop(client, read))


class TestApiJourney:
    async def test_alert_then_the_customer_takes_store_credit(
        self,
        shop: Shop,
        client: AsyncTestClient[Litestar],
        waiting: Waiting,
        settings: Settings,
        session_maker: SessionMaker,
    ) -> None:
        customer_id = waiting.pack["customer_id"]
        assert await budget_spent(shop, waiting.campaign["id"]) == 1000  # the pack holds no budget yet

        # The delay job finds the pack waiting past the fulfilment time; the e-mail names both options.
        later = datetime.now(UTC) + timedelta(days=settings.gift_pack_fulfilment_days + 1)

        async def job() -> int:
            return await run_once(
                client.app.state.session_maker,
                lambda s, now: check_delays(s, now, settings=settings),
                now=later,
            )

        assert await in_app_loop(client, job) == 1
        await drain(client)
        async with session_maker() as fresh:
            (email,) = await fresh.scalars(
                select(NotificationEmail).where(NotificationEmail.kind == "delay_alert")
            )
        assert "take CN¥250.00 in store credit now; wait for the restock" in email.body
        assert f"Choose on your share page: https://growth.test{waiting.alice}#rewards" in email.body

        # The customer takes the credit through their share link.
        url = f"/api{waiting.alice}/rewards/{waiting.pack['id']}/store-credit"
        taken = await ok(await client.post(url))
        assert (taken["reward_type"], taken["amount"], taken["currency"], taken["sku"]) == (
            "store_credit",
            25000,
            "CNY",
            None,
        )
        assert (taken["status"], taken["is_granted"], taken["is_waiting_for_stock"]) == (
            "issued",
            True,
            False,
        )
        assert taken["reason"] == "customer chose store credit instead of waiting for gift pack VIP"
        await drain(client)
        assert await owed(client, customer_id) == 25000 + 1000
        stock = await ok(await client.get("/api/gift-packs/VIP", headers=shop.keys["marketing"]))
        assert (stock["stock_on_hand"], stock["stock_reserved"]) == (0, 0)
        assert await budget_spent(shop, waiting.campaign["id"]) == 25000 + 1000

        # Asking again answers the same, and nothing moves.
        assert await ok(await client.post(url)) == taken
        assert await budget_spent(shop, waiting.campaign["id"]) == 26000
        assert await owed(client, customer_id) == 26000

    async def test_refusals(self, shop: Shop, client: AsyncTestClient[Litestar], waiting: Waiting) -> None:
        pack_id, credit_id = waiting.pack["id"], waiting.credit["id"]
        # Bob's link cannot reach alice's reward, nor a forged link: 404 either way.
        other = await client.post(f"/api{waiting.bob}/rewards/{pack_id}/store-credit")
        assert other.status_code == 404, other.text
        forged = await client.post(
            f"/api/share/{waiting.alice.rsplit('/', 1)[1]}x/rewards/{pack_id}/store-credit"
        )
        assert forged.status_code == 404
        # A reward that does not wait for a pack is a conflict, with the reason.
        not_waiting = await client.post(f"/api{waiting.alice}/rewards/{credit_id}/store-credit")
        assert not_waiting.status_code == 409
        assert not_waiting.json()["error"]["code"] == "reward_not_waiting_for_stock"
        assert "not a gift pack" in not_waiting.json()["error"]["message"]
        rewards = {r["id"]: r for r in await shop.rewards(campaign_id=waiting.campaign["id"])}
        assert (
            rewards[pack_id]["is_waiting_for_stock"] is True
            and rewards[pack_id]["reward_type"] == "gift_pack"
        )
        assert await budget_spent(shop, waiting.campaign["id"]) == 1000


class TestSharePage:
    @pytest.mark.parametrize(
        ("language", "words"),
        [
            ("en", ["Take store credit now", "take CN¥250.00 in store credit now"]),
            ("zh-CN", ["立即领取店铺余额", "立即领取 ¥250.00 店铺余额"]),
        ],
    )
    async def test_the_waiting_pack_offers_the_credit(
        self, client: AsyncTestClient[Litestar], waiting: Waiting, language: str, words: list[str]
    ) -> None:
        page = await client.get(waiting.alice, headers=HTML | {"accept-language": language})
        assert page.status_code == 200
        for expected in words:
            assert expected in page.text
        assert f'action="{waiting.alice}/rewards/{waiting.pack["id"]}/store-credit"' in page.text
        # Bob has nothing waiting: no button on his page.
        assert "store-credit" not in (await client.get(waiting.bob, headers=HTML)).text

    async def test_the_button_takes_it_and_comes_back(
        self, shop: Shop, client: AsyncTestClient[Litestar], waiting: Waiting
    ) -> None:
        pack_id, credit_id = waiting.pack["id"], waiting.credit["id"]
        action = f"{waiting.alice}/rewards/{pack_id}/store-credit"
        assert (await client.post(action, headers=HTML)).status_code == 403  # no CSRF token

        done = await post_form(client, waiting.alice, action, {}, headers={"accept-language": "zh-CN"})
        assert done.status_code == 303
        assert done.headers["location"] == f"{waiting.alice}?credit_taken=1#rewards"
        page = await client.get(done.headers["location"], headers=HTML | {"accept-language": "zh-CN"})
        assert "已完成：您已选择领取店铺余额，不再等待礼包补货。" in page.text
        assert "¥250.00 店铺余额" in page.text and "立即领取店铺余额" not in page.text
        assert "customer chose" not in page.text  # marketing's words stay off the customer's page
        assert await budget_spent(shop, waiting.campaign["id"]) == 26000

        # The page has no form left; an old tab still holds the token (the CSRF cookie's).
        token = client.cookies["growth_csrf"]

        async def post(path: str) -> Any:
            return await client.post(path, data={"_csrf_token": token}, headers=HTML, follow_redirects=False)

        # A second post is the same choice: nothing more is granted.
        assert (await post(action)).headers["location"] == f"{waiting.alice}?credit_taken=1#rewards"
        # Bob's page cannot post for alice's reward.
        assert (await post(f"{waiting.bob}/rewards/{pack_id}/store-credit")).status_code == 404
        refused = await post(f"{waiting.alice}/rewards/{credit_id}/store-credit")
        assert refused.headers["location"] == (
            f"{waiting.alice}?credit_error=reward_not_waiting_for_stock#rewards"
        )
        page = await client.get(refused.headers["location"], headers=HTML | {"accept-language": "en"})
        assert "This reward is not a gift pack waiting for a restock." in page.text
        assert await budget_spent(shop, waiting.campaign["id"]) == 26000

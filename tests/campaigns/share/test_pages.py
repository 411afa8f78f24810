"""Marketing's moderation queue page: sign-in and role, CSRF, decisions one by one and in bulk, rewards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.reward import service as reward_service
from campaigns.reward.models import Reward
from campaigns.reward.rules import OutOfStock
from campaigns.share import service as share_service
from campaigns.share.models import ShareSubmission
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.settings import Settings
from tests.campaigns.share.factories import add_sample_rule, create_sharer, post_url, social_share_campaign
from tests.conftest import SECRET
from tests.factories import create_key
from tests.pages import HTML, post_form, sign_in

Client = AsyncTestClient[Litestar]
PAGE = "/marketing/shares"
SUBMITTED_AT = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(timezone="Asia/Shanghai", default_currency="CNY")


async def a_campaign(
    session: AsyncSession,
    *,
    stock: int | None = 10,
    out_of_stock: OutOfStock = OutOfStock.wait,
    **fields: Any,
) -> Campaign:
    """A social-share campaign giving a sample per approved post (``stock=None``: no share reward)."""
    campaign = await social_share_campaign(session, **fields)
    if stock is not None:
        await add_sample_rule(session, campaign, stock=stock, out_of_stock=out_of_stock)
    return campaign


async def a_post(
    session: AsyncSession,
    campaign: Campaign,
    *,
    name: str = "Mei Lin",
    at: datetime = SUBMITTED_AT,
    commit: bool = True,
) -> ShareSubmission:
    """A pending post by a new customer of ``campaign``."""
    sharer = await create_sharer(session, campaign, name=name)
    view = await share_service.submit_post(
        session,
        token=sharer.token,
        url=post_url(),
        secret=SECRET,
        platforms=Settings().share_platforms,
        now=at,
    )
    if commit:
        await session.commit()
    return view.submission


async def stored(session_maker: SessionMaker, submission_id: UUID) -> share_service.SubmissionView:
    async with session_maker() as fresh:
        return await share_service.get_submission(fresh, submission_id)


async def approve(client: Client, submission: ShareSubmission, **extra: str) -> Any:
    return await post_form(client, PAGE, f"{PAGE}/{submission.id}/approve", dict(extra))


def query_of(response: Any) -> dict[str, list[str]]:
    location = urlsplit(response.headers["location"])
    assert location.path == PAGE
    return parse_qs(location.query)


class TestAccess:
    async def test_signed_out_is_sent_to_sign_in(self, client: Client) -> None:
        response = await client.get(PAGE, headers=HTML, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=%2Fmarketing%2Fshares"

    async def test_finance_may_not_moderate(self, client: Client, session: AsyncSession) -> None:
        key = await create_key(session, role=Role.finance)
        await session.commit()
        await sign_in(client, key)

        response = await client.get(PAGE, headers=HTML)

        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")

    async def test_decision_without_csrf_token_is_refused(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        submission = await a_post(session, await a_campaign(session))

        response = await marketing.post(
            f"{PAGE}/{submission.id}/approve", data={}, headers=HTML, follow_redirects=False
        )

        assert response.status_code == 403
        assert (await stored(session_maker, submission.id)).submission.status == "pending"


class TestQueue:
    async def test_pending_posts_oldest_first_with_customer_campaign_and_link(
        self, marketing: Client, session: AsyncSession
    ) -> None:
        campaign = await a_campaign(session, name="Serum launch")
        newer = await a_post(session, campaign, name="Newer Poster", at=datetime(2026, 11, 21, tzinfo=UTC))
        older = await a_post(session, campaign, name="Older Poster")

        page = await marketing.get(PAGE, headers=HTML)

        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        text = page.text
        assert text.index(f'id="submission-{older.id}"') < text.index(f'id="submission-{newer.id}"')
        assert "Older Poster" in text and "Serum launch" in text and "Xiaohongshu" in text
        assert f'<a href="{older.url}" target="_blank" rel="noopener noreferrer nofollow">' in text
        assert "11/20/26, 9:30" in text  # submitted 01:30 UTC, shown in Shanghai time
        assert f'id="approve-{older.id}"' in text and 'name="reason" required' in text
        assert 'id="approve-selected"' in text and 'id="reject-selected"' in text

    async def test_customer_external_id_is_shown(self, marketing: Client, session: AsyncSession) -> None:
        submission = await a_post(session, await a_campaign(session))

        page = await marketing.get(PAGE, headers=HTML)

        [row] = (await share_service.moderation_queue(session)).rows
        assert row.submission.id == submission.id
        assert row.customer_external_id.startswith("cust-") and row.customer_external_id in page.text

    async def test_filters_by_campaign_and_status(self, marketing: Client, session: AsyncSession) -> None:
        spring, autumn = await a_campaign(session, name="Spring"), await a_campaign(session, name="Autumn")
        in_spring = await a_post(session, spring, name="Spring Poster")
        await a_post(session, autumn, name="Autumn Poster")
        await approve(marketing, in_spring)

        pending_spring = await marketing.get(PAGE, params={"campaign_id": str(spring.id)}, headers=HTML)
        pending_all = await marketing.get(PAGE, headers=HTML)
        approved = await marketing.get(PAGE, params={"status": "approved"}, headers=HTML)

        assert "No posts are waiting for review." in pending_spring.text
        assert "Autumn Poster" in pending_all.text and "Spring Poster" not in pending_all.text
        assert f'<option value="{spring.id}" selected>Spring</option>' in pending_spring.text
        assert "Spring Poster" in approved.text and "Reward granted" in approved.text
        assert 'id="approve-selected"' not in approved.text
        assert (await marketing.get(PAGE, params={"status": "bogus"}, headers=HTML)).status_code == 400

    async def test_in_chinese(self, marketing: Client, session: AsyncSession) -> None:
        await a_post(session, await a_campaign(session))

        page = await marketing.get(PAGE, headers=HTML | {"accept-language": "zh-CN,zh;q=0.9"})

        assert '<html lang="zh-Hans">' in page.text
        for label in ("分享审核", "通过", "驳回", "批量通过", "批量驳回", "小红书", "审核中", "退出登录"):
            assert label in page.text, label


class TestApprove:
    async def test_approve_grants_the_sample(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await a_campaign(session)
        submission = await a_post(session, campaign)

        response = await approve(marketing, submission, filter_campaign_id=str(campaign.id))

        assert response.status_code == 303
        assert query_of(response) == {
            "campaign_id": [str(campaign.id)],
            "notice": ["approved"],
            "outcome": ["granted"],
        }
        view = await stored(session_maker, submission.id)
        assert view.submission.status == "approved"
        assert view.submission.reviewed_by and view.submission.reviewed_by.startswith("api_key:")
        assert view.reward is not None
        assert (view.reward.status, view.reward.reward_type, view.reward.is_granted) == (
            "approved",
            "free_sample",
            True,
        )
        page = await marketing.get(response.headers["location"], headers=HTML)
        assert 'class="notice" role="status"' in page.text
        assert "Approved. The reward was granted." in page.text
        assert f'id="submission-{submission.id}"' not in page.text  # no longer pending

    @pytest.mark.parametrize(
        ("fields", "outcome", "message", "reward_status"),
        [
            (
                {"stock": 0, "out_of_stock": OutOfStock.wait},
                "waiting",
                "Approved. The pack is out of stock: the reward waits for a restock",
                "pending",
            ),
            (
                {"stock": 0, "out_of_stock": OutOfStock.none},
                "out_of_stock",
                "Approved, but the reward was not granted: the pack is out of stock.",
                "not_granted",
            ),
            (
                {"budget_amount": 1000},  # the sample is worth ¥35.00
                "budget_exhausted",
                "Approved, but the reward was not granted: the campaign's budget is exhausted.",
                "not_granted",
            ),
        ],
    )
    async def test_the_notice_tells_what_the_reward_came_to(
        self,
        marketing: Client,
        session: AsyncSession,
        session_maker: SessionMaker,
        fields: dict[str, Any],
        outcome: str,
        message: str,
        reward_status: str,
    ) -> None:
        submission = await a_post(session, await a_campaign(session, **fields))

        response = await approve(marketing, submission)
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response)["outcome"] == [outcome]
        assert 'class="notice warn"' in page.text and message in page.text
        view = await stored(session_maker, submission.id)
        assert view.submission.status == "approved"
        assert view.reward is not None and view.reward.status == reward_status

    async def test_without_a_share_reward_rule_nothing_changes(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        submission = await a_post(session, await a_campaign(session, stock=None))

        response = await approve(marketing, submission)
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response) == {"error": ["no_share_reward"]}
        assert 'class="error" role="alert"' in page.text
        assert "This campaign has no share reward rule" in page.text
        view = await stored(session_maker, submission.id)
        assert (view.submission.status, view.submission.reviewed_at, view.reward) == ("pending", None, None)

    async def test_already_rejected_post_cannot_be_approved(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        submission = await a_post(session, await a_campaign(session))
        await post_form(marketing, PAGE, f"{PAGE}/{submission.id}/reject", {"reason": "Private account"})

        response = await approve(marketing, submission)
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response) == {"error": ["submission_already_decided"]}
        assert "This post was already decided" in page.text
        view = await stored(session_maker, submission.id)
        assert (view.submission.status, view.reward) == ("rejected", None)

    async def test_unknown_error_codes_are_not_reflected(self, marketing: Client) -> None:
        page = await marketing.get(
            PAGE, params={"error": "<script>x</script>", "notice": "hacked"}, headers=HTML
        )

        assert "The decision could not be saved. Please try again." in page.text
        assert "<script>x" not in page.text and 'id="notice"' not in page.text


class TestReject:
    async def test_reject_with_a_reason(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        submission = await a_post(session, await a_campaign(session))

        response = await post_form(
            marketing, PAGE, f"{PAGE}/{submission.id}/reject", {"reason": "  Hashtag missing "}
        )

        assert query_of(response) == {"notice": ["rejected"]}
        view = await stored(session_maker, submission.id)
        assert (view.submission.status, view.submission.reason, view.reward) == (
            "rejected",
            "Hashtag missing",
            None,
        )
        rejected = await marketing.get(PAGE, params={"status": "rejected"}, headers=HTML)
        assert "Reason: Hashtag missing" in rejected.text

    @pytest.mark.parametrize("reason", ["", "   "])
    async def test_reject_without_a_reason_changes_nothing(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker, reason: str
    ) -> None:
        submission = await a_post(session, await a_campaign(session))

        response = await post_form(marketing, PAGE, f"{PAGE}/{submission.id}/reject", {"reason": reason})
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response) == {"error": ["invalid_decision"]}
        assert 'class="error"' in page.text and "Write a reason (1 to 500 characters)" in page.text
        assert (await stored(session_maker, submission.id)).submission.status == "pending"


class TestBatch:
    async def test_approve_selected(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await a_campaign(session)
        first = await a_post(session, campaign, commit=False)
        second = await a_post(session, campaign)
        untouched = await a_post(session, campaign)

        response = await post_form(
            marketing,
            PAGE,
            f"{PAGE}/decisions",
            {"ids": [str(first.id), str(second.id)], "action": "approve"},
        )
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response)["notice"] == ["batch"]
        assert (
            "2 approved, 0 rejected. Rewards: 2 granted, 0 waiting for a restock, 0 not granted." in page.text
        )
        statuses = [(await stored(session_maker, s.id)).submission.status for s in (first, second, untouched)]
        assert statuses == ["approved", "approved", "pending"]
        for s in (first, second):
            reward = (await stored(session_maker, s.id)).reward
            assert reward is not None and reward.is_granted

    async def test_one_ticked_box_is_a_batch_of_one(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        submission = await a_post(session, await a_campaign(session, stock=0))

        response = await post_form(
            marketing, PAGE, f"{PAGE}/decisions", {"ids": str(submission.id), "action": "approve"}
        )
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert "1 approved, 0 rejected. Rewards: 0 granted, 1 waiting for a restock" in page.text
        assert 'class="notice warn"' in page.text
        assert (await stored(session_maker, submission.id)).submission.status == "approved"

    async def test_reject_selected_with_one_reason(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await a_campaign(session)
        first, second = await a_post(session, campaign, commit=False), await a_post(session, campaign)

        response = await post_form(
            marketing,
            PAGE,
            f"{PAGE}/decisions",
            {"ids": [str(first.id), str(second.id)], "action": "reject", "reason": "Not public"},
        )

        assert query_of(response)["rejected"] == ["2"]
        for s in (first, second):
            view = await stored(session_maker, s.id)
            assert (view.submission.status, view.submission.reason) == ("rejected", "Not public")

    async def test_reject_selected_without_a_reason_changes_nothing(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await a_campaign(session)
        first, second = await a_post(session, campaign, commit=False), await a_post(session, campaign)

        response = await post_form(
            marketing, PAGE, f"{PAGE}/decisions", {"ids": [str(first.id), str(second.id)], "action": "reject"}
        )
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response)["error"] == ["invalid_decision"]
        assert "2 posts could not be decided: Write a reason" in page.text
        assert 'id="notice"' not in page.text
        for s in (first, second):
            assert (await stored(session_maker, s.id)).submission.status == "pending"

    async def test_some_fail_and_the_others_stand(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        with_reward = await a_post(session, await a_campaign(session))
        without_reward = await a_post(session, await a_campaign(session, stock=None))

        response = await post_form(
            marketing,
            PAGE,
            f"{PAGE}/decisions",
            {"ids": [str(with_reward.id), str(without_reward.id)], "action": "approve"},
        )
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert "1 approved, 0 rejected." in page.text
        assert "1 post could not be decided: This campaign has no share reward rule" in page.text
        assert (await stored(session_maker, with_reward.id)).submission.status == "approved"
        assert (await stored(session_maker, without_reward.id)).submission.status == "pending"

    async def test_nothing_selected(self, marketing: Client, session: AsyncSession) -> None:
        await a_post(session, await a_campaign(session))

        response = await post_form(marketing, PAGE, f"{PAGE}/decisions", {"action": "approve"})
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert query_of(response) == {"error": ["nothing_selected"]}
        assert "Select at least one post." in page.text

    async def test_rewards_are_kept_with_the_batch(self, marketing: Client, session: AsyncSession) -> None:
        campaign = await a_campaign(session)
        submission = await a_post(session, campaign)

        await post_form(
            marketing, PAGE, f"{PAGE}/decisions", {"ids": [str(submission.id)], "action": "approve"}
        )

        rewards: list[Reward] = await reward_service.list_rewards(session, campaign_id=campaign.id)
        assert [(r.share_submission_id, r.status) for r in rewards] == [(submission.id, "approved")]

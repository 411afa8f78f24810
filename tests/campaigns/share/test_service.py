"""Share use cases on a real database: submitting posts, the moderation queue, decisions and rewards."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.rules import CampaignStatus
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward.errors import NoShareReward
from campaigns.reward.models import Reward
from campaigns.reward.rules import OutOfStock
from campaigns.share import service as share_service
from campaigns.share.errors import (
    CampaignNotActive,
    InvalidDecision,
    InvalidPostUrl,
    NotASocialShareCampaign,
    PostAlreadySubmitted,
    SharesAreForCustomers,
    SubmissionAlreadyDecided,
    SubmissionAlreadyOpen,
    SubmissionNotFound,
    UnsupportedPlatform,
)
from campaigns.share.models import ShareSubmission
from campaigns.share.rules import Decision
from growth.audit import service as audit_service
from growth.audit.rules import Filters
from growth.core.audit_port import Actor, ActorKind
from growth.core.db import SessionMaker
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from growth.referral_code.errors import ReferralCodeNotFound
from growth.referral_code.rules import share_token
from growth.settings import Settings
from tests.campaigns.share.factories import (
    POST,
    Sharer,
    add_sample_rule,
    create_sharer,
    post_url,
    social_share_campaign,
)
from tests.conftest import SECRET
from tests.factories import create_campaign, create_partner

ALL_PLATFORMS = Settings().share_platforms
REVIEWER = Actor(ActorKind.api_key, "test", "Mara (marketing)")


async def submit(
    session: AsyncSession, sharer: Sharer, url: str = POST, *, platforms: str = ALL_PLATFORMS
) -> ShareSubmission:
    view = await share_service.submit_post(
        session, token=sharer.token, url=url, secret=SECRET, platforms=platforms, now=utc_now()
    )
    return view.submission


async def approve(session: AsyncSession, submission: ShareSubmission, note: str | None = None):  # type: ignore[no-untyped-def]
    return await share_service.decide_submission(
        session, submission.id, Decision.approve, reason=note, reviewer=REVIEWER, now=utc_now()
    )


async def reject(session: AsyncSession, submission: ShareSubmission, reason: str = "Hashtag missing"):  # type: ignore[no-untyped-def]
    return await share_service.decide_submission(
        session, submission.id, Decision.reject, reason=reason, reviewer=REVIEWER, now=utc_now()
    )


class TestSubmitPost:
    async def test_submitted_for_review(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        sharer = await create_sharer(session, campaign)

        submission = await submit(
            session, sharer, "  https://WWW.Weibo.com/1234567890/NbCdEfGh/?utm_source=x#c "
        )

        assert submission.status == "pending" and submission.platform == "weibo"
        assert submission.url == "https://WWW.Weibo.com/1234567890/NbCdEfGh/?utm_source=x#c"
        assert submission.url_key == "https://weibo.com/1234567890/NbCdEfGh"
        assert (submission.campaign_id, submission.customer_id, submission.referral_code_id) == (
            campaign.id,
            sharer.customer.id,
            sharer.code.id,
        )
        assert submission.reviewed_at is None and submission.reviewed_by is None

    async def test_duplicate_post_is_409(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        first, second = await create_sharer(session, campaign), await create_sharer(session, campaign)
        await submit(session, first, "https://www.xiaohongshu.com/explore/64a1b2c3")

        # The same post, shared another way, by another customer.
        with pytest.raises(PostAlreadySubmitted):
            await submit(session, second, "http://xiaohongshu.com/explore/64a1b2c3/?xsec_token=AB#top")

    async def test_the_same_post_in_another_campaign_is_another_submission(
        self, session: AsyncSession
    ) -> None:
        spring, autumn = await social_share_campaign(session), await social_share_campaign(session)
        await submit(session, await create_sharer(session, spring))

        submission = await submit(session, await create_sharer(session, autumn))

        assert submission.campaign_id == autumn.id

    async def test_second_submission_while_pending_is_409(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))
        await submit(session, sharer, post_url(1))

        with pytest.raises(SubmissionAlreadyOpen, match="still being reviewed"):
            await submit(session, sharer, post_url(2))

    async def test_second_submission_after_approval_is_409(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        sharer = await create_sharer(session, campaign)
        await approve(session, await submit(session, sharer, post_url(1)))

        with pytest.raises(SubmissionAlreadyOpen, match="one sample per customer"):
            await submit(session, sharer, post_url(2))

    async def test_resubmit_another_post_after_rejection(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))
        rejected = await submit(session, sharer, post_url(1))
        await reject(session, rejected)

        again = await submit(session, sharer, post_url(2))

        assert again.status == "pending" and again.id != rejected.id

    async def test_the_rejected_post_itself_cannot_come_back(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))
        await reject(session, await submit(session, sharer, post_url(1)))

        with pytest.raises(PostAlreadySubmitted):
            await submit(session, sharer, post_url(1))

    async def test_not_a_social_share_campaign_is_409(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await create_campaign(session, kind="referral"))

        with pytest.raises(NotASocialShareCampaign) as caught:
            await submit(session, sharer)

        assert caught.value.status_code == 409

    @pytest.mark.parametrize("status", [CampaignStatus.paused, CampaignStatus.ended, CampaignStatus.draft])
    async def test_campaign_not_active_is_409(self, session: AsyncSession, status: CampaignStatus) -> None:
        campaign = await social_share_campaign(session)
        sharer = await create_sharer(session, campaign)  # issued while active (ended ones issue none)
        campaign.status = status.value
        await session.flush()

        with pytest.raises(CampaignNotActive) as caught:
            await submit(session, sharer)

        assert caught.value.status_code == 409 and caught.value.details == {"status": status.value}

    async def test_campaign_outside_its_period_is_409(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session, starts_at=utc_now() + timedelta(days=3))
        sharer = await create_sharer(session, campaign)

        with pytest.raises(CampaignNotActive):
            await submit(session, sharer)

    async def test_bad_url_is_422(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))

        with pytest.raises(InvalidPostUrl) as caught:
            await submit(session, sharer, "javascript:alert(1)")

        assert caught.value.status_code == 422

    async def test_platform_disabled_by_setting_is_422(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))

        with pytest.raises(UnsupportedPlatform) as caught:
            await submit(
                session, sharer, "https://www.instagram.com/p/C1a2B3c4D5e/", platforms="weibo,douyin"
            )

        assert caught.value.status_code == 422 and caught.value.details == {"supported": ["douyin", "weibo"]}
        assert caught.value.code() == "unsupported_platform"

    async def test_forged_token_is_404(self, session: AsyncSession) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))
        forged = share_token("another-secret", sharer.code.code)

        with pytest.raises(ReferralCodeNotFound):
            await share_service.submit_post(
                session, token=forged, url=POST, secret=SECRET, platforms=ALL_PLATFORMS, now=utc_now()
            )

    async def test_a_partners_code_takes_no_posts(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        partner = await create_partner(session)
        issued = await referral_code_service.issue_code(
            session,
            campaign_id=campaign.id,
            referrer=referral_code_service.Referrer(partner_id=partner.id),
            terms_lookup=share_service.campaign_service.get_terms,
        )
        token = share_token(SECRET, issued.referral_code.code)

        with pytest.raises(SharesAreForCustomers):
            await share_service.submit_post(
                session, token=token, url=POST, secret=SECRET, platforms=ALL_PLATFORMS, now=utc_now()
            )


class TestModerationQueue:
    async def test_pending_oldest_first_by_campaign(self, session: AsyncSession) -> None:
        spring, autumn = await social_share_campaign(session), await social_share_campaign(session)
        first = await submit(session, await create_sharer(session, spring), post_url(1))
        other = await submit(session, await create_sharer(session, autumn), post_url(2))
        second = await submit(session, await create_sharer(session, spring), post_url(3))
        decided = await submit(session, await create_sharer(session, spring), post_url(4))
        await reject(session, decided)

        queue = await share_service.list_queue(session)
        spring_queue = await share_service.list_queue(session, campaign_id=spring.id)
        rejected = await share_service.list_queue(session, status=share_service.SubmissionStatus.rejected)

        assert [v.submission.id for v in queue] == [first.id, other.id, second.id]
        assert [v.submission.id for v in spring_queue] == [first.id, second.id]
        assert [v.submission.id for v in rejected] == [decided.id]

    async def test_unknown_submission_is_404(self, session: AsyncSession) -> None:
        with pytest.raises(SubmissionNotFound):
            await share_service.get_submission(session, uuid4())
        with pytest.raises(SubmissionNotFound):
            await share_service.decide_submission(
                session, uuid4(), Decision.approve, reviewer=REVIEWER, now=utc_now()
            )


class TestDecide:
    async def test_approval_grants_the_sample(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        rule = await add_sample_rule(session, campaign, stock=3)
        sharer = await create_sharer(session, campaign)
        submission = await submit(session, sharer)

        view = await approve(session, submission, note="  Lovely photos ")

        assert view.submission.status == "approved" and view.submission.reason == "Lovely photos"
        assert view.submission.reviewed_by == "api_key:test" and view.submission.reviewed_at is not None
        [entry] = await audit_service.list_entries(
            session,
            Filters(action="share_submission.", action_is_prefix=True, subject_id=str(submission.id)),
            limit=10,
            offset=0,
        )
        assert (entry.action, entry.actor_id, entry.actor_name) == (
            "share_submission.approved",
            "test",
            "Mara (marketing)",
        )
        assert (entry.before, entry.after) == (
            {"status": "pending"},
            {"status": "approved", "reason": "Lovely photos"},
        )
        reward = view.reward
        assert reward is not None and reward.status == "approved" and reward.sku == rule.sku
        assert (reward.customer_id, reward.share_submission_id) == (sharer.customer.id, submission.id)
        pack = await gift_pack_service.get_pack(session, rule.sku or "")
        assert pack.stock_reserved == 1

    async def test_approving_twice_changes_nothing(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        submission = await submit(session, await create_sharer(session, campaign))
        first = await approve(session, submission)
        reviewed_at = first.submission.reviewed_at

        again = await approve(session, submission, note="second moderator")

        assert again.submission.status == "approved" and again.submission.reviewed_at == reviewed_at
        assert again.submission.reason is None
        decisions = Filters(action="share_submission.", action_is_prefix=True, subject_id=str(submission.id))
        assert len(await audit_service.list_entries(session, decisions, limit=10, offset=0)) == 1
        assert again.reward is not None and first.reward is not None and again.reward.id == first.reward.id

    async def test_rejecting_twice_changes_nothing(self, session: AsyncSession) -> None:
        submission = await submit(session, await create_sharer(session, await social_share_campaign(session)))
        await reject(session, submission, "Hashtag missing")

        again = await reject(session, submission, "Private account")

        assert again.submission.status == "rejected" and again.submission.reason == "Hashtag missing"
        assert again.reward is None

    async def test_approve_after_reject_is_409(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        submission = await submit(session, await create_sharer(session, campaign))
        await reject(session, submission)

        with pytest.raises(SubmissionAlreadyDecided) as caught:
            await approve(session, submission)

        assert caught.value.status_code == 409 and caught.value.details == {"status": "rejected"}

    async def test_reject_after_approve_is_409(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        submission = await submit(session, await create_sharer(session, campaign))
        await approve(session, submission)

        with pytest.raises(SubmissionAlreadyDecided):
            await reject(session, submission)

    @pytest.mark.parametrize("reason", ["", "   "])
    async def test_a_rejection_needs_a_reason(self, session: AsyncSession, reason: str) -> None:
        submission = await submit(session, await create_sharer(session, await social_share_campaign(session)))

        with pytest.raises(InvalidDecision):
            await reject(session, submission, reason)

        assert submission.status == "pending"

    async def test_without_a_share_reward_the_approval_fails_whole(self, session: AsyncSession) -> None:
        submission = await submit(session, await create_sharer(session, await social_share_campaign(session)))
        submission_id = submission.id
        await session.commit()

        with pytest.raises(NoShareReward):
            await approve(session, submission)
        await session.rollback()

        assert (await share_service.get_submission(session, submission_id)).submission.status == "pending"

    @pytest.mark.parametrize(
        ("out_of_stock", "status", "reason"),
        [
            (OutOfStock.wait, "pending", "waiting for restock"),
            (OutOfStock.none, "not_granted", "out of stock"),
        ],
    )
    async def test_out_of_stock_shows_on_the_submission(
        self, session: AsyncSession, out_of_stock: OutOfStock, status: str, reason: str
    ) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign, stock=0, out_of_stock=out_of_stock)
        submission = await submit(session, await create_sharer(session, campaign))

        view = await approve(session, submission)

        assert view.submission.status == "approved"
        assert view.reward is not None and view.reward.status == status
        assert reason in (view.reward.reason or "")

    async def test_budget_exhausted_shows_on_the_submission(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session, budget_amount=1000)  # less than one ¥35 sample
        await add_sample_rule(session, campaign)
        submission = await submit(session, await create_sharer(session, campaign))

        view = await approve(session, submission)

        assert view.reward is not None and view.reward.status == "not_granted"
        assert "budget" in (view.reward.reason or "")


class TestDecideMany:
    async def test_each_decision_stands_on_its_own(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        good, bad, already = [
            await submit(session, await create_sharer(session, campaign), post_url(n)) for n in (1, 2, 3)
        ]
        await reject(session, already)
        missing = uuid4()

        results = await share_service.decide_many(
            session,
            approve=[good.id, already.id, missing],
            reject=[(bad.id, "Not public")],
            reviewer=REVIEWER,
            now=utc_now(),
        )

        outcome = {r.submission_id: (r.view.submission.status if r.view else r.error.code()) for r in results}  # type: ignore[union-attr]
        assert outcome == {
            good.id: "approved",
            already.id: "submission_already_decided",
            missing: "submission_not_found",
            bad.id: "rejected",
        }
        approved = next(r for r in results if r.submission_id == good.id)
        assert approved.view is not None and approved.view.reward is not None
        assert approved.view.reward.status == "approved"

    async def test_a_failing_grant_rolls_back_only_its_own_decision(self, session: AsyncSession) -> None:
        with_reward, without = await social_share_campaign(session), await social_share_campaign(session)
        await add_sample_rule(session, with_reward)
        granted = (await submit(session, await create_sharer(session, with_reward), post_url(1))).id
        refused = (await submit(session, await create_sharer(session, without), post_url(2))).id
        await session.commit()

        results = await share_service.decide_many(
            session, approve=[granted, refused], reject=[], reviewer=REVIEWER, now=utc_now()
        )
        await session.commit()

        assert [r.error.code() if r.error else "ok" for r in results] == ["ok", "no_share_reward"]
        statuses = {
            v.submission.id: v.submission.status
            for v in await share_service.list_queue(session, status=share_service.SubmissionStatus.approved)
        }
        assert statuses == {granted: "approved"}
        assert (await share_service.get_submission(session, refused)).submission.status == "pending"

    async def test_a_submission_twice_in_one_batch_is_refused(self, session: AsyncSession) -> None:
        submission = await submit(session, await create_sharer(session, await social_share_campaign(session)))

        with pytest.raises(InvalidDecision):
            await share_service.decide_many(
                session,
                approve=[submission.id],
                reject=[(submission.id, "Not public")],
                reviewer=REVIEWER,
                now=utc_now(),
            )


class TestSubmissionFacts:
    async def test_what_the_share_page_shows(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        sharer = await create_sharer(session, campaign)
        await reject(session, await submit(session, sharer, post_url(1)), "Hashtag missing")
        await approve(session, await submit(session, sharer, post_url(2)), note="internal: checked by Li")

        facts = await share_service.submission_facts(session, sharer.code.id)

        assert [(f.url, f.status, f.reason, f.reward_status) for f in facts] == [
            (post_url(2), "approved", None, "approved"),  # newest first; approval notes stay internal
            (post_url(1), "rejected", "Hashtag missing", None),
        ]
        assert all(f.platform == "xiaohongshu" for f in facts)

    async def test_only_this_codes_posts(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        mine, theirs = await create_sharer(session, campaign), await create_sharer(session, campaign)
        await submit(session, theirs)

        assert await share_service.submission_facts(session, mine.code.id) == []

    async def test_the_customer_reads_their_posts_with_rewards(self, session: AsyncSession) -> None:
        campaign = await social_share_campaign(session)
        await add_sample_rule(session, campaign)
        sharer = await create_sharer(session, campaign)
        view = await approve(session, await submit(session, sharer))

        own = await share_service.list_own_submissions(session, token=sharer.token, secret=SECRET)

        assert isinstance(view.reward, Reward)
        assert [(v.submission.id, v.reward.id if v.reward else None) for v in own] == [
            (view.submission.id, view.reward.id)
        ]


class TestConcurrency:
    async def test_posts_sent_at_once_make_one_submission(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        sharer = await create_sharer(session, await social_share_campaign(session))
        await session.commit()

        async def attempt(n: int) -> str:
            async with session_maker() as s, s.begin():
                try:
                    await submit(s, sharer, post_url(n))
                except SubmissionAlreadyOpen:
                    return "refused"
                return "submitted"

        results = await asyncio.gather(*(attempt(n) for n in range(1, 7)))

        assert sorted(results) == ["refused"] * 5 + ["submitted"]
        assert len(await share_service.submission_facts(session, sharer.code.id)) == 1

    async def test_the_same_post_sent_at_once_is_one_submission(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await social_share_campaign(session)
        sharers = [await create_sharer(session, campaign) for _ in range(5)]
        await session.commit()

        async def attempt(sharer: Sharer) -> str:
            async with session_maker() as s, s.begin():
                try:
                    await submit(s, sharer, POST)
                except PostAlreadySubmitted:
                    return "duplicate"
                return "submitted"

        results = await asyncio.gather(*(attempt(sharer) for sharer in sharers))

        assert sorted(results) == ["duplicate"] * 4 + ["submitted"]

    async def test_approvals_at_once_grant_one_reward(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await social_share_campaign(session)
        rule = await add_sample_rule(session, campaign, stock=5)
        submission_id = (await submit(session, await create_sharer(session, campaign))).id
        await session.commit()

        async def attempt() -> UUID | None:
            async with session_maker() as s, s.begin():
                view = await share_service.decide_submission(
                    s, submission_id, Decision.approve, reviewer=REVIEWER, now=utc_now()
                )
                return view.reward.id if view.reward else None

        reward_ids = await asyncio.gather(*(attempt() for _ in range(4)))

        assert len(set(reward_ids)) == 1 and None not in reward_ids
        assert (await gift_pack_service.get_pack(session, rule.sku or "")).stock_reserved == 1

    async def test_approvals_in_one_campaign_at_once_share_its_budget(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await social_share_campaign(session, budget_amount=3500)  # one ¥35 sample
        await add_sample_rule(session, campaign, stock=10)
        ids = [
            (await submit(session, await create_sharer(session, campaign), post_url(n))).id for n in range(4)
        ]
        await session.commit()

        async def attempt(submission_id: UUID) -> str | None:
            # Each approval inserts a reward (share-locking the campaign row) and takes the budget lock.
            async with session_maker() as s, s.begin():
                view = await share_service.decide_submission(
                    s, submission_id, Decision.approve, reviewer=REVIEWER, now=utc_now()
                )
                return view.reward.status if view.reward else None

        statuses = await asyncio.gather(*(attempt(i) for i in ids))

        assert sorted(s or "" for s in statuses) == ["approved"] + ["not_granted"] * 3
        await session.refresh(campaign)
        assert campaign.budget_spent == 3500

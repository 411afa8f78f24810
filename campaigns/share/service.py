"""Hashtag sharing: customers submit their posts through their share token; marketing moderates them.

Approving a post grants the campaign's share reward (sample, gift pack or credit) through the
reward engine in the same transaction, so a submission is never approved without its reward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignKind, CampaignStatus, is_running
from campaigns.reward import service as reward_service
from campaigns.reward.models import Reward
from campaigns.reward.rules import RewardOutcome, RewardStatus, reward_outcome
from campaigns.share import repository
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
from campaigns.share.rules import (
    DECIDED_AS,
    Decision,
    Move,
    SharePlatform,
    SubmissionStatus,
    decide,
    open_submission_problem,
    parse_platforms,
    platform_of,
    platform_problem,
    post_url_problem,
    reason_problem,
    url_key,
)
from growth.audit import service as audit_service
from growth.core.audit_port import Actor
from growth.core.errors import DomainError
from growth.core.ports import SubmissionFacts
from growth.customer import service as customer_service
from growth.referral_code import service as referral_code_service

log = structlog.get_logger()


@dataclass(frozen=True)
class SubmissionView:
    """A submission and the reward its approval earned, if any."""

    submission: ShareSubmission
    reward: Reward | None


@dataclass(frozen=True)
class DecisionResult:
    """One decision of a batch: the submission as decided, or why it was not."""

    submission_id: UUID
    decision: Decision
    view: SubmissionView | None
    error: DomainError | None = None


async def _views(session: AsyncSession, submissions: list[ShareSubmission]) -> list[SubmissionView]:
    rewards = await repository.rewards_for(session, [s.id for s in submissions])
    return [SubmissionView(s, rewards.get(s.id)) for s in submissions]


async def _customer_code(
    session: AsyncSession, token: str, secret: str
) -> referral_code_service.ResolvedCode:
    resolved = await referral_code_service.resolve_share_token(
        session, token, secret=secret, terms_lookup=campaign_service.get_terms
    )
    if resolved.customer is None:
        raise SharesAreForCustomers("posts are submitted by customers; this share page is a partner's")
    return resolved


def _check_campaign(campaign: Campaign, now: datetime) -> None:
    if campaign.kind != CampaignKind.social_share:
        raise NotASocialShareCampaign(f"campaign {campaign.name!r} does not take posts", kind=campaign.kind)
    if not is_running(CampaignStatus(campaign.status), campaign.starts_at, campaign.ends_at, now):
        raise CampaignNotActive(f"campaign {campaign.name!r} is not running", status=campaign.status)


def _checked_post(url: str, platforms: str) -> tuple[str, str, SharePlatform]:
    """The URL as submitted (trimmed), its key and its platform; 422 when it cannot be taken."""
    url = url.strip()
    if problem := post_url_problem(url):
        raise InvalidPostUrl(problem)
    enabled = parse_platforms(platforms)
    if problem := platform_problem(url, enabled):
        raise UnsupportedPlatform(problem, supported=sorted(p.value for p in enabled))
    platform = platform_of(url)
    assert platform is not None  # platform_problem said it is an enabled one
    return url, url_key(url), platform


async def submit_post(
    session: AsyncSession, *, token: str, url: str, secret: str, platforms: str, now: datetime
) -> SubmissionView:
    """Submit the URL of a customer's public post for the campaign of their share page."""
    resolved = await _customer_code(session, token, secret)
    code = resolved.referral_code
    # Submissions of a campaign are serialised on its row: the schema has no constraint for "one
    # open submission per customer", so two posts sent at once must not both pass the check below.
    campaign = await campaign_service.lock_campaign(session, code.campaign_id)
    _check_campaign(campaign, now)
    url, key, platform = _checked_post(url, platforms)
    statuses = await repository.statuses_of(session, campaign_id=campaign.id, customer_id=code.customer_id)
    if problem := open_submission_problem([SubmissionStatus(s) for s in statuses]):
        raise SubmissionAlreadyOpen(problem)
    if await repository.is_key_taken(session, campaign_id=campaign.id, url_key=key):
        raise PostAlreadySubmitted("this post was already submitted in this campaign")
    submission = ShareSubmission(
        campaign_id=campaign.id,
        customer_id=code.customer_id,
        referral_code_id=code.id,
        url=url,
        url_key=key,
        platform=platform.value,
        status=SubmissionStatus.pending.value,
        submitted_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(submission)
    except IntegrityError as exc:  # UNIQUE(campaign_id, url_key): the database has the last word
        raise PostAlreadySubmitted("this post was already submitted in this campaign") from exc
    log.info("campaigns.share.submitted", submission_id=str(submission.id), platform=platform.value)
    return SubmissionView(submission, None)


async def list_own_submissions(session: AsyncSession, *, token: str, secret: str) -> list[SubmissionView]:
    """The posts a customer submitted through their share page, newest first."""
    resolved = await _customer_code(session, token, secret)
    return await _views(session, await repository.list_for_code(session, resolved.referral_code.id))


async def submission_facts(session: AsyncSession, referral_code_id: UUID) -> list[SubmissionFacts]:
    """The posts submitted with a referral code, as its share page shows them (``ShareSubmissionsLookup``)."""
    views = await _views(session, await repository.list_for_code(session, referral_code_id))
    return [
        SubmissionFacts(
            url=v.submission.url,
            platform=v.submission.platform,
            status=v.submission.status,
            reason=customer_reason(v.submission),
            submitted_at=v.submission.submitted_at,
            reward_status=v.reward.status if v.reward else None,
        )
        for v in views
    ]


def customer_reason(submission: ShareSubmission) -> str | None:
    """What the customer is told: why a post was rejected; an approval note stays with marketing."""
    return submission.reason if submission.status == SubmissionStatus.rejected else None


async def list_queue(
    session: AsyncSession,
    *,
    status: SubmissionStatus = SubmissionStatus.pending,
    campaign_id: UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[SubmissionView]:
    """The moderation queue: submissions in ``status``, oldest first."""
    submissions = await repository.list_queue(
        session, status=status, campaign_id=campaign_id, limit=limit, offset=offset
    )
    return await _views(session, submissions)


def outcome_of(reward: Reward | None) -> RewardOutcome | None:
    """What an approval's reward came to (granted, waiting for a restock, not granted and why)."""
    if reward is None:
        return None
    return reward_outcome(
        RewardStatus(reward.status),
        is_granted=reward.is_granted,
        is_waiting_for_stock=reward.is_waiting_for_stock,
        reason=reward.reason,
    )


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A submission as the moderation page shows it: who posted, in which campaign, and the reward."""

    submission: ShareSubmission
    customer_external_id: str
    customer_name: str | None
    campaign_name: str
    reward: Reward | None
    outcome: RewardOutcome | None


@dataclass(frozen=True, slots=True)
class CampaignChoice:
    """A campaign the queue can be filtered by."""

    id: UUID
    name: str


@dataclass(frozen=True, slots=True)
class ModerationQueue:
    """The moderation page's content: the posts, and the campaigns to filter them by."""

    rows: list[QueueRow]
    campaigns: list[CampaignChoice]
    """The social-share campaigns the page filters by, newest first."""


async def moderation_queue(
    session: AsyncSession,
    *,
    status: SubmissionStatus = SubmissionStatus.pending,
    campaign_id: UUID | None = None,
    limit: int = 200,
) -> ModerationQueue:
    """The queue as marketing's page shows it, oldest first, with customers, campaigns and rewards."""
    views = await list_queue(session, status=status, campaign_id=campaign_id, limit=limit)
    customers = await customer_service.customers_by_id(session, {v.submission.customer_id for v in views})
    campaigns = await campaign_service.list_campaigns(session, limit=200)
    names = {c.id: c.name for c in campaigns}
    for campaign_of_row in {v.submission.campaign_id for v in views} - names.keys():
        names[campaign_of_row] = (await campaign_service.get_campaign(session, campaign_of_row)).name
    rows = [
        QueueRow(
            submission=v.submission,
            customer_external_id=customers[v.submission.customer_id].external_id,
            customer_name=customers[v.submission.customer_id].name,
            campaign_name=names[v.submission.campaign_id],
            reward=v.reward,
            outcome=outcome_of(v.reward),
        )
        for v in views
    ]
    choices = [CampaignChoice(c.id, c.name) for c in campaigns if c.kind == CampaignKind.social_share]
    return ModerationQueue(rows, choices)


async def get_submission(session: AsyncSession, submission_id: UUID) -> SubmissionView:
    """One submission with its reward, or ``SubmissionNotFound``."""
    submission = await repository.get(session, submission_id)
    if submission is None:
        raise SubmissionNotFound(f"share submission {submission_id} not found")
    return (await _views(session, [submission]))[0]


async def _apply(
    session: AsyncSession,
    submission: ShareSubmission,
    decision: Decision,
    *,
    reason: str | None,
    reviewer: Actor,
    now: datetime,
) -> str | None:
    """Decide a locked submission; deciding it the same way again changes nothing.

    Returns the status it had when this changed it (None: unchanged), for ``_record``.
    """
    if problem := reason_problem(reason, decision):
        raise InvalidDecision(problem)
    move = decide(SubmissionStatus(submission.status), decision)
    if move is Move.conflict:
        raise SubmissionAlreadyDecided(f"submission is already {submission.status}", status=submission.status)
    if move is Move.unchanged:
        return None
    before = submission.status
    submission.status = DECIDED_AS[decision].value
    submission.reason = (reason or "").strip() or None
    submission.reviewed_at, submission.reviewed_by = now, reviewed_by(reviewer)
    if decision is Decision.approve:
        # Take the campaign's budget lock before the reward row is inserted: that insert's foreign
        # key share-locks the campaign row, and two approvals upgrading it to the budget lock
        # deadlock. The refresh reads the budget as it is now that the lock is held.
        await session.refresh(await campaign_service.lock_campaign(session, submission.campaign_id))
        await reward_service.grant_share_reward(
            session,
            campaign_id=submission.campaign_id,
            customer_id=submission.customer_id,
            submission_id=submission.id,
            now=now,
        )
    log.info("campaigns.share.decided", submission_id=str(submission.id), status=submission.status)
    return before


async def _record(session: AsyncSession, submission: ShareSubmission, before: str, reviewer: Actor) -> None:
    """An approval grants the share reward (money): marketing's decisions are in the audit log.

    Recorded after every row lock the decisions take, since the audit log's own lock is global.
    """
    await audit_service.record(
        session,
        action=f"share_submission.{submission.status}",
        subject_type="share_submission",
        subject_id=str(submission.id),
        before={"status": before},
        after={"status": submission.status, "reason": submission.reason},
        actor=reviewer,
    )


def reviewed_by(reviewer: Actor) -> str:
    """How a submission names who decided it: ``api_key:<id>`` for a key, else the actor's name."""
    return (f"{reviewer.kind}:{reviewer.id}" if reviewer.id else reviewer.name)[:100]


async def decide_submission(
    session: AsyncSession,
    submission_id: UUID,
    decision: Decision,
    *,
    reason: str | None = None,
    reviewer: Actor,
    now: datetime,
) -> SubmissionView:
    """Approve (granting the share reward) or reject (with a reason) one submission."""
    locked = await repository.lock_many(session, [submission_id])
    if not locked:
        raise SubmissionNotFound(f"share submission {submission_id} not found")
    if (
        before := await _apply(session, locked[0], decision, reason=reason, reviewer=reviewer, now=now)
    ) is not None:
        await _record(session, locked[0], before, reviewer)
    await session.flush()
    return (await _views(session, locked))[0]


async def decide_many(
    session: AsyncSession,
    *,
    approve: list[UUID],
    reject: list[tuple[UUID, str]],
    reviewer: Actor,
    now: datetime,
) -> list[DecisionResult]:
    """Decide a batch; each decision stands or fails on its own (a savepoint each)."""
    wanted = [(i, Decision.approve, None) for i in approve] + [(i, Decision.reject, r) for i, r in reject]
    ids = [submission_id for submission_id, _, _ in wanted]
    if len(set(ids)) != len(ids):
        raise InvalidDecision("each submission may appear once in a batch")
    # Lock the whole batch up front (in id order) before the reward engine locks the campaign.
    locked = {s.id: s for s in await repository.lock_many(session, ids)}
    decided: list[ShareSubmission] = []
    changed: list[tuple[ShareSubmission, str]] = []
    failures: dict[UUID, DomainError] = {}
    for submission_id, decision, reason in wanted:
        try:
            if (submission := locked.get(submission_id)) is None:
                raise SubmissionNotFound(f"share submission {submission_id} not found")
            async with session.begin_nested():
                before = await _apply(
                    session, submission, decision, reason=reason, reviewer=reviewer, now=now
                )
            decided.append(submission)
            if before is not None:
                changed.append((submission, before))
        except DomainError as exc:
            failures[submission_id] = exc
    for submission, before in changed:
        await _record(session, submission, before, reviewer)
    views = {v.submission.id: v for v in await _views(session, decided)}
    return [DecisionResult(i, d, views.get(i), failures.get(i)) for i, d, _ in wanted]


async def count_submissions(
    session: AsyncSession, *, since: datetime, until: datetime, campaign_id: UUID | None
) -> tuple[int, int]:
    """``(submitted, approved)`` posts of a range (the analytics)."""
    return await repository.count_submissions(session, since=since, until=until, campaign_id=campaign_id)

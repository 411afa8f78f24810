from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.reward.models import Reward
from campaigns.share.models import ShareSubmission


async def statuses_of(session: AsyncSession, *, campaign_id: UUID, customer_id: UUID) -> list[str]:
    query = select(ShareSubmission.status).where(
        ShareSubmission.campaign_id == campaign_id, ShareSubmission.customer_id == customer_id
    )
    return list(await session.scalars(query))


async def is_key_taken(session: AsyncSession, *, campaign_id: UUID, url_key: str) -> bool:
    query = select(ShareSubmission.id).where(
        ShareSubmission.campaign_id == campaign_id, ShareSubmission.url_key == url_key
    )
    return await session.scalar(query) is not None


async def get(session: AsyncSession, submission_id: UUID) -> ShareSubmission | None:
    return await session.get(ShareSubmission, submission_id)


async def lock_many(session: AsyncSession, submission_ids: list[UUID]) -> list[ShareSubmission]:
    # Locked in id order so that two batches deciding overlapping submissions never deadlock;
    # populate_existing: a row already in the session is read again now that it is locked.
    query = (
        select(ShareSubmission)
        .where(ShareSubmission.id.in_(submission_ids))
        .order_by(ShareSubmission.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def list_queue(
    session: AsyncSession, *, status: str, campaign_id: UUID | None, limit: int, offset: int
) -> list[ShareSubmission]:
    query = (
        select(ShareSubmission)
        .where(ShareSubmission.status == status)
        .order_by(ShareSubmission.submitted_at, ShareSubmission.id)
    )
    if campaign_id is not None:
        query = query.where(ShareSubmission.campaign_id == campaign_id)
    return list(await session.scalars(query.limit(limit).offset(offset)))


async def list_for_code(session: AsyncSession, referral_code_id: UUID) -> list[ShareSubmission]:
    query = (
        select(ShareSubmission)
        .where(ShareSubmission.referral_code_id == referral_code_id)
        .order_by(ShareSubmission.submitted_at.desc(), ShareSubmission.id.desc())
    )
    return list(await session.scalars(query))


async def rewards_for(session: AsyncSession, submission_ids: list[UUID]) -> dict[UUID, Reward]:
    """The reward each submission earned (the newest, should a campaign have given several)."""
    if not submission_ids:
        return {}
    query = (
        select(Reward)
        .where(Reward.share_submission_id.in_(submission_ids))
        .order_by(Reward.created_at, Reward.id)
    )
    return {r.share_submission_id: r for r in await session.scalars(query) if r.share_submission_id}


async def count_submissions(
    session: AsyncSession, *, since: datetime, until: datetime, campaign_id: UUID | None
) -> tuple[int, int]:
    """``(submitted, approved)``: the posts submitted in ``[since, until)``."""
    approved = func.coalesce(func.sum(case((ShareSubmission.status == "approved", 1), else_=0)), 0)
    query = select(func.count(), approved).where(
        ShareSubmission.submitted_at >= since, ShareSubmission.submitted_at < until
    )
    if campaign_id is not None:
        query = query.where(ShareSubmission.campaign_id == campaign_id)
    submitted, approved_count = (await session.execute(query)).one()
    return int(submitted), int(approved_count)

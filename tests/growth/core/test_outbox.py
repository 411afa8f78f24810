"""The transactional outbox: events commit with their change and are handled exactly once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxDelivery, OutboxEvent
from growth.core.events.service import DomainEvent, Subscriptions, dispatch_pending, publish, retry_delay
from growth.core.time import utc_now
from tests.factories import create_campaign, create_customer, issue_code


def failing_once(handler):  # type: ignore[no-untyped-def]
    """The real handler, made to fail after its writes the first time it runs."""
    calls = {"n": 0}

    async def wrapped(session: AsyncSession, event: DomainEvent) -> None:
        calls["n"] += 1
        await handler(session, event)
        if calls["n"] == 1:
            raise RuntimeError("transient failure after the handler wrote")

    return wrapped, calls


async def _codes_issued(session_maker: SessionMaker, campaign_id: object) -> int:
    async with session_maker() as s:
        return await s.scalar(select(Campaign.codes_issued).where(Campaign.id == campaign_id)) or 0


class TestPublish:
    async def test_event_is_written_with_the_change_and_rolled_back_with_it(
        self, session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        await session.commit()
        await issue_code(session, campaign=campaign, customer=await create_customer(session))
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 1

        await session.rollback()

        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0

    async def test_issued_event_carries_the_code(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        event = await session.scalar(select(OutboxEvent))
        assert event is not None and event.name == "referral_code.issued"
        assert event.payload["code"] == code.code
        assert event.payload["campaign_id"] == str(campaign.id)


class TestDispatch:
    async def test_handler_failing_once_takes_effect_exactly_once(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        handler, calls = failing_once(campaign_service.on_referral_code_issued)
        subscriptions = Subscriptions()
        subscriptions.add("referral_code.issued", "campaigns.count_code_issued", handler)

        assert await dispatch_pending(session_maker, subscriptions) == 0
        # The failed attempt's writes were rolled back and a retry is scheduled.
        assert await _codes_issued(session_maker, campaign.id) == 0
        async with session_maker() as s:
            event = await s.scalar(select(OutboxEvent))
        assert event is not None and event.attempts == 1 and event.processed_at is None
        assert "transient failure" in (event.last_error or "")
        assert event.next_attempt_at is not None

        # Not due yet: nothing happens.
        assert await dispatch_pending(session_maker, subscriptions) == 0
        # Due: handled once; later drains do nothing more.
        later = utc_now() + retry_delay(1) * 2
        assert await dispatch_pending(session_maker, subscriptions, now=later) == 1
        assert await dispatch_pending(session_maker, subscriptions, now=later) == 0

        assert calls["n"] == 2
        assert await _codes_issued(session_maker, campaign.id) == 1
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(OutboxDelivery)) == 1
            event = await s.scalar(select(OutboxEvent))
        assert event is not None and event.processed_at is not None

    async def test_each_subscriber_is_tracked_separately(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        flaky, _ = failing_once(campaign_service.on_referral_code_issued)
        seen: list[str] = []

        async def audit(_: AsyncSession, event: DomainEvent) -> None:
            seen.append(event.payload["code"])

        subscriptions = Subscriptions()
        subscriptions.add("referral_code.issued", "audit", audit)
        subscriptions.add("referral_code.issued", "campaigns.count_code_issued", flaky)

        await dispatch_pending(session_maker, subscriptions)
        await dispatch_pending(session_maker, subscriptions, now=utc_now() + retry_delay(1) * 2)

        assert len(seen) == 1  # the audit subscriber succeeded the first time and was not re-run
        assert await _codes_issued(session_maker, campaign.id) == 1

    async def test_events_nobody_subscribes_to_are_closed(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await publish(session, "order.unheard_of", {"x": 1})
        await session.commit()

        assert await dispatch_pending(session_maker, Subscriptions()) == 1
        async with session_maker() as s:
            assert await s.scalar(select(OutboxEvent.processed_at)) is not None

    async def test_concurrent_workers_apply_an_event_once(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        subscriptions = Subscriptions()
        subscriptions.add(
            "referral_code.issued", "campaigns.count_code_issued", campaign_service.on_referral_code_issued
        )

        await asyncio.gather(*[dispatch_pending(session_maker, subscriptions) for _ in range(5)])

        assert await _codes_issued(session_maker, campaign.id) == 1
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(OutboxDelivery)) == 1


def test_subscribing_a_handler_name_twice_is_refused() -> None:
    subscriptions = Subscriptions()
    subscriptions.add("a", "h", campaign_service.on_referral_code_issued)
    with pytest.raises(ValueError, match="already subscribed"):
        subscriptions.add("a", "h", campaign_service.on_referral_code_issued)


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 2), (2, 4), (5, 32), (11, 1800), (40, 1800)])
def test_retry_delay_backs_off_and_is_capped(attempts: int, seconds: int) -> None:
    assert retry_delay(attempts).total_seconds() == seconds

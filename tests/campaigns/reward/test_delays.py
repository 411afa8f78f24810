"""Delay alerts of rewards on a real database: a pack out of stock past its time, a pack not shipped,
an order in review too long. Each is found once by the app's delay check, never twice, and published
as ``delay.alerted`` through the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.reward import service as reward_service
from campaigns.reward.rules import OutOfStock
from growth.alert.models import DelayAlert
from growth.app import check_delays
from growth.core.events.models import OutboxEvent
from growth.settings import Settings
from tests.campaigns.reward.test_review_holds import held_order
from tests.campaigns.reward.test_service import (
    ADDRESS,
    HOLD,
    NOW,
    Outbox,
    close,
    one,
    outbox,
    pack,
    pack_campaign,
    place,
    referral_campaign,
    referrer,
)

__all__ = ["outbox"]

DAY = timedelta(days=1)


async def alerts(session: AsyncSession) -> list[DelayAlert]:
    return list(await session.scalars(select(DelayAlert).order_by(DelayAlert.detected_at)))


async def published(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.name == "delay.alerted"))
    return [dict(r.payload) for r in rows]


class TestOutOfStock:
    async def test_found_once_past_the_fulfilment_time_with_the_options(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        await pack(session, "TEA-01", stock=0)
        campaign = await pack_campaign(session, OutOfStock.wait)
        alice, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))
        reward = await one(session, campaign)
        assert reward.is_waiting_for_stock
        due = NOW + (HOLD + settings.gift_pack_fulfilment_days) * DAY

        assert await check_delays(session, due, settings=settings) == 0
        assert await check_delays(session, due + timedelta(seconds=1), settings=settings) == 1
        assert await check_delays(session, due + 2 * DAY, settings=settings) == 0

        (alert,) = await alerts(session)
        assert (alert.kind, alert.recipient_type, alert.recipient_id, alert.subject_id) == (
            "gift_pack_out_of_stock",
            "customer",
            alice.id,
            reward.id,
        )
        assert alert.expected_at == due
        assert alert.options == ["take_store_credit_now", "wait_for_restock"]
        assert alert.context["item_name"] == "Pack TEA-01" and alert.context["amount"] == 3500
        assert await published(session) == [
            {
                "alert_id": str(alert.id),
                "kind": "gift_pack_out_of_stock",
                "recipient_type": "customer",
                "recipient_id": str(alice.id),
                "subject_id": str(reward.id),
                "expected_at": due.isoformat(),
                "detected_at": (due + timedelta(seconds=1)).isoformat(),
                "detail": "Pack TEA-01 is out of stock",
                "options": ["take_store_credit_now", "wait_for_restock"],
                "context": alert.context,
            }
        ]


class TestNotShipped:
    async def test_approved_pack_waiting_for_the_address(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        await pack(session, "TEA-01", stock=2)
        campaign = await pack_campaign(session, OutOfStock.none)
        alice, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))
        approved_at = NOW + HOLD * DAY
        assert await reward_service.approve_due(session, now=approved_at) == 1
        reward = await one(session, campaign)
        assert reward.status == "approved"

        assert await check_delays(session, approved_at + 7 * DAY, settings=settings) == 0
        assert await check_delays(session, approved_at + 8 * DAY, settings=settings) == 1
        (alert,) = await alerts(session)
        assert (alert.kind, alert.subject_id, alert.expected_at) == (
            "gift_pack_not_shipped",
            reward.id,
            approved_at + 7 * DAY,
        )
        assert alert.options == ["confirm_address", "contact_support"]

        # The address comes: the shipment is requested but does not ship. Still one alert for the reward.
        await reward_service.confirm_address(
            session, reward_id=reward.id, customer_id=alice.id, address=ADDRESS, now=approved_at + 9 * DAY
        )
        assert await check_delays(session, approved_at + 30 * DAY, settings=settings) == 0
        assert len(await alerts(session)) == 1 and len(await published(session)) == 1

    async def test_requested_shipment_not_shipped(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        await pack(session, "TEA-01", stock=2)
        campaign = await pack_campaign(session, OutOfStock.none)
        alice, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))
        await reward_service.approve_due(session, now=NOW + HOLD * DAY)
        reward = await one(session, campaign)
        requested_at = NOW + (HOLD + 1) * DAY
        await reward_service.confirm_address(
            session, reward_id=reward.id, customer_id=alice.id, address=ADDRESS, now=requested_at
        )

        assert await check_delays(session, requested_at + 7 * DAY, settings=settings) == 0
        assert (
            await check_delays(session, requested_at + 7 * DAY + timedelta(seconds=1), settings=settings) == 1
        )
        (alert,) = await alerts(session)
        assert (alert.kind, alert.expected_at, alert.options) == (
            "gift_pack_not_shipped",
            requested_at + 7 * DAY,
            ["wait", "contact_support"],
        )


class TestInReview:
    async def test_held_longer_than_the_review_time(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        campaign = await referral_campaign(session)
        alice, code = await referrer(session, campaign)
        await held_order(session, outbox, code)
        reward = await one(session, campaign)
        assert reward.is_order_held

        assert await check_delays(session, NOW + 3 * DAY, settings=settings) == 0
        assert await check_delays(session, NOW + 4 * DAY, settings=settings) == 1
        assert await check_delays(session, NOW + 5 * DAY, settings=settings) == 0
        (alert,) = await alerts(session)
        assert (alert.kind, alert.recipient_id, alert.subject_id, alert.expected_at) == (
            "reward_in_review",
            alice.id,
            reward.id,
            NOW + 3 * DAY,
        )
        # The customer is told it is in review, never the firewall's reasons.
        assert alert.detail == "the reward's order is still in review"

    async def test_rewards_on_time_raise_nothing(
        self, session: AsyncSession, outbox: Outbox, settings: Settings
    ) -> None:
        campaign = await referral_campaign(session)
        _, code = await referrer(session, campaign)
        await close(session, outbox, await place(session, outbox, code))

        assert await check_delays(session, NOW + 365 * DAY, settings=settings) == 0
        assert await alerts(session) == []

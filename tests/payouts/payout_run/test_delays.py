"""A failed payout raises one delay alert for its partner (through the real ``stripe`` library into the
local stand-in), found once however often the delay check runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.alert.models import DelayAlert
from growth.app import check_delays
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.settings import Settings
from payouts.payout_run import service as payout_run_service
from tests.payouts.payout_run.helpers import NOW, partner_with
from tests.payouts.payout_run.test_service import create, providers
from tests.payouts.stripe_standin import StripeStandIn


async def test_failed_payout_alerts_its_partner_once(
    session: AsyncSession, session_maker: SessionMaker, stripe_standin: StripeStandIn, settings: Settings
) -> None:
    await partner_with(session, payable=15_000)
    bad = await partner_with(session, payable=25_000, acct="acct_gone")
    stripe_standin.declined["acct_gone"] = "No such destination: 'acct_gone'"
    run_id = await create(session)
    await payout_run_service.execute_run(session_maker, run_id, providers=providers(stripe_standin), now=NOW)

    async with session_maker() as s, s.begin():
        assert await check_delays(s, NOW + timedelta(hours=1), settings=settings) == 1
    async with session_maker() as s, s.begin():
        assert await check_delays(s, NOW + timedelta(days=2), settings=settings) == 0

    async with session_maker() as s:
        (alert,) = await s.scalars(select(DelayAlert))
        failed = next(
            p for p in (await payout_run_service.run_detail(s, run_id)).payouts if p.partner_id == bad
        )
        assert (alert.kind, alert.recipient_type, alert.recipient_id, alert.subject_id) == (
            "payout_failed",
            "partner",
            bad,
            failed.id,
        )
        assert alert.options == ["update_payout_account", "contact_support"]
        assert "No such destination" in alert.detail
        assert alert.context == {
            "run_id": str(run_id),
            "amount": 25_000,
            "currency": "CNY",
            "provider": "stripe",
        }
        events = list(await s.scalars(select(OutboxEvent).where(OutboxEvent.name == "delay.alerted")))
        assert [e.payload["subject_id"] for e in events] == [str(failed.id)]
        assert events[0].payload["recipient_type"] == "partner"

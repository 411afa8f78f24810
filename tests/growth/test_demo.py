"""The demo (``growth demo``): eight weeks of history that fill the dashboard, loaded once however often
it runs. Through the API, as marketing would read it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.time import utc_now
from growth.demo import DEMO_CUSTOMERS, HISTORY_DAYS, HISTORY_REFERRERS, load_demo
from growth.settings import Settings
from tests.factories import bearer
from tests.pages import HTML, sign_in

TABLES = (
    "customers",
    "referral_codes",
    "clicks",
    "orders",
    "order_transitions",
    "order_reviews",
    "rewards",
    "commissions",
    "ledger_entries",
    "ledger_lines",
    "share_submissions",
    "delay_alerts",
    "notification_emails",
    "outbox_events",
)


async def _counts(session: AsyncSession) -> dict[str, int]:
    counts = {t: int(await session.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TABLES}
    counts["unhandled events"] = int(
        await session.scalar(text("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL")) or 0
    )
    return counts


async def test_history_fills_the_dashboard(
    session: AsyncSession, client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    async with session.begin():
        loaded = await load_demo(session, settings)
    headers = bearer(loaded.admin_key)
    today = utc_now().astimezone(ZoneInfo(settings.timezone)).date()
    weeks = {"from": (today - timedelta(days=HISTORY_DAYS)).isoformat(), "to": today.isoformat()}

    summary = (await client.get("/api/analytics/summary", params=weeks, headers=headers)).json()
    heatmap = (await client.get("/api/analytics/heatmap", params=weeks, headers=headers)).json()
    funnel = (await client.get("/api/analytics/funnel", params=weeks, headers=headers)).json()
    partners = (await client.get("/api/analytics/top-partners", params=weeks, headers=headers)).json()
    alerts = (await client.get("/api/alerts", headers=headers)).json()

    assert 150 <= summary["orders"] <= 260, summary
    assert summary["orders"] < 3 * summary["referred_orders"] < 2 * summary["orders"]  # about a third
    assert summary["clicks"] > summary["referred_orders"]
    assert summary["reward_cost"] and summary["commission_cost"], summary
    assert summary["hold_rate_bps"], summary  # a few friends used throwaway addresses: held for review
    assert summary["share_approvals"] >= 3
    clicks, referred, closed, rewarded = funnel["values"]
    assert clicks > referred > closed > rewarded > 0, funnel
    assert [p["name"] for p in partners["rows"]] == ["Northwind Consulting", "Lotus Retail Partners"]
    values = heatmap["values"]  # [weekday][hour], Monday first
    per_weekend_day, per_weekday = sum(map(sum, values[5:])) / 2, sum(map(sum, values[:5])) / 5
    assert per_weekend_day > 1.3 * per_weekday, values
    evening, morning = (
        sum(row[h] for row in values for h in range(18, 23)),
        sum(row[h] for row in values for h in range(6, 11)),
    )
    assert evening > 2 * morning, values
    kinds = {a["kind"] for a in alerts}
    assert "gift_pack_not_shipped" in kinds, alerts
    await sign_in(client, loaded.admin_key)
    page = (await client.get("/marketing/alerts", headers=HTML)).text
    told = [c[2] for c in (*DEMO_CUSTOMERS, *HISTORY_REFERRERS) if f"Customer {c[2]}" in page]
    assert told and "<code>" not in page, page  # marketing reads who was told by name, not by id
    async with session.begin():
        approved = await session.scalar(text("SELECT count(*) FROM commissions WHERE status = 'approved'"))
        counts = await _counts(session)
    assert approved, "old enough partner orders have their commission approved"
    assert counts["unhandled events"] == 0


async def test_loading_twice_changes_nothing(session: AsyncSession, settings: Settings) -> None:
    async with session.begin():
        first = await load_demo(session, settings)
    async with session.begin():
        before = await _counts(session)
        ledger = await session.scalar(text("SELECT sum(abs(amount)) FROM ledger_lines"))
    async with session.begin():
        second = await load_demo(session, settings)
    async with session.begin():
        assert await _counts(session) == before
        assert await session.scalar(text("SELECT sum(abs(amount)) FROM ledger_lines")) == ledger
    assert second.codes == first.codes and second.partner_code == first.partner_code
    assert second.admin_key != first.admin_key  # each run prints a fresh key

"""``GET /api/alerts``: marketing and finance read delay alerts, newest first, filtered; others may not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.alert import service as alert_service
from growth.core.auth.rules import Role
from tests.factories import bearer, create_customer, create_key, create_partner

Client = AsyncTestClient[Litestar]
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


async def seed(session: AsyncSession) -> tuple[str, str]:
    # Real recipients: the notification subscriber of ``delay.alerted`` looks them up.
    customer, partner = (await create_customer(session)).id, (await create_partner(session)).id
    late_pack = alert_service.delay(
        alert_service.AlertKind.gift_pack_out_of_stock,
        recipient_type=alert_service.RecipientType.customer,
        recipient_id=customer,
        subject_id=uuid4(),
        expected_at=T0,
        detail="Spring tea sampler is out of stock",
    )
    failed = alert_service.delay(
        alert_service.AlertKind.payout_failed,
        recipient_type=alert_service.RecipientType.partner,
        recipient_id=partner,
        subject_id=uuid4(),
        expected_at=T0,
        detail="payout failed: account closed",
    )
    assert await alert_service.raise_alerts(session, [late_pack], now=T0 + timedelta(days=1)) == 1
    assert await alert_service.raise_alerts(session, [failed, late_pack], now=T0 + timedelta(days=2)) == 1
    await session.commit()
    return str(customer), str(partner)


async def test_newest_first_with_filters(client: Client, session: AsyncSession) -> None:
    customer, partner = await seed(session)
    headers = bearer(await create_key(session, role=Role.marketing))
    await session.commit()

    response = await client.get("/api/alerts", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-total-count"] == "2"
    listed = response.json()
    assert [(a["kind"], a["recipient_type"], a["recipient_id"]) for a in listed] == [
        ("payout_failed", "partner", partner),
        ("gift_pack_out_of_stock", "customer", customer),
    ]
    assert listed[1]["options"] == ["take_store_credit_now", "wait_for_restock"]
    assert listed[1]["detected_at"].startswith("2026-12-02T09:00:00")

    only = (await client.get("/api/alerts", params={"recipient_type": "customer"}, headers=headers)).json()
    assert [a["kind"] for a in only] == ["gift_pack_out_of_stock"]
    only = (await client.get("/api/alerts", params={"kind": "payout_failed"}, headers=headers)).json()
    assert [a["recipient_id"] for a in only] == [partner]
    since = (T0 + timedelta(days=1, hours=12)).isoformat()
    only = (await client.get("/api/alerts", params={"since": since}, headers=headers)).json()
    assert [a["kind"] for a in only] == ["payout_failed"]
    paged = (await client.get("/api/alerts", params={"limit": 1, "offset": 1}, headers=headers)).json()
    assert [a["kind"] for a in paged] == ["gift_pack_out_of_stock"]


async def test_bad_filters_are_400_with_the_reason(client: Client, session: AsyncSession) -> None:
    headers = bearer(await create_key(session, role=Role.finance))
    await session.commit()

    for params, words in (
        ({"kind": "late_pizza"}, "unknown alert kind"),
        ({"recipient_type": "merchant"}, "customer or partner"),
        ({"since": "2026-12-01T09:00:00"}, "time zone"),
    ):
        response = await client.get("/api/alerts", params=params, headers=headers)
        assert response.status_code == 400, (params, response.text)
        assert words in response.text
    assert (await client.get("/api/alerts", params={"limit": 0}, headers=headers)).status_code == 400


async def test_only_marketing_finance_and_admin(client: Client, session: AsyncSession) -> None:
    keys = {role: bearer(await create_key(session, role=role)) for role in Role}
    await session.commit()

    assert (await client.get("/api/alerts")).status_code == 401
    for role in (Role.partner, Role.shop):
        assert (await client.get("/api/alerts", headers=keys[role])).status_code == 403, role
    for role in (Role.marketing, Role.finance, Role.admin):
        assert (await client.get("/api/alerts", headers=keys[role])).status_code == 200, role

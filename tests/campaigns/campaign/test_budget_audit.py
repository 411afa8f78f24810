"""A change of a campaign's budget, through the API or marketing's edit form, leaves an audit entry
with the budget before and after and who changed it; other changes and refused ones leave none."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.rules import CampaignStatus
from growth.audit.models import AuditEntry
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from tests.campaigns.campaign.test_pages import FORM, PAGES
from tests.factories import bearer, create_campaign, create_key
from tests.pages import post_form, sign_in


async def entries(session_maker: SessionMaker) -> list[AuditEntry]:
    async with session_maker() as s:
        query = select(AuditEntry).where(AuditEntry.action == "campaign.budget_changed")
        return list(await s.scalars(query.order_by(AuditEntry.sequence)))


async def test_an_api_budget_change_is_audited_and_other_changes_are_not(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
) -> None:
    key = bearer(await create_key(session, role=Role.marketing, name="lin"))
    campaign = await create_campaign(session, currency="CNY", budget_amount=500000)
    await session.commit()
    url = f"/api/campaigns/{campaign.id}"

    assert (await client.patch(url, json={"name": "Renamed"}, headers=key)).status_code == 200
    refused = await client.patch(url, json={"budget_amount": -1}, headers=key)
    assert refused.status_code in (400, 422), refused.text
    assert await entries(session_maker) == []

    changed = await client.patch(url, json={"budget_amount": 800000}, headers=key)
    assert changed.status_code == 200, changed.text
    [entry] = await entries(session_maker)
    assert (entry.subject_type, entry.subject_id) == ("campaign", str(campaign.id))
    assert entry.before == {"budget_amount": 500000, "budget_spent": 0, "currency": "CNY"}
    assert entry.after == {"budget_amount": 800000, "budget_spent": 0, "currency": "CNY"}
    assert (entry.actor_kind, entry.actor_name) == ("api_key", "lin (marketing)")


async def test_a_budget_change_in_the_edit_form_is_audited(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
) -> None:
    key = await create_key(session, role=Role.marketing, name="lin")
    campaign = await create_campaign(
        session, status=CampaignStatus.active, currency="CNY", budget_amount=500000
    )
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    page = f"{PAGES}/{campaign.id}"

    response = await post_form(client, page, page, FORM | {"budget_amount": ""})  # unlimited now
    assert response.status_code == 303, response.text
    [entry] = await entries(session_maker)
    assert entry.before == {"budget_amount": 500000, "budget_spent": 0, "currency": "CNY"}
    assert entry.after == {"budget_amount": None, "budget_spent": 0, "currency": "CNY"}
    assert entry.actor_name == "lin (marketing)"

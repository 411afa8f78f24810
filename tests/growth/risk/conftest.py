"""Fixtures of the risk firewall's tests: keys of every role, and a referral code to order with."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code


@pytest.fixture
async def keys(session: AsyncSession) -> dict[str, dict[str, str]]:
    made = {role: bearer(await create_key(session, role=role, name=f"{role.value} key")) for role in Role}
    await session.commit()
    return {role.value: headers for role, headers in made.items()}


@pytest.fixture
async def code(session: AsyncSession) -> str:
    campaign = await create_campaign(session, name="Spring friends")
    referrer = await create_customer(session, external_id="mei", email="mei@example.com", name="Mei Wang")
    issued = await issue_code(session, campaign=campaign, customer=referrer)
    await session.commit()
    return issued.code

"""The analytics' tests: an app in Asia/Shanghai, keys of every role, and the seeded program."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.settings import Settings
from tests.conftest import BASE_URL
from tests.factories import bearer, create_key
from tests.growth.analytics.seed import TIMEZONE, Seed, build, write


@pytest.fixture
def app(settings: Settings) -> Litestar:
    from growth.app import create_app

    return create_app(dataclasses.replace(settings, timezone=TIMEZONE))


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def keys(session: AsyncSession) -> dict[str, dict[str, str]]:
    made = {role: bearer(await create_key(session, role=role, name=f"{role.value} key")) for role in Role}
    await session.commit()
    return {role.value: headers for role, headers in made.items()}


@pytest.fixture
async def seed(session: AsyncSession) -> Seed:
    written = await write(session, build())
    await session.commit()
    return written

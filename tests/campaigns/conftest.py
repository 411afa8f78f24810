"""Fixtures of the campaigns package's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from tests.factories import create_key
from tests.pages import sign_in


@pytest.fixture
async def marketing(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The client, signed in to the marketing pages with a marketing key."""
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    yield client

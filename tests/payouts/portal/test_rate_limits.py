"""Sign-in links are rate limited per client, for asking for one and for opening one."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.settings import Settings
from payouts.portal.models import PartnerSignInLink
from tests.factories import create_partner
from tests.pages import HTML
from tests.payouts.portal.conftest import Inbox, ask_for_link


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(rate_limit_sign_in="4/600")


async def _links(session_maker: SessionMaker) -> int:
    async with session_maker() as s:
        return int(await s.scalar(select(func.count()).select_from(PartnerSignInLink)) or 0)


async def test_asking_past_the_limit_sends_and_stores_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker, mails: Inbox
) -> None:
    await create_partner(session, name="Northwind", email="ada@northwind.example")
    await session.commit()
    for _ in range(4):
        assert (await ask_for_link(client, "ada@northwind.example")).status_code == 303
    refused = await ask_for_link(client, "ada@northwind.example")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    assert "Too many attempts" in refused.text  # a page, in the browser's language
    assert await _links(session_maker) == 4  # nothing sent or stored for the refused one
    mails.wait_for("ada@northwind.example", 4)
    assert len(mails.to("ada@northwind.example")) == 4


async def test_one_client_may_ask_and_open_only_so_often(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    await create_partner(session, name="Northwind", email="ada@northwind.example")
    await session.commit()
    assert (await ask_for_link(client, "someone@else.example")).status_code == 303  # 1: not a partner
    for n in range(3):  # 2-4: guessed links
        assert (await client.get(f"/partner/sign-in/guess-{n}", headers=HTML)).status_code == 410
    guessed = await client.get("/partner/sign-in/guess-4", headers=HTML)
    assert guessed.status_code == 429
    api = await client.get("/partner/sign-in/guess-5")  # not a browser: the JSON error shape
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "too_many_requests"
    assert api.json()["error"]["details"]["retry_after"] == int(api.headers["retry-after"])

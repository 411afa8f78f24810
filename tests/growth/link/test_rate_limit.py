"""Guessing referral codes is rate limited per client; working links never are."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.settings import Settings
from tests.factories import create_campaign, create_customer, issue_code
from tests.pages import HTML


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(rate_limit_code_lookups="3/600")


async def test_unknown_codes_past_the_limit_are_refused_and_so_is_everything_after(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    campaign = await create_campaign(session)
    code = (await issue_code(session, campaign=campaign, customer=await create_customer(session))).code
    await session.commit()

    for _ in range(20):  # a working link, cached after its first use: never counted
        assert (await client.get(f"/r/{code}", follow_redirects=False)).status_code == 302
    for guess in ("GUESS2345", "GUESS2346"):
        assert (await client.get(f"/r/{guess}", follow_redirects=False)).status_code == 404
    assert (await client.get("/r/GUESS2347/qr.png")).status_code == 404  # QR look-ups count too

    refused = await client.get("/r/GUESS2348", headers=HTML, follow_redirects=False)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    assert "Too many attempts" in refused.text
    # Once refused, a guesser learns nothing from a hit either: the cached code is refused too.
    hit = await client.get(f"/r/{code}", follow_redirects=False)
    assert hit.status_code == 429 and "location" not in hit.headers
    assert hit.json()["error"]["code"] == "too_many_requests"


async def test_no_limit_when_turned_off(client: AsyncTestClient[Litestar], settings: Settings) -> None:
    from growth.app import create_app

    async with AsyncTestClient(create_app(settings.with_overrides(rate_limit_code_lookups="off"))) as c:
        for n in range(10):
            assert (await c.get(f"/r/GUESS{2345 + n}", follow_redirects=False)).status_code == 404

"""Marketing's delay alert page, in English and Simplified Chinese; sign-in required."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from tests.factories import create_key
from tests.growth.alert.test_controllers import seed
from tests.pages import HTML, sign_in

Client = AsyncTestClient[Litestar]


async def test_lists_alerts_with_options_in_both_languages(client: Client, session: AsyncSession) -> None:
    _, partner = await seed(session)
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    assert (await client.get("/marketing/alerts", headers=HTML, follow_redirects=False)).status_code in (
        302,
        303,
    )
    assert (await sign_in(client, key)).status_code == 303

    page = await client.get("/marketing/alerts", headers=HTML)
    assert page.status_code == 200
    assert page.text.count("data-alert-kind=") == 2
    assert (
        "Gift pack out of stock" in page.text and "take store credit now; wait for the restock" in page.text
    )
    assert (
        "Payout failed" in page.text and partner in page.text and "payout failed: account closed" in page.text
    )

    only = await client.get("/marketing/alerts?kind=payout_failed", headers=HTML)
    assert only.text.count("data-alert-kind=") == 1

    zh = await client.get("/marketing/alerts", headers=HTML | {"accept-language": "zh-CN"})
    assert "延误提醒" in zh.text and "立即领取等值余额" in zh.text and "礼包缺货" in zh.text

    bad = await client.get("/marketing/alerts?kind=nope", headers=HTML)
    assert bad.status_code == 400  # the page of errors; the API says which kinds exist

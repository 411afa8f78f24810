"""The referrer's status page (the share page): each referred friend by initials with the stage of their
order and reward and the expected date of the next stage; a held order shows "in review" without the
firewall's reasons; in English and Simplified Chinese. Everything through the API, as a shop does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.campaigns.reward.test_flow import Shop, keys, pass_hold, shop

__all__ = ["keys", "shop"]


def stages(html: str) -> list[str]:
    return re.findall(r'data-stage="([a-z_]+)"', html)


async def test_friends_with_stage_expected_date_and_review(
    shop: Shop, client: AsyncTestClient[Litestar]
) -> None:
    campaign = await shop.campaign()
    await shop.rule(campaign["id"], side="referrer", reward_type="store_credit", amount=2000)
    issued = await shop.code(campaign["id"], "alice", "alice@example.com")
    share_path = "/share/" + issued["share_url"].rsplit("/share/", 1)[1]
    await shop.click(issued["code"])
    for name, customer in (("Bob Li", "bob"), ("Carol Wu", "carol"), ("Dan Xu", "dan")):
        email = f"{customer}@mailinator.com" if customer == "carol" else f"{customer}@example.com"
        body = {"name": name, "email": email}
        response = await client.put(f"/api/customers/{customer}", json=body, headers=shop.keys["admin"])
        assert response.status_code in (200, 201), response.text
    await shop.order("o-bob", "bob", 19900, referral_code=issued["code"])
    for event in ("paid", "closed"):
        await shop.event("o-bob", event)
    # A disposable e-mail domain: the firewall holds Carol's order for review.
    await shop.order("o-carol", "carol", 19900, referral_code=issued["code"])
    await shop.order("o-dan", "dan", 19900, referral_code=issued["code"])

    html = (await client.get(share_path, headers={"accept-language": "en"})).text
    # Newest first: Dan ordered, Carol in review, Bob's order closed with the hold's end expected.
    assert stages(html) == ["ordered", "in_review", "order_closed"]
    assert "D. X." in html and "C. W." in html and "B. L." in html
    assert "@example.com" not in html and "mailinator" not in html
    assert "disposable" not in html  # never the review's reasons
    assert "In review" in html and "We are checking this order" in html
    expected = (datetime.now(UTC) + timedelta(days=14)).strftime("%b %-d, %Y")
    assert f"Expected {expected}" in html
    assert "Friends opened your link once." in html

    zh = (await client.get(share_path, headers={"accept-language": "zh-CN"})).text
    assert "进度" in zh and "审核中" in zh and "订单已完成" in zh and "朋友们已打开你的链接 1 次。" in zh
    assert "我们正在核实这笔订单" in zh
    day = datetime.now(UTC) + timedelta(days=14)
    assert f"{day.year}年{day.month}月{day.day}日" in zh  # dates in the locale's own form

    await pass_hold(client, days=15)
    html = (await client.get(share_path, headers={"accept-language": "en"})).text
    # Bob's reward was approved and issued (store credit): nothing more is expected.
    assert stages(html) == ["ordered", "in_review", "reward_issued"]
    assert "Reward issued" in html
    assert "奖励已发放" in (await client.get(share_path, headers={"accept-language": "zh-CN"})).text

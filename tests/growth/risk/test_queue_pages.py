"""Marketing's review queue pages: sign-in and role, CSRF, the queue and an order's page in English and
Simplified Chinese, decisions one by one and in bulk (post/redirect/get, all or nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from tests.factories import create_key
from tests.growth.risk.queue_data import audit, held, place, review
from tests.pages import HTML, post_form, sign_in

Client = AsyncTestClient[Litestar]
PAGE = "/marketing/reviews"


@pytest.fixture
async def marketing(client: Client, session: AsyncSession) -> AsyncIterator[Client]:
    """The client, signed in to the marketing pages with a marketing key."""
    key = await create_key(session, role=Role.marketing, name="Ada")
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    yield client


def redirected(response: Any, path: str = PAGE) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == path
    return parse_qs(location.query)


class TestAccess:
    async def test_signed_out_is_sent_to_sign_in(self, client: Client) -> None:
        response = await client.get(PAGE, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=%2Fmarketing%2Freviews"

    async def test_finance_may_not_open_the_pages(self, client: Client, session: AsyncSession) -> None:
        key = await create_key(session, role=Role.finance)
        await session.commit()
        await sign_in(client, key)
        response = await client.get(PAGE, headers=HTML)
        assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")

    async def test_decision_without_csrf_token_is_refused(
        self,
        marketing: Client,
        keys: dict[str, dict[str, str]],
        code: str,
        session_maker: SessionMaker,
    ) -> None:
        order_id = await held(marketing, keys, code, 1)
        response = await marketing.post(
            f"{PAGE}/{order_id}/decision", data={"decision": "approve"}, headers=HTML, follow_redirects=False
        )
        assert response.status_code == 403
        assert (await review(session_maker, order_id)).status == "held"


class TestPages:
    async def test_queue_lists_held_orders_with_signals(
        self, marketing: Client, keys: dict[str, dict[str, str]], code: str
    ) -> None:
        order_id = await held(marketing, keys, code, 1, name="Zhang San", device_id="D-1")
        await place(marketing, keys, "sib", "sib", referral_code=code, device_id="D-1", minutes_ago=30)
        await place(marketing, keys, "fine", "fine", referral_code=code)

        page = await marketing.get(PAGE, headers=HTML)
        assert page.status_code == 200
        html = page.text
        assert f'id="review-{order_id}"' in html and "held-1" in html and ">fine<" not in html
        assert "Disposable e-mail address" in html and "a disposable e-mail domain" in html
        assert "f***@mailinator.com" in html and "f1@mailinator.com" not in html
        assert "Z. S." in html and "Spring friends" in html and "Same device: 1" in html
        assert 'href="/marketing/reviews" aria-current="page"' in html  # the marketing nav

        zh = await marketing.get(PAGE, headers=HTML | {"accept-language": "zh-CN,zh;q=0.9"})
        assert '<html lang="zh-Hans">' in zh.text
        assert "订单审核" in zh.text and "一次性电子邮箱" in zh.text and "批量通过" in zh.text

        approved = await marketing.get(f"{PAGE}?status=approved", headers=HTML)
        assert "No orders here." in approved.text

    async def test_an_orders_page_shows_everything_to_decide(
        self, marketing: Client, keys: dict[str, dict[str, str]], code: str
    ) -> None:
        order_id = await held(marketing, keys, code, 1, device_id="D-1", amount=12345)
        await place(marketing, keys, "sib", "sib", referral_code=code, device_id="D-1", minutes_ago=30)
        page = await marketing.get(f"{PAGE}/{order_id}", headers=HTML)
        assert page.status_code == 200
        html = page.text
        assert "Order held-1" in html and "disposable_email" in html
        assert "Risk check: held for review" in html  # the attribution's explanation
        assert 'id="related-same_device"' in html and ">sib<" in html and 'id="approve"' in html
        assert "123.45" in html and "f1@mailinator.com" not in html
        assert (
            await marketing.get(f"{PAGE}/00000000-0000-0000-0000-000000000000", headers=HTML)
        ).status_code == 404


class TestDecisions:
    async def test_approve_from_the_orders_page(
        self,
        marketing: Client,
        keys: dict[str, dict[str, str]],
        code: str,
        session_maker: SessionMaker,
    ) -> None:
        order_id = await held(marketing, keys, code, 1)
        url = f"{PAGE}/{order_id}"
        response = await post_form(marketing, url, f"{url}/decision", {"decision": "approve", "note": ""})
        assert redirected(response) == {"notice": ["approved"], "count": ["1"]}
        stored = await review(session_maker, order_id)
        assert (stored.status, stored.decided_by) == ("approved", "Ada (marketing)")
        [entry] = await audit(session_maker)
        assert entry.action == "order_review.approved"
        queue = await marketing.get(response.headers["location"], headers=HTML)
        assert "1 order approved" in queue.text
        detail = await marketing.get(url, headers=HTML)
        assert 'id="approve"' not in detail.text and "Review: approved by Ada (marketing)." in detail.text

        again = await post_form(marketing, url, f"{url}/decision", {"decision": "approve"})
        assert redirected(again) == {"notice": ["approved"], "count": ["0"]}  # a second submit: no change
        assert (
            "Nothing changed: already decided that way."
            in (await marketing.get(again.headers["location"], headers=HTML)).text
        )
        assert len(await audit(session_maker)) == 1

    async def test_reject_without_a_note_goes_back_with_the_error(
        self,
        marketing: Client,
        keys: dict[str, dict[str, str]],
        code: str,
        session_maker: SessionMaker,
    ) -> None:
        order_id = await held(marketing, keys, code, 1)
        url = f"{PAGE}/{order_id}"
        response = await post_form(marketing, url, f"{url}/decision", {"decision": "reject", "note": "  "})
        assert redirected(response, url) == {"error": ["note_required"]}
        page = await marketing.get(response.headers["location"], headers=HTML)
        assert "Write a note to say why the order is rejected." in page.text
        assert (await review(session_maker, order_id)).status == "held"

        response = await post_form(marketing, url, f"{url}/decision", {"decision": "reject", "note": "Fake"})
        assert redirected(response) == {"notice": ["declined"], "count": ["1"]}
        assert (await review(session_maker, order_id)).note == "Fake"

        response = await post_form(marketing, url, f"{url}/decision", {"decision": "approve"})
        assert redirected(response, url) == {"error": ["review_already_decided"]}
        assert (await review(session_maker, order_id)).status == "declined"

    async def test_bulk_from_the_queue_all_or_nothing(
        self,
        marketing: Client,
        keys: dict[str, dict[str, str]],
        code: str,
        session_maker: SessionMaker,
    ) -> None:
        ids = [await held(marketing, keys, code, n) for n in (1, 2, 3)]
        allowed = await place(marketing, keys, "fine", "fine", referral_code=code)
        action = f"{PAGE}/decisions"

        response = await post_form(
            marketing, PAGE, action, {"ids": ids[:2], "decision": "reject", "note": ""}
        )
        assert redirected(response) == {"error": ["note_required"]}
        response = await post_form(marketing, PAGE, action, {"decision": "approve"})
        assert redirected(response) == {"error": ["nothing_selected"]}
        response = await post_form(marketing, PAGE, action, {"ids": [*ids, allowed], "decision": "approve"})
        assert redirected(response) == {"error": ["review_not_held"]}
        assert {(await review(session_maker, i)).status for i in ids} == {"held"}
        assert await audit(session_maker) == []

        response = await post_form(
            marketing, PAGE, action, {"ids": ids[:2], "decision": "reject", "note": "One household"}
        )
        assert redirected(response) == {"notice": ["declined"], "count": ["2"]}
        response = await post_form(marketing, PAGE, action, {"ids": ids[2], "decision": "approve"})
        assert redirected(response) == {"notice": ["approved"], "count": ["1"]}
        assert [(await review(session_maker, i)).status for i in ids] == ["declined", "declined", "approved"]
        queue = await marketing.get(f"{PAGE}?notice=declined&count=2", headers=HTML)
        assert "2 orders declined" in queue.text and "No orders are waiting for review." in queue.text

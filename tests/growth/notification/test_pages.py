"""The dashboard's notification pages: the e-mail outbox (marketing, admin) and the webhook delivery log
with re-send (admin), in English and Simplified Chinese, with e-mails and deliveries made by the real
notification flow and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.notification import service as notification_service
from growth.notification.models import NotificationEmail
from growth.settings import Settings
from tests.campaigns.reward.test_flow import ok
from tests.factories import bearer, create_key
from tests.growth.notification.conftest import Receiver
from tests.growth.notification.test_service import event, handle, people
from tests.pages import HTML, csrf_token, sign_in

Client = AsyncTestClient[Litestar]
EMAILS = "/marketing/notifications/emails"
WEBHOOKS = "/marketing/webhooks"
ZH = HTML | {"accept-language": "zh-CN,zh;q=0.9"}
FULL_ADDRESSES = ("alice@example.com", "tea@example.cn", "acme@example.com", "mei@example.cn")


async def signed_in(client: Client, session: AsyncSession, role: Role) -> Client:
    key = await create_key(session, role=role, name=f"{role.value} person")
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    return client


@pytest.fixture
async def admin_api(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.admin, name="api")
    await session.commit()
    return bearer(key)


async def outbox(session_maker: SessionMaker, settings: Settings) -> dict[str, str]:
    """Stored e-mails (no SMTP server) to a customer in English and a partner in Chinese."""
    ids = await people(session_maker)
    await handle(
        session_maker,
        settings,
        event("payout.sent", {"partner_id": ids["tea"], "amount": 123450, "currency": "CNY"}),
        event("reward.issued", {"customer_id": ids["alice"], "amount": 2000, "currency": "USD"}),
    )
    return ids


async def delivered_once(
    client: Client,
    admin_api: dict[str, str],
    session_maker: SessionMaker,
    settings: Settings,
    receiver: Receiver,
) -> dict[str, Any]:
    """An endpoint at the receiver, a payout.sent notification and its first attempt; the delivery."""
    body = {"url": receiver.url, "event_kinds": ["payout_sent"]}
    endpoint = await ok(await client.post("/api/webhooks/endpoints", json=body, headers=admin_api), 201)
    receiver.secret = endpoint["secret"]
    ids = await people(session_maker)
    await handle(session_maker, settings, event("payout.sent", {"partner_id": ids["acme"], "amount": 1}))
    async with session_maker() as s, s.begin():
        await notification_service.deliver_due(s, now=datetime.now(UTC), settings=settings)
    [delivery] = await ok(await client.get("/api/webhooks/deliveries", headers=admin_api))
    return dict(delivery)


def redirected(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == WEBHOOKS
    return parse_qs(location.query)


def resend_token(html: str, delivery_id: str) -> str:
    """The CSRF token of the Re-send form of one delivery."""
    form = re.search(rf'action="/marketing/webhooks/deliveries/{delivery_id}/resend".*?</form>', html, re.S)
    assert form, "no Re-send form for this delivery"
    return csrf_token(form.group(0))


class TestAccess:
    @pytest.mark.parametrize("path", [EMAILS, WEBHOOKS])
    async def test_signed_out_is_sent_to_sign_in(self, client: Client, path: str) -> None:
        response = await client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")

    async def test_finance_may_open_neither(self, client: Client, session: AsyncSession) -> None:
        await signed_in(client, session, Role.finance)
        for path in (EMAILS, WEBHOOKS):
            response = await client.get(path, headers=HTML)
            assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")

    async def test_marketing_sees_the_outbox_but_not_the_webhooks(
        self, client: Client, session: AsyncSession
    ) -> None:
        await signed_in(client, session, Role.marketing)
        page = await client.get(EMAILS, headers=HTML)
        assert page.status_code == 200
        assert 'id="nav-emails"' in page.text and 'id="nav-webhooks"' not in page.text
        assert (await client.get(WEBHOOKS, headers=HTML)).status_code == 403

    @pytest.mark.parametrize("role", [Role.partner, Role.shop])
    async def test_partner_and_shop_keys_cannot_sign_in_to_the_pages(
        self, client: Client, session: AsyncSession, role: Role
    ) -> None:
        key = await create_key(session, role=role)
        await session.commit()
        response = await sign_in(client, key)
        assert response.status_code != 303  # the sign-in page again, without a session
        for path in (EMAILS, WEBHOOKS):
            response = await client.get(path, headers=HTML, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")


class TestEmailOutbox:
    async def test_lists_the_outbox_masked_in_english_and_chinese(
        self, client: Client, session: AsyncSession, session_maker: SessionMaker, settings: Settings
    ) -> None:
        await outbox(session_maker, settings)
        await signed_in(client, session, Role.marketing)

        page = await client.get(EMAILS, headers=HTML)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        html = page.text
        assert re.findall(r'data-kind="(\w+)"', html) == ["reward_issued", "payout_sent"]  # newest first
        assert "a***@example.com" in html and "t***@example.cn" in html
        assert not any(address in html for address in FULL_ADDRESSES)
        assert "Your reward is issued" in html and "您的付款已发出" in html
        assert "Reward issued" in html and "Payout sent" in html and "Stored (no SMTP server)" in html
        assert "English" in html and "简体中文" in html and "2 of 2" in html

        zh = await client.get(EMAILS, headers=ZH)
        assert zh.status_code == 200
        assert "邮件发件箱" in zh.text and "奖励已发放" in zh.text and "付款已发出" in zh.text
        assert "已存储（未配置 SMTP 服务器）" in zh.text and "全部类型" in zh.text
        assert not any(address in zh.text for address in FULL_ADDRESSES)

    async def test_filters_by_kind_and_status(
        self, client: Client, session: AsyncSession, session_maker: SessionMaker, settings: Settings
    ) -> None:
        await outbox(session_maker, settings)
        await signed_in(client, session, Role.marketing)
        only = await client.get(f"{EMAILS}?kind=payout_sent&status=", headers=HTML)
        assert re.findall(r'data-kind="(\w+)"', only.text) == ["payout_sent"]
        assert '<option value="payout_sent" selected>' in only.text
        stored = await client.get(f"{EMAILS}?status=stored", headers=HTML)
        assert len(re.findall(r'data-kind="', stored.text)) == 2
        sent = await client.get(f"{EMAILS}?status=sent", headers=HTML)
        assert 'id="no-emails"' in sent.text

    @pytest.mark.parametrize(
        "query", ["kind=nope", "status=delivered", "page=0", "page=abc", "kind=" + "x" * 200]
    )
    async def test_bad_filters_are_400(self, client: Client, session: AsyncSession, query: str) -> None:
        await signed_in(client, session, Role.marketing)
        response = await client.get(f"{EMAILS}?{query}", headers=HTML)
        assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")

    async def test_the_api_refuses_the_same_filters_and_names_the_known_values(
        self, client: Client, admin_api: dict[str, str]
    ) -> None:
        response = await client.get("/api/notifications/emails?kind=nope", headers=admin_api)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid_notification_filter" and "payout_sent" in error["message"]
        response = await client.get("/api/webhooks/deliveries?status=nope", headers=admin_api)
        assert response.status_code == 400 and "delivered" in response.text

    async def test_pages_through_the_outbox(
        self, client: Client, session: AsyncSession, session_maker: SessionMaker, settings: Settings
    ) -> None:
        ids = await people(session_maker)
        payouts = [event("payout.sent", {"partner_id": ids["acme"], "amount": n}) for n in range(51)]
        await handle(session_maker, settings, *payouts)
        await signed_in(client, session, Role.admin)
        first = await client.get(f"{EMAILS}?kind=payout_sent", headers=HTML)
        assert len(re.findall(r'data-kind="', first.text)) == 50
        assert "Page 1 of 2" in first.text
        assert f'href="{EMAILS}?kind=payout_sent&amp;page=2"' in first.text
        second = await client.get(f"{EMAILS}?kind=payout_sent&page=2", headers=HTML)
        assert len(re.findall(r'data-kind="', second.text)) == 1 and "Page 2 of 2" in second.text

    async def test_an_emails_page_shows_its_text_escaped_and_the_recipient_masked(
        self, client: Client, session: AsyncSession, session_maker: SessionMaker, settings: Settings
    ) -> None:
        await outbox(session_maker, settings)
        async with session_maker() as s, s.begin():
            email = await s.scalar(select(NotificationEmail).where(NotificationEmail.kind == "reward_issued"))
            assert email is not None
            email.body += "\n\n<script>alert(1)</script> alice@example.com"  # as if a name carried them
        await signed_in(client, session, Role.marketing)
        listing = await client.get(EMAILS, headers=HTML)
        assert f'href="{EMAILS}/{email.id}"' in listing.text

        page = await client.get(f"{EMAILS}/{email.id}", headers=HTML)
        assert page.status_code == 200
        assert "Hello Alice," in page.text and "Your reward of $20.00 was issued" in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
        assert "a***@example.com" in page.text and "alice@example.com" not in page.text

        zh = await client.get(f"{EMAILS}/{email.id}", headers=ZH)
        assert "邮件发件箱" in zh.text and "收件人" in zh.text and "alice@example.com" not in zh.text

    async def test_an_unknown_email_is_404(self, client: Client, session: AsyncSession) -> None:
        await signed_in(client, session, Role.marketing)
        response = await client.get(f"{EMAILS}/01a21b94-1c64-760a-8c35-c37c9a5a587d", headers=HTML)
        assert response.status_code == 404


class TestWebhookLog:
    async def test_lists_endpoints_and_attempts_without_the_secret(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        receiver.failures = 1
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        await signed_in(client, session, Role.admin)

        page = await client.get(WEBHOOKS, headers=HTML)
        assert page.status_code == 200
        html = page.text
        assert receiver.url in html and receiver.secret not in html
        row = html.split(f'id="delivery-{delivery["id"]}"')[1].split("</tr>")[0]
        assert 'data-status="pending"' in row and "Pending" in row and "HTTP 500" in row
        assert "the endpoint answered 500" in row and f'id="resend-{delivery["id"]}"' in row
        assert 'id="nav-webhooks"' in html and "Payout sent" in html

        zh = await client.get(WEBHOOKS, headers=ZH)
        assert "投递日志" in zh.text and "待定" in zh.text and "重新发送" in zh.text and "端点" in zh.text

    async def test_filters_by_endpoint_and_status(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        await signed_in(client, session, Role.admin)
        endpoint = delivery["endpoint_id"]
        shown = await client.get(f"{WEBHOOKS}?endpoint_id={endpoint}&status=delivered", headers=HTML)
        assert f'id="delivery-{delivery["id"]}"' in shown.text
        assert f'<option value="{endpoint}" selected>' in shown.text
        none = await client.get(f"{WEBHOOKS}?endpoint_id={endpoint}&status=failed", headers=HTML)
        assert 'id="no-deliveries"' in none.text
        other = await client.get(f"{WEBHOOKS}?endpoint_id=01a21b94-1c64-760a-8c35-c37c9a5a587d", headers=HTML)
        assert 'id="no-deliveries"' in other.text

    @pytest.mark.parametrize("query", ["endpoint_id=nope", "status=stored", "page=-1"])
    async def test_bad_filters_are_400(self, client: Client, session: AsyncSession, query: str) -> None:
        await signed_in(client, session, Role.admin)
        response = await client.get(f"{WEBHOOKS}?{query}", headers=HTML)
        assert response.status_code == 400


class TestResend:
    async def test_resend_makes_a_new_attempt_the_receiver_sees(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        receiver.failures = 1
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        await signed_in(client, session, Role.admin)
        page = await client.get(f"{WEBHOOKS}?status=pending", headers=HTML)

        response = await client.post(
            f"{WEBHOOKS}/deliveries/{delivery['id']}/resend",
            data={"_csrf_token": resend_token(page.text, delivery["id"]), "status": "pending", "page": "1"},
            headers=HTML,
            follow_redirects=False,
        )
        query = redirected(response)
        assert query == {
            "status": ["pending"],
            "resent": ["delivered"],
            "delivery": [delivery["id"]],
            "code": ["204"],
        }
        assert len(receiver.received) == 2 and all(r.is_signature_valid for r in receiver.received)
        assert receiver.received[0].body == receiver.received[1].body

        back = await client.get(response.headers["location"], headers=HTML)
        assert "Re-sent: the endpoint accepted it (HTTP 204)." in back.text
        assert 'id="no-deliveries"' in back.text  # it is no longer pending
        log = await client.get(WEBHOOKS, headers=HTML)
        row = log.text.split(f'id="delivery-{delivery["id"]}"')[1].split("</tr>")[0]
        assert 'data-status="delivered"' in row and row.count("<li>") == 2 and "HTTP 204" in row
        [api] = await ok(await client.get("/api/webhooks/deliveries", headers=admin_api))
        assert api["attempts"] == 2 and [a["status_code"] for a in api["log"]] == [500, 204]

        zh = await client.get(response.headers["location"], headers=ZH)
        assert "已重新发送：端点已接收（HTTP 204）。" in zh.text

    async def test_a_refused_resend_says_so(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        receiver.failures = 2  # the first attempt passed; the re-send is the second request: refused
        await signed_in(client, session, Role.admin)
        page = await client.get(WEBHOOKS, headers=HTML)
        response = await client.post(
            f"{WEBHOOKS}/deliveries/{delivery['id']}/resend",
            data={"_csrf_token": resend_token(page.text, delivery["id"]), "endpoint_id": "junk"},
            headers=HTML,
            follow_redirects=False,
        )
        assert redirected(response)["resent"] == ["not_delivered"]  # the junk filter is dropped
        back = await client.get(response.headers["location"], headers=HTML)
        assert "the endpoint refused it (HTTP 500)" in back.text

    async def test_without_a_csrf_token_nothing_is_sent(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        await signed_in(client, session, Role.admin)
        await client.get(WEBHOOKS, headers=HTML)  # the CSRF cookie is set, but the form's token is missing
        response = await client.post(
            f"{WEBHOOKS}/deliveries/{delivery['id']}/resend", data={}, headers=HTML, follow_redirects=False
        )
        assert response.status_code == 403
        assert len(receiver.received) == 1

    async def test_marketing_cannot_resend(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        await signed_in(client, session, Role.marketing)
        token = csrf_token((await client.get(EMAILS, headers=HTML)).text)  # the sign-out form's token
        response = await client.post(
            f"{WEBHOOKS}/deliveries/{delivery['id']}/resend",
            data={"_csrf_token": token},
            headers=HTML,
            follow_redirects=False,
        )
        assert response.status_code == 403 and len(receiver.received) == 1

    async def test_a_deleted_endpoints_delivery_is_not_resent(
        self,
        client: Client,
        session: AsyncSession,
        admin_api: dict[str, str],
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        delivery = await delivered_once(client, admin_api, session_maker, settings, receiver)
        await signed_in(client, session, Role.admin)
        token = resend_token((await client.get(WEBHOOKS, headers=HTML)).text, delivery["id"])
        url = f"/api/webhooks/endpoints/{delivery['endpoint_id']}"
        assert (await client.delete(url, headers=admin_api)).status_code == 204

        page = await client.get(WEBHOOKS, headers=HTML)
        row = page.text.split(f'id="delivery-{delivery["id"]}"')[1].split("</tr>")[0]
        assert "deleted" in row and "resend" not in row  # the log is kept, without the button
        response = await client.post(
            f"{WEBHOOKS}/deliveries/{delivery['id']}/resend",
            data={"_csrf_token": token},
            headers=HTML,
            follow_redirects=False,
        )
        assert redirected(response) == {"error": ["webhook_endpoint_not_found"]}
        back = await client.get(response.headers["location"], headers=HTML)
        assert "endpoint was deleted" in back.text
        assert len(receiver.received) == 1
        [api] = await ok(await client.get("/api/webhooks/deliveries", headers=admin_api))
        assert api["attempts"] == 1


class TestEndpoints:
    async def test_register_shows_the_secret_once_then_delete(
        self, client: Client, session: AsyncSession, admin_api: dict[str, str]
    ) -> None:
        await signed_in(client, session, Role.admin)
        page = await client.get(WEBHOOKS, headers=HTML)
        assert 'id="no-endpoints"' in page.text and "Register an endpoint" in page.text
        form = {"url": "https://shop.example/hooks", "event_kinds": ["payout_sent", "friend_ordered"]}
        created = await client.post(
            f"{WEBHOOKS}/endpoints", data=form | {"_csrf_token": csrf_token(page.text)}, headers=HTML
        )
        assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
        secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', created.text)
        assert secret and "Friend ordered, Payout sent" in created.text
        [endpoint] = await ok(await client.get("/api/webhooks/endpoints", headers=admin_api))
        assert endpoint["url"] == "https://shop.example/hooks"
        assert endpoint["event_kinds"] == ["friend_ordered", "payout_sent"]

        page = await client.get(WEBHOOKS, headers=HTML)
        assert "https://shop.example/hooks" in page.text and secret.group(1) not in page.text
        zh = await client.get(WEBHOOKS, headers=ZH)
        assert "注册端点" in zh.text and "删除" in zh.text

        deleted = await client.post(
            f"{WEBHOOKS}/endpoints/{endpoint['id']}/delete",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
            follow_redirects=False,
        )
        assert redirected(deleted) == {"done": ["endpoint_deleted"]}
        back = await client.get(deleted.headers["location"], headers=HTML)
        assert "The endpoint was deleted" in back.text and 'id="no-endpoints"' in back.text
        assert await ok(await client.get("/api/webhooks/endpoints", headers=admin_api)) == []
        again = await client.post(
            f"{WEBHOOKS}/endpoints/{endpoint['id']}/delete",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
            follow_redirects=False,
        )
        assert redirected(again) == {"error": ["webhook_endpoint_not_found"]}

    @pytest.mark.parametrize(
        "form",
        [
            {"url": "ftp://shop.example/x", "event_kinds": "payout_sent"},
            {"url": "https://shop.example/x"},
            {"url": "https://shop.example/x", "event_kinds": "payout_exploded"},
        ],
    )
    async def test_a_bad_endpoint_is_refused_and_nothing_is_written(
        self, client: Client, session: AsyncSession, admin_api: dict[str, str], form: dict[str, str]
    ) -> None:
        await signed_in(client, session, Role.admin)
        token = csrf_token((await client.get(WEBHOOKS, headers=HTML)).text)
        response = await client.post(
            f"{WEBHOOKS}/endpoints", data=form | {"_csrf_token": token}, headers=HTML, follow_redirects=False
        )
        assert redirected(response) == {"error": ["invalid_webhook_endpoint"]}
        back = await client.get(response.headers["location"], headers=ZH)
        assert "端点未注册" in back.text
        assert await ok(await client.get("/api/webhooks/endpoints", headers=admin_api)) == []

    async def test_register_and_delete_need_the_csrf_token(
        self, client: Client, session: AsyncSession, admin_api: dict[str, str]
    ) -> None:
        await signed_in(client, session, Role.admin)
        await client.get(WEBHOOKS, headers=HTML)
        form = {"url": "https://shop.example/hooks", "event_kinds": "payout_sent"}
        response = await client.post(f"{WEBHOOKS}/endpoints", data=form, headers=HTML)
        assert response.status_code == 403
        assert await ok(await client.get("/api/webhooks/endpoints", headers=admin_api)) == []

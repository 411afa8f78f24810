"""Notifications against a real database, a real SMTP server and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from growth.app import notification_recipients
from growth.core.db import SessionMaker
from growth.core.events.service import DomainEvent
from growth.core.mail import MailNotSent
from growth.customer import service as customer_service
from growth.notification import service as notification_service
from growth.notification.models import NotificationEmail, WebhookAttempt, WebhookDelivery
from growth.settings import Settings
from payouts.partner import service as partner_service
from tests.conftest import _free_port
from tests.growth.notification.conftest import Inbox, Receiver

PLACED = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 26 November in Shanghai


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        timezone="Asia/Shanghai", mail_from="growth@shop.test", webhook_max_attempts=4
    )


@pytest.fixture
def smtp_settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{inbox[1]}")


def event(name: str, payload: dict[str, Any], *, event_id: UUID | None = None) -> DomainEvent:
    return DomainEvent(event_id or uuid4(), name, payload, PLACED)


async def handle(session_maker: SessionMaker, settings: Settings, *events: DomainEvent) -> None:
    """Run the notification subscriber as the outbox does: one transaction per event."""
    handler = notification_service.make_event_handler(settings, notification_recipients(settings))
    for e in events:
        async with session_maker() as session, session.begin():
            await handler(session, e)


async def people(session_maker: SessionMaker) -> dict[str, str]:
    """Customers and partners in English and Chinese, and a friend with a name."""
    async with session_maker() as s, s.begin():
        upsert = customer_service.upsert_customer
        alice = (
            await upsert(s, external_id="alice", email="alice@example.com", name="Alice", locale="en")
        ).customer
        mei = (
            await upsert(s, external_id="mei", email="mei@example.cn", name="王美", locale="zh-CN")
        ).customer
        bob = (await upsert(s, external_id="bob", email="bob@example.com", name="Bob Li")).customer
        acme = await partner_service.create_partner(s, name="Acme", email="acme@example.com", country="US")
        tea = await partner_service.create_partner(s, name="茶行", email="tea@example.cn", country="CN")
    return {
        k: str(v.id) for k, v in {"alice": alice, "mei": mei, "bob": bob, "acme": acme, "tea": tea}.items()
    }


def events_for(ids: dict[str, str], customer: str, partner: str) -> list[DomainEvent]:
    """One event of each notifying kind, for one customer and one partner."""
    at = PLACED.isoformat()
    money = {"amount": 123450, "currency": "CNY"}
    reward = {"customer_id": ids[customer], "at": at, **money}
    return [
        event(
            "order.attributed",
            {"customer_referrer_id": ids[customer], "referee_customer_id": ids["bob"], "placed_at": at}
            | {"review": "allowed", **money},
        ),
        event("reward.approved", reward),
        event("reward.issued", reward | {"coupon_code": "THANKS-7"}),
        event("reward.approved", reward | {"share_submission_id": str(uuid4()), "amount": 0}),
        event(
            "statement.issued",
            {"partner_id": ids[partner], "period": "2026-10", "currency": "CNY", "closing_payable": 123450}
            | {"issued_at": at},
        ),
        event("payout.sent", {"partner_id": ids[partner], "at": at, **money}),
        event("payout.failed", {"partner_id": ids[partner], "at": at, "error": "declined", **money}),
        event(
            "delay.alerted",
            {"recipient_type": "customer", "recipient_id": ids[customer], "kind": "gift_pack_not_shipped"}
            | {
                "expected_at": at,
                "detected_at": at,
                "options": ["take_store_credit_now", "wait_for_restock"],
            },
        ),
    ]


def body(message: Any) -> str:
    return str(message.get_payload(decode=True).decode())


def subjects(messages: list[Any]) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for m in messages]


class TestEmail:
    async def test_each_kind_reaches_a_real_smtp_server_in_english(
        self, session_maker: SessionMaker, smtp_settings: Settings, inbox: tuple[Inbox, int]
    ) -> None:
        ids = await people(session_maker)
        await handle(session_maker, smtp_settings, *events_for(ids, "alice", "acme"))
        mails = inbox[0]
        to_alice = mails.wait_for("alice@example.com", 5)
        to_acme = mails.wait_for("acme@example.com", 3)
        assert subjects(to_alice) == [
            "A friend ordered with your code",
            "Your reward is approved",
            "Your reward is issued",
            "Your post is approved: a sample is on its way",
            "An update on something that is taking longer than expected",
        ]
        assert "B. L. ordered CN¥1,234.50 on Nov 26, 2026 with your referral code." in body(to_alice[0])
        assert "bob@example.com" not in body(to_alice[0])
        assert "Your coupon code: THANKS-7" in body(to_alice[2])
        assert "Your gift pack has not shipped yet. It was expected by Nov 26, 2026." in body(to_alice[4])
        assert "Your options: take store credit now; wait for the restock" in body(to_alice[4])
        assert subjects(to_acme) == [
            "Your commission statement for 2026-10 is ready",
            "Your payout was sent",
            "Your payout could not be sent",
        ]
        assert "We sent your payout of CN¥1,234.50 on Nov 26, 2026." in body(to_acme[1])
        assert to_acme[0]["From"] == "growth@shop.test" and "Hello Acme," in body(to_acme[0])

    async def test_each_kind_reaches_a_real_smtp_server_in_chinese(
        self, session_maker: SessionMaker, smtp_settings: Settings, inbox: tuple[Inbox, int]
    ) -> None:
        ids = await people(session_maker)
        await handle(session_maker, smtp_settings, *events_for(ids, "mei", "tea"))
        mails = inbox[0]
        to_mei = mails.wait_for("mei@example.cn", 5)
        to_tea = mails.wait_for("tea@example.cn", 3)
        assert subjects(to_mei)[:3] == [
            "有朋友使用您的推荐码下单了",
            "您的奖励已获批准",
            "您的奖励已发放",
        ]
        assert "B. L. 于 2026年11月26日 使用您的推荐码下单，金额 ¥1,234.50。" in body(to_mei[0])
        assert "您的优惠码：THANKS-7" in body(to_mei[2])
        assert "您的礼包尚未发货。原预计 2026年11月26日 完成。" in body(to_mei[4])
        assert "您可以选择：立即领取等值余额；等待补货" in body(to_mei[4])
        assert subjects(to_tea) == [
            "您 2026-10 的佣金对账单已出",
            "您的付款已发出",
            "您的付款未能发出",
        ]
        assert "我们已于 2026年11月26日 向您付款 ¥1,234.50。" in body(to_tea[1])
        assert body(to_tea[0]).startswith("茶行，您好：")

    async def test_a_replayed_event_sends_nothing_twice(
        self, session_maker: SessionMaker, smtp_settings: Settings, inbox: tuple[Inbox, int]
    ) -> None:
        ids = await people(session_maker)
        sent = event("payout.sent", {"partner_id": ids["acme"], "amount": 500, "currency": "USD"})
        await handle(session_maker, smtp_settings, sent, sent)
        await handle(session_maker, smtp_settings, sent)
        assert len(inbox[0].wait_for("acme@example.com")) == 1
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(NotificationEmail)) == 1

    async def test_a_refused_mail_raises_and_writes_nothing(
        self, session_maker: SessionMaker, settings: Settings
    ) -> None:
        ids = await people(session_maker)
        nowhere = settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{_free_port()}")
        with pytest.raises(MailNotSent):
            await handle(
                session_maker, nowhere, event("payout.sent", {"partner_id": ids["acme"], "amount": 1})
            )
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(NotificationEmail)) == 0

    async def test_without_smtp_they_are_stored_in_the_outbox(
        self, session_maker: SessionMaker, settings: Settings
    ) -> None:
        ids = await people(session_maker)
        await handle(session_maker, settings, *events_for(ids, "mei", "acme"))
        async with session_maker() as s:
            emails = await notification_service.list_emails(s, limit=100)
        assert len(emails) == 8
        assert {e.status for e in emails} == {"stored"} and all(e.sent_at is None for e in emails)
        assert {(e.to_address, e.locale) for e in emails} == {
            ("mei@example.cn", "zh_Hans"),
            ("acme@example.com", "en"),
        }

    async def test_recipients_without_an_address_get_no_mail_but_webhooks_still_run(
        self, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        async with session_maker() as s, s.begin():
            nobody = (await customer_service.upsert_customer(s, external_id="anon")).customer
            endpoint = await notification_service.create_endpoint(
                s, url=receiver.url, event_kinds=["reward_issued"], secret=None
            )
        receiver.secret = endpoint.secret
        await handle(
            session_maker, settings, event("reward.issued", {"customer_id": str(nobody.id), "amount": 1})
        )
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(NotificationEmail)) == 0
            assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1

    async def test_a_failed_payout_is_e_mailed_once_though_its_delay_alert_follows(
        self, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        ids = await people(session_maker)
        await endpoint_for(session_maker, receiver, ["payout_failed", "delay_alert"])
        at = PLACED.isoformat()
        await handle(
            session_maker,
            settings,
            event("payout.failed", {"partner_id": ids["acme"], "at": at, "amount": 500, "currency": "USD"}),
            event(
                "delay.alerted",
                {"recipient_type": "partner", "recipient_id": ids["acme"], "kind": "payout_failed"}
                | {"expected_at": at, "detected_at": at, "options": ["update_payout_account"]},
            ),
        )
        async with session_maker() as s:
            emails = await notification_service.list_emails(s, limit=10)
            deliveries = await notification_service.list_deliveries(s)
        # One e-mail (the failed payout's); the alert still reaches the endpoints.
        assert [e.kind for e in emails] == ["payout_failed"]
        assert sorted(v.delivery.kind for v in deliveries) == ["delay_alert", "payout_failed"]

    async def test_an_unknown_recipient_is_skipped_not_retried_forever(
        self, session_maker: SessionMaker, settings: Settings
    ) -> None:
        await handle(
            session_maker,
            settings,
            event("payout.sent", {"partner_id": str(uuid4()), "amount": 1, "currency": "USD"}),
            event("reward.issued", {"customer_id": str(uuid4()), "amount": 1, "currency": "USD"}),
        )
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(NotificationEmail)) == 0


async def deliver(session_maker: SessionMaker, settings: Settings, now: datetime) -> int:
    async with session_maker() as s, s.begin():
        return await notification_service.deliver_due(s, now=now, settings=settings)


async def endpoint_for(session_maker: SessionMaker, receiver: Receiver, kinds: list[str]) -> UUID:
    async with session_maker() as s, s.begin():
        endpoint = await notification_service.create_endpoint(
            s, url=receiver.url, event_kinds=kinds, secret="a-shared-secret-of-the-shop"
        )
    receiver.secret = "a-shared-secret-of-the-shop"
    return endpoint.id


class TestWebhooks:
    async def test_a_delivery_is_signed_and_timestamped(
        self, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        ids = await people(session_maker)
        await endpoint_for(session_maker, receiver, ["payout_sent", "payout_failed"])
        sent = event("payout.sent", {"partner_id": ids["acme"], "amount": 5000, "currency": "USD"})
        await handle(
            session_maker,
            settings,
            sent,
            event("statement.issued", {"partner_id": ids["acme"], "currency": "USD"}),
        )
        assert await deliver(session_maker, settings, datetime.now(UTC)) == 1
        [got] = receiver.received
        assert got.is_signature_valid and got.is_timestamp_fresh
        assert got.headers["x-growth-event"] == "payout_sent"
        payload = got.json()
        assert payload["kind"] == "payout_sent" and payload["event_id"] == str(sent.id)
        assert payload["recipient"] == {"type": "partner", "id": ids["acme"]}
        assert payload["data"]["amount"] == 5000 and payload["id"] == got.headers["x-growth-delivery"]
        async with session_maker() as s:
            [view] = await notification_service.list_deliveries(s)
        assert view.delivery.status == "delivered" and view.delivery.next_attempt_at is None
        assert [(a.attempt, a.status_code, a.error, a.next_retry_at) for a in view.attempts] == [
            (1, 204, None, None)
        ]

    async def test_a_receiver_that_fails_twice_gets_three_attempts_with_backoff(
        self, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        ids = await people(session_maker)
        receiver.failures = 2
        await endpoint_for(session_maker, receiver, ["payout_failed"])
        await handle(session_maker, settings, event("payout.failed", {"partner_id": ids["tea"], "amount": 1}))
        now = datetime.now(UTC)
        assert await deliver(session_maker, settings, now) == 1
        assert await deliver(session_maker, settings, now + timedelta(seconds=29)) == 0  # not due yet
        assert await deliver(session_maker, settings, now + timedelta(seconds=30)) == 1
        assert await deliver(session_maker, settings, now + timedelta(seconds=89)) == 0
        assert await deliver(session_maker, settings, now + timedelta(seconds=90)) == 1
        assert await deliver(session_maker, settings, now + timedelta(days=1)) == 0  # delivered: done
        async with session_maker() as s:
            [view] = await notification_service.list_deliveries(s)
        log = [(a.attempt, a.status_code, a.next_retry_at) for a in view.attempts]
        assert log == [
            (1, 500, now + timedelta(seconds=30)),
            (2, 500, now + timedelta(seconds=90)),
            (3, 204, None),
        ]
        assert all(a.error == "the endpoint answered 500" for a in view.attempts[:2])
        assert all(a.duration_ms >= 0 for a in view.attempts)
        assert view.delivery.status == "delivered" and view.delivery.attempts == 3
        assert len(receiver.received) == 3 and all(r.is_signature_valid for r in receiver.received)
        assert len({r.body for r in receiver.received}) == 1  # the same body each time

    async def test_a_receiver_that_never_answers_fails_after_the_last_attempt(
        self, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        ids = await people(session_maker)
        receiver.failures = 100
        await endpoint_for(session_maker, receiver, ["payout_failed"])
        await handle(session_maker, settings, event("payout.failed", {"partner_id": ids["tea"], "amount": 1}))
        now = datetime.now(UTC)
        for hours in range(6):
            await deliver(session_maker, settings, now + timedelta(hours=hours))
        async with session_maker() as s:
            [view] = await notification_service.list_deliveries(s)
        assert view.delivery.status == "failed" and view.delivery.attempts == settings.webhook_max_attempts
        assert view.attempts[-1].next_retry_at is None and view.delivery.next_attempt_at is None

    async def test_replays_and_unsubscribed_kinds_make_no_delivery(
        self, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        ids = await people(session_maker)
        endpoint_id = await endpoint_for(session_maker, receiver, ["payout_sent"])
        sent = event("payout.sent", {"partner_id": ids["acme"], "amount": 1})
        await handle(session_maker, settings, sent, sent, event("payout.failed", {"partner_id": ids["acme"]}))
        await deliver(session_maker, settings, datetime.now(UTC))
        await handle(session_maker, settings, sent)
        await deliver(session_maker, settings, datetime.now(UTC))
        assert len(receiver.received) == 1
        async with session_maker() as s, s.begin():
            await notification_service.delete_endpoint(s, endpoint_id)
        await handle(session_maker, settings, event("payout.sent", {"partner_id": ids["acme"]}))
        async with session_maker() as s:
            assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
            assert await s.scalar(select(func.count()).select_from(WebhookAttempt)) == 1


async def test_the_outbox_subscribes_every_notifying_event(settings: Settings) -> None:
    from growth.app import build_subscriptions

    subscriptions = build_subscriptions(settings=settings)
    for name in notification_service.NOTIFYING_EVENTS:
        assert "growth.notifications" in subscriptions.handlers_for(name)

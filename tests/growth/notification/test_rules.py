"""Pure notification rules: who is told about which event, the words in English and Chinese, signatures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from growth.core.i18n import translations
from growth.notification.rules import (
    Kind,
    Notice,
    RecipientType,
    date_text,
    kinds_problem,
    money_text,
    next_retry,
    notices_for,
    render,
    signature_headers,
    url_problem,
)

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        (
            "order.attributed",
            {"customer_referrer_id": "c1", "review": "allowed"},
            [(Kind.friend_ordered, "c1")],
        ),
        ("order.attributed", {"customer_referrer_id": "c1", "review": "rejected"}, []),
        ("order.attributed", {"customer_referrer_id": None, "partner_id": "p1"}, []),
        ("reward.approved", {"customer_id": "c2"}, [(Kind.reward_approved, "c2")]),
        (
            "reward.approved",
            {"customer_id": "c2", "share_submission_id": "s"},
            [(Kind.sample_approved, "c2")],
        ),
        ("reward.issued", {"customer_id": "c2"}, [(Kind.reward_issued, "c2")]),
        ("statement.issued", {"partner_id": "p1"}, [(Kind.statement_ready, "p1")]),
        ("payout.sent", {"partner_id": "p1"}, [(Kind.payout_sent, "p1")]),
        ("payout.failed", {"partner_id": "p1"}, [(Kind.payout_failed, "p1")]),
        (
            "delay.alerted",
            {"recipient_type": "partner", "recipient_id": "p9", "kind": "payout_failed"},
            [(Kind.delay_alert, "p9")],
        ),
        ("order.closed", {"order_id": "o"}, []),
    ],
)
def test_which_events_notify_whom(
    name: str, payload: dict[str, Any], expected: list[tuple[Kind, str]]
) -> None:
    assert [(n.kind, n.recipient_id) for n in notices_for(name, payload)] == expected


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "text"),
    [
        ("zh_Hans", 123450, "CNY", "¥1,234.50"),
        ("en", 123450, "CNY", "CN¥1,234.50"),
        ("en", 2000, "USD", "$20.00"),
        ("en", 500, "JPY", "¥500"),
        ("zh_Hans", -2000, "USD", "-US$20.00"),
    ],
)
def test_money_for_the_locale(locale: str, amount: int, currency: str, text: str) -> None:
    assert money_text(amount, currency, locale) == text


def test_dates_in_the_program_zone_and_locale() -> None:
    late_evening_utc = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # already the 26th in Shanghai
    assert date_text(late_evening_utc, "zh_Hans", "Asia/Shanghai") == "2026年11月26日"
    assert date_text(late_evening_utc, "en", "Asia/Shanghai") == "Nov 26, 2026"
    assert date_text(late_evening_utc, "en", "UTC") == "Nov 25, 2026"


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_renders_in_both_languages(kind: Kind, locale: str) -> None:
    data = {
        "amount": 123450,
        "currency": "CNY",
        "closing_payable": 123450,
        "period": "2026-11",
        "placed_at": NOW.isoformat(),
        "at": NOW.isoformat(),
        "issued_at": NOW.isoformat(),
        "expected_at": NOW.isoformat(),
        "friend_initials": "B. L.",
        "coupon_code": "THANKS-7",
        "options": ["take_store_credit_now", "wait_for_restock"],
    }
    subject, text = render(
        Notice(kind, RecipientType.customer, "x", data),
        gettext=translations(locale).gettext,
        locale=locale,
        tz="Asia/Shanghai",
        name="Mei",
    )
    assert subject and "Mei" in text
    if locale == "zh_Hans":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in subject), subject
        assert "2026年11月26日" in text
        if kind not in (Kind.sample_approved, Kind.delay_alert):
            assert "¥1,234.50" in text
    else:
        assert "Nov 26, 2026" in text and subject.isascii()


def test_the_friend_is_named_by_initials_only() -> None:
    notice = Notice(
        Kind.friend_ordered,
        RecipientType.customer,
        "c",
        {"friend_initials": "B. L.", "amount": 5000, "currency": "USD", "placed_at": NOW.isoformat()},
    )
    _, text = render(notice, gettext=translations("en").gettext, locale="en", tz="UTC", name=None)
    assert "B. L. ordered $50.00 on Nov 26, 2026 with your referral code." in text


@pytest.mark.parametrize(
    ("url", "is_ok"),
    [
        ("https://shop.example/hooks/growth", True),
        ("http://127.0.0.1:8080/x", True),
        ("ftp://shop.example/x", False),
        ("javascript:alert(1)", False),
        ("shop.example/hook", False),
        ("https://", False),
        ("https://shop.example/" + "a" * 2000, False),
    ],
)
def test_webhook_urls(url: str, is_ok: bool) -> None:
    assert (url_problem(url) is None) is is_ok


def test_webhook_kinds() -> None:
    assert kinds_problem(["payout_sent", "delay_alert"]) is None
    assert kinds_problem([]) == "subscribe to at least one event kind"
    problem = kinds_problem(["payout_sent", "order_exploded"])
    assert problem is not None and problem.startswith("unknown event kind(s): order_exploded")


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"kind":"payout_sent"}'
    headers = signature_headers("whsec_test", 1_800_000_000, body)
    expected = hmac.new(b"whsec_test", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert headers == {"X-Growth-Timestamp": "1800000000", "X-Growth-Signature": f"sha256={expected}"}


def test_retries_back_off_exponentially_then_give_up() -> None:
    delays = [next_retry(n, max_attempts=5, now=NOW) for n in range(1, 6)]
    assert [d - NOW for d in delays[:4] if d] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
    ]
    assert delays[4] is None
    assert next_retry(20, max_attempts=50, now=NOW) == NOW + timedelta(hours=6)


def test_a_payload_without_money_or_a_known_alert_kind_still_renders() -> None:
    notice = Notice(
        Kind.delay_alert, RecipientType.partner, "p", {"kind": "something_new", "options": ["call_us"]}
    )
    subject, text = render(notice, gettext=translations("en").gettext, locale="en", tz="UTC", name=None)
    assert subject == "An update on something that is taking longer than expected"
    assert "Something is taking longer than we said." in text and "Your options: call_us" in text
    _, text = render(
        Notice(Kind.payout_sent, RecipientType.partner, "p", {}),
        gettext=translations("en").gettext,
        locale="en",
        tz="UTC",
        name="Acme",
    )
    assert text.startswith("Hello Acme,")

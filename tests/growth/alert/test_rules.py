"""Delay alert rules: the options of each kind, lateness, and the ``delay.alerted`` payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from growth.alert.rules import (
    OPTIONS,
    AlertKind,
    AlertOption,
    RecipientType,
    delay,
    event_payload,
    expected_after,
    is_late,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_every_kind_has_options() -> None:
    assert set(OPTIONS) == set(AlertKind)
    assert OPTIONS[AlertKind.gift_pack_out_of_stock] == (
        AlertOption.take_store_credit_now,
        AlertOption.wait_for_restock,
    )
    assert AlertOption.update_payout_account in OPTIONS[AlertKind.payout_failed]


@pytest.mark.parametrize(
    ("expected_at", "now", "late"),
    [(None, T0, False), (T0, T0, False), (T0, T0 + timedelta(microseconds=1), True)],
)
def test_is_late(expected_at: datetime | None, now: datetime, late: bool) -> None:
    assert is_late(expected_at, now) is late


def test_expected_after() -> None:
    assert expected_after(None, 7) is None
    assert expected_after(T0, 7) == T0 + timedelta(days=7)


def test_delay_takes_the_kinds_options_and_cuts_the_detail() -> None:
    d = delay(
        AlertKind.payout_failed,
        recipient_type=RecipientType.partner,
        recipient_id=uuid4(),
        subject_id=uuid4(),
        expected_at=T0,
        detail="x" * 400,
    )
    assert d.options == OPTIONS[AlertKind.payout_failed]
    assert len(d.detail) == 300


def test_payload_is_json_with_the_agreed_keys() -> None:
    alert_id, recipient, subject = uuid4(), uuid4(), uuid4()
    payload = event_payload(
        alert_id=alert_id,
        kind="payout_failed",
        recipient_type="partner",
        recipient_id=recipient,
        subject_id=subject,
        expected_at=T0,
        detected_at=T0 + timedelta(hours=1),
        detail="payout failed",
        options=["update_payout_account"],
        context={"amount": 100, "currency": "CNY"},
    )
    assert json.loads(json.dumps(payload)) == {
        "alert_id": str(alert_id),
        "kind": "payout_failed",
        "recipient_type": "partner",
        "recipient_id": str(recipient),
        "subject_id": str(subject),
        "expected_at": "2026-12-01T09:00:00+00:00",
        "detected_at": "2026-12-01T10:00:00+00:00",
        "detail": "payout failed",
        "options": ["update_payout_account"],
        "context": {"amount": 100, "currency": "CNY"},
    }

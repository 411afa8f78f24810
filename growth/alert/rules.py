"""Delay rules: when each stage is expected, whether an item is late, and what its alert says."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

DETAIL_LENGTH = 300


class AlertKind(StrEnum):
    gift_pack_not_shipped = "gift_pack_not_shipped"
    """An approved or issued gift pack or sample not shipped within the fulfilment time."""
    gift_pack_out_of_stock = "gift_pack_out_of_stock"
    """A reward waiting for a pack's restock longer than the fulfilment time."""
    reward_in_review = "reward_in_review"
    """A reward whose order the risk review holds longer than the review time."""
    payout_failed = "payout_failed"
    """A partner's payout the provider refused."""


class RecipientType(StrEnum):
    customer = "customer"
    partner = "partner"


class AlertOption(StrEnum):
    """What the customer or partner may do about a delay."""

    take_store_credit_now = "take_store_credit_now"
    wait_for_restock = "wait_for_restock"
    confirm_address = "confirm_address"
    wait = "wait"
    update_payout_account = "update_payout_account"
    contact_support = "contact_support"


OPTIONS: dict[AlertKind, tuple[AlertOption, ...]] = {
    AlertKind.gift_pack_not_shipped: (AlertOption.wait, AlertOption.contact_support),
    AlertKind.gift_pack_out_of_stock: (AlertOption.take_store_credit_now, AlertOption.wait_for_restock),
    AlertKind.reward_in_review: (AlertOption.wait, AlertOption.contact_support),
    AlertKind.payout_failed: (AlertOption.update_payout_account, AlertOption.contact_support),
}


@dataclass(frozen=True, slots=True)
class Delay:
    """An item found past its expected time, before it is recorded as an alert."""

    kind: AlertKind
    recipient_type: RecipientType
    recipient_id: UUID
    subject_id: UUID
    expected_at: datetime
    detail: str
    options: tuple[AlertOption, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)


def delay(
    kind: AlertKind,
    *,
    recipient_type: RecipientType,
    recipient_id: UUID,
    subject_id: UUID,
    expected_at: datetime,
    detail: str,
    options: tuple[AlertOption, ...] | None = None,
    context: dict[str, Any] | None = None,
) -> Delay:
    """A delay with the kind's usual options (unless given) and its detail cut to the column."""
    return Delay(
        kind=kind,
        recipient_type=recipient_type,
        recipient_id=recipient_id,
        subject_id=subject_id,
        expected_at=expected_at,
        detail=detail[:DETAIL_LENGTH],
        options=OPTIONS[kind] if options is None else options,
        context=dict(context or {}),
    )


def expected_after(start: datetime | None, days: int) -> datetime | None:
    """When a stage that started at ``start`` and takes ``days`` should be over (None: not started)."""
    return None if start is None else start + timedelta(days=days)


def is_late(expected_at: datetime | None, now: datetime) -> bool:
    """Whether an item expected at ``expected_at`` is past it at ``now`` (never, when nothing is expected)."""
    return expected_at is not None and expected_at < now


def event_payload(
    *,
    alert_id: UUID,
    kind: str,
    recipient_type: str,
    recipient_id: UUID,
    subject_id: UUID,
    expected_at: datetime,
    detected_at: datetime,
    detail: str,
    options: list[str],
    context: dict[str, Any],
) -> dict[str, Any]:
    """The ``delay.alerted`` event's payload (JSON: ids as strings, instants as ISO 8601 UTC)."""
    return {
        "alert_id": str(alert_id),
        "kind": kind,
        "recipient_type": recipient_type,
        "recipient_id": str(recipient_id),
        "subject_id": str(subject_id),
        "expected_at": expected_at.isoformat(),
        "detected_at": detected_at.isoformat(),
        "detail": detail,
        "options": list(options),
        "context": dict(context),
    }

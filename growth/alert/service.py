"""Delay alerts: record each late item once and publish ``delay.alerted`` through the outbox.

The checks that find late items live with the items (``campaigns.reward.service.find_delays``,
``payouts.payout_run.service.find_delays``); the app's periodic job hands what they find to
``raise_alerts``. An item is alerted once per kind: the unique ``(kind, subject_id)`` decides, so
the job may run as often as it likes, in several processes at once.

``delay.alerted`` payload: ``alert_id``, ``kind``, ``recipient_type`` (``customer``|``partner``),
``recipient_id``, ``subject_id``, ``expected_at``, ``detected_at`` (ISO 8601 UTC), ``detail``,
``options`` (list of ``AlertOption`` values) and ``context`` (facts a message may show).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.alert import repository
from growth.alert.errors import InvalidAlertFilter
from growth.alert.models import DelayAlert
from growth.alert.rules import (
    AlertKind,
    AlertOption,
    Delay,
    RecipientType,
    delay,
    event_payload,
    expected_after,
    is_late,
)
from growth.core.events.service import publish
from growth.core.ports import PartnerNamesLookup
from growth.customer import service as customer_service

__all__ = [
    "AlertKind",
    "AlertOption",
    "Delay",
    "RecipientType",
    "delay",
    "expected_after",
    "is_late",
    "list_alerts",
    "raise_alerts",
]

log = structlog.get_logger()

EVENT = "delay.alerted"


async def raise_alerts(session: AsyncSession, delays: Iterable[Delay], *, now: datetime) -> int:
    """Record each delay not alerted before and publish ``delay.alerted`` for it; returns how many are new."""
    new = 0
    for d in delays:
        alert_id = await repository.claim(
            session,
            {
                "kind": d.kind.value,
                "recipient_type": d.recipient_type.value,
                "recipient_id": d.recipient_id,
                "subject_id": d.subject_id,
                "expected_at": d.expected_at,
                "detected_at": now,
                "detail": d.detail,
                "options": [o.value for o in d.options],
                "context": d.context,
                "created_at": now,
                "updated_at": now,
            },
        )
        if alert_id is None:
            continue
        new += 1
        log.info(
            "growth.alert.raised", kind=d.kind.value, subject_id=str(d.subject_id), alert_id=str(alert_id)
        )
        await publish(
            session,
            EVENT,
            event_payload(
                alert_id=alert_id,
                kind=d.kind.value,
                recipient_type=d.recipient_type.value,
                recipient_id=d.recipient_id,
                subject_id=d.subject_id,
                expected_at=d.expected_at,
                detected_at=now,
                detail=d.detail,
                options=[o.value for o in d.options],
                context=d.context,
            ),
            now=now,
        )
    return new


@dataclass(frozen=True, slots=True)
class AlertPage:
    alerts: list[DelayAlert]
    total: int


async def list_alerts(
    session: AsyncSession,
    *,
    kind: str | None = None,
    recipient_type: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AlertPage:
    """Delay alerts, newest first, for marketing."""
    if kind is not None and kind not in AlertKind.__members__:
        raise InvalidAlertFilter(f"unknown alert kind {kind[:40]!r}; one of: {', '.join(AlertKind)}")
    if recipient_type is not None and recipient_type not in RecipientType.__members__:
        raise InvalidAlertFilter(f"unknown recipient type {recipient_type[:20]!r}; customer or partner")
    if since is not None and since.tzinfo is None:
        raise InvalidAlertFilter("since needs a time zone (e.g. 2026-12-01T00:00:00Z)")
    alerts, total = await repository.search(
        session, kind=kind, recipient_type=recipient_type, since=since, limit=limit, offset=offset
    )
    return AlertPage(alerts, total)


async def recipient_names(
    session: AsyncSession, alerts: list[DelayAlert], *, partner_names: PartnerNamesLookup
) -> dict[UUID, str]:
    """Who each alert told, by name (a customer without one, or erased, by the shop's id)."""
    customers = await customer_service.customers_by_id(
        session, {a.recipient_id for a in alerts if a.recipient_type == RecipientType.customer}
    )
    names = {i: c.name or c.external_id for i, c in customers.items()}
    partners = [a.recipient_id for a in alerts if a.recipient_type == RecipientType.partner]
    return names | (await partner_names(session, partners) if partners else {})


async def alerted_subjects(session: AsyncSession, subject_ids: list[UUID]) -> dict[UUID, list[str]]:
    """The alert kinds raised on each of these items."""
    found: dict[UUID, list[str]] = {}
    for alert in await repository.of_subjects(session, subject_ids):
        found.setdefault(alert.subject_id, []).append(alert.kind)
    return found

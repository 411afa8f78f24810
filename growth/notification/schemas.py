"""Notification DTOs: the e-mail outbox, webhook endpoints and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class NotificationEmailRead(msgspec.Struct):
    id: UUID
    kind: str
    recipient_type: str
    recipient: str
    """The address, masked: ``m***@example.com``."""
    locale: str
    subject: str
    status: str
    """``sent`` (handed to the SMTP server) or ``stored`` (no SMTP server configured)."""
    created_at: datetime
    sent_at: datetime | None


class WebhookEndpointCreate(msgspec.Struct):
    url: str
    event_kinds: list[str]
    """Notification kinds: ``friend_ordered``, ``reward_approved``, ``reward_issued``, ``sample_approved``,
    ``statement_ready``, ``payout_sent``, ``payout_failed``, ``delay_alert``."""
    secret: str | None = None
    """16-200 characters; omitted: one is generated and shown in this response only."""


class WebhookEndpointRead(msgspec.Struct):
    id: UUID
    url: str
    event_kinds: list[str]
    created_at: datetime
    secret: str | None = None
    """Only in the response that created the endpoint."""


class WebhookAttemptRead(msgspec.Struct):
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_retry_at: datetime | None


class WebhookDeliveryRead(msgspec.Struct):
    id: UUID
    endpoint_id: UUID
    event_id: UUID
    kind: str
    status: str
    """``pending``, ``delivered`` or ``failed`` (out of attempts)."""
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]
    log: list[WebhookAttemptRead]
    created_at: datetime

"""Notifications: the e-mail outbox, webhook endpoints, their deliveries and each delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class NotificationEmail(Base):
    """One e-mail to one recipient about one event: sent over SMTP, or kept here (embedded default)."""

    __tablename__ = "notification_emails"
    __table_args__ = (
        # A replayed event finds its row and sends nothing twice.
        UniqueConstraint("event_id", "recipient_type", "recipient_id", "kind"),
        CheckConstraint("status IN ('sent', 'stored')", name="status_known"),
    )

    event_id: Mapped[UUID] = mapped_column()
    """The outbox event the notification is about."""
    kind: Mapped[str] = mapped_column(String(40), index=True)
    """``friend_ordered``, ``reward_approved``, ... (``rules.Kind``)."""
    recipient_type: Mapped[str] = mapped_column(String(20))
    """``customer`` or ``partner``."""
    recipient_id: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    """``sent`` (handed to the SMTP server) or ``stored`` (no SMTP server: kept for the dashboard)."""
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the SMTP server took it; NULL when stored."""


class WebhookEndpoint(Base):
    """A URL an admin registered to receive notification events, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    """HMAC-SHA256 key of ``X-Growth-Signature``; shown once, when the endpoint is created."""
    event_kinds: Mapped[list[str]] = mapped_column(JsonB)
    """The notification kinds delivered to it."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False once deleted: no new deliveries, the log is kept."""


class WebhookDelivery(Base):
    """One notification to one endpoint; retried with back-off until delivered or out of attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", "kind", "recipient_id"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
    )

    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    """The JSON body, the same on every attempt (only the timestamp and signature change)."""
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    """``pending`` (due at ``next_attempt_at``), ``delivered`` (a 2xx) or ``failed`` (out of attempts)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the next attempt is due (UTC); NULL once delivered or failed."""
    delivered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class WebhookAttempt(Base):
    """The log of one HTTP attempt of a delivery."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    """1 for the first try, 2 for the first retry, ..."""
    attempted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    """The receiver's HTTP status; NULL when it could not be reached."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the delivery is tried again after this attempt; NULL when it succeeded or gave up."""

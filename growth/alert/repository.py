"""Queries of delay alerts: claiming one per item and stage, and listing them for marketing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from growth.alert.models import DelayAlert


def _insert(session: AsyncSession) -> Any:
    assert session.bind is not None, "the session must be bound to an engine"
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


async def claim(session: AsyncSession, values: dict[str, Any]) -> UUID | None:
    """Insert the alert; None when this item was already alerted for this kind.

    ``ON CONFLICT DO NOTHING`` lets the unique constraint decide, so two checks running at once
    (several processes) record and publish one alert, not two.
    """
    statement = (
        _insert(session)(DelayAlert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "subject_id"])
        .returning(DelayAlert.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _filtered(statement: Any, *, kind: str | None, recipient_type: str | None, since: datetime | None) -> Any:
    if kind is not None:
        statement = statement.where(DelayAlert.kind == kind)
    if recipient_type is not None:
        statement = statement.where(DelayAlert.recipient_type == recipient_type)
    if since is not None:
        statement = statement.where(DelayAlert.detected_at >= since)
    return statement


async def search(
    session: AsyncSession,
    *,
    kind: str | None,
    recipient_type: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[DelayAlert], int]:
    """Alerts, newest first, and how many match in all."""
    rows = await session.scalars(
        _filtered(select(DelayAlert), kind=kind, recipient_type=recipient_type, since=since)
        .order_by(DelayAlert.detected_at.desc(), DelayAlert.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(
        _filtered(select(func.count(DelayAlert.id)), kind=kind, recipient_type=recipient_type, since=since)
    )
    return list(rows), int(total or 0)


async def of_subjects(session: AsyncSession, subject_ids: list[UUID]) -> list[DelayAlert]:
    """The alerts raised on these items (a status page tells what was alerted)."""
    if not subject_ids:
        return []
    return list(await session.scalars(select(DelayAlert).where(DelayAlert.subject_id.in_(subject_ids))))

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click.models import Click


async def insert_clicks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(Click), rows)


async def count_for_code(session: AsyncSession, referral_code_id: UUID) -> int:
    return await session.scalar(select(func.count()).where(Click.referral_code_id == referral_code_id)) or 0

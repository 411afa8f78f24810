from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def database_is_up(session: AsyncSession) -> bool:
    """True when the database answers a trivial query."""
    try:
        await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True

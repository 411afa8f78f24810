from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack.models import GiftPack, Shipment


async def get_pack(session: AsyncSession, sku: str, *, for_update: bool = False) -> GiftPack | None:
    query = select(GiftPack).where(GiftPack.sku == sku)
    if for_update:
        # populate_existing: a pack already in the session is refreshed with the locked row's stock.
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def list_packs(session: AsyncSession) -> list[GiftPack]:
    return list(await session.scalars(select(GiftPack).order_by(GiftPack.sku)))


async def get_shipment(
    session: AsyncSession, shipment_id: UUID, *, for_update: bool = False
) -> Shipment | None:
    query = select(Shipment).where(Shipment.id == shipment_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def get_shipment_for_reward(session: AsyncSession, reward_id: UUID) -> Shipment | None:
    return await session.scalar(select(Shipment).where(Shipment.reward_id == reward_id))


async def list_shipments(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> list[Shipment]:
    """Oldest request first: the order a warehouse works through them."""
    query = select(Shipment).order_by(Shipment.requested_at, Shipment.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Shipment.status == status)
    return list(await session.scalars(query))

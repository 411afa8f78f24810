from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.models import GiftPack, Shipment
from campaigns.gift_pack.rules import ShipmentStatus, available
from campaigns.gift_pack.schemas import (
    GiftPackCreate,
    GiftPackRead,
    GiftPackUpdate,
    RestockCreate,
    ShipmentRead,
    ShipmentStatusUpdate,
    StockCorrection,
)
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now


def pack_read(p: GiftPack) -> GiftPackRead:
    left = available(p.stock_on_hand, p.stock_reserved)
    return GiftPackRead(
        id=p.id,
        sku=p.sku,
        name=p.name,
        value_amount=p.value_amount,
        currency=p.currency,
        stock_on_hand=p.stock_on_hand,
        stock_reserved=p.stock_reserved,
        available=left,
        is_out_of_stock=left == 0,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def shipment_read(s: Shipment) -> ShipmentRead:
    return ShipmentRead(
        id=s.id,
        reward_id=s.reward_id,
        sku=s.sku,
        status=ShipmentStatus(s.status),
        address=dict(s.address),
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        failure_reason=s.failure_reason,
        requested_at=s.requested_at,
        shipped_at=s.shipped_at,
        delivered_at=s.delivered_at,
    )


def csv_lines(rows: Iterable[list[str]]) -> Iterator[bytes]:
    """Rows as RFC 4180 CSV, UTF-8, one line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


class GiftPackController(Controller):
    """The gift packs and samples marketing offers as rewards, and their stock."""

    path = "/api/gift-packs"
    tags = ["Gift packs"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @post("/", summary="Add a gift pack (a SKU with its value and stock)")
    async def create_pack(self, db_session: AsyncSession, data: GiftPackCreate) -> GiftPackRead:
        pack = await gift_pack_service.create_pack(db_session, **msgspec.structs.asdict(data))
        return pack_read(pack)

    @get("/", summary="List gift packs with the stock available")
    async def list_packs(self, db_session: AsyncSession) -> list[GiftPackRead]:
        return [pack_read(p) for p in await gift_pack_service.list_packs(db_session)]

    @get("/{sku:str}", summary="Read a gift pack")
    async def get_pack(self, db_session: AsyncSession, sku: str) -> GiftPackRead:
        return pack_read(await gift_pack_service.get_pack(db_session, sku))

    @patch("/{sku:str}", summary="Rename or revalue a gift pack")
    async def update_pack(self, db_session: AsyncSession, sku: str, data: GiftPackUpdate) -> GiftPackRead:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return pack_read(await gift_pack_service.update_pack(db_session, sku, **changes))

    @post("/{sku:str}/restock", status_code=200, summary="Add packs that arrived at the warehouse")
    async def restock(self, db_session: AsyncSession, sku: str, data: RestockCreate) -> GiftPackRead:
        pack = await gift_pack_service.restock(db_session, sku, quantity=data.quantity, now=utc_now())
        return pack_read(pack)

    @post("/{sku:str}/stock", status_code=200, summary="Correct the counted stock (not below reserved)")
    async def set_stock(self, db_session: AsyncSession, sku: str, data: StockCorrection) -> GiftPackRead:
        pack = await gift_pack_service.set_stock(
            db_session, sku, stock_on_hand=data.stock_on_hand, now=utc_now()
        )
        return pack_read(pack)


class ShipmentController(Controller):
    """Gift packs on their way to customers: the shop exports requests and reports tracking."""

    path = "/api/shipments"
    tags = ["Gift packs"]
    guards = [api_key_guard]
    opt = roles(Role.shop, Role.marketing)
    security = [{"ApiKey": []}]

    @get("/", summary="List shipments, oldest request first")
    async def list_shipments(
        self,
        db_session: AsyncSession,
        status: ShipmentStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[ShipmentRead]:
        shipments = await gift_pack_service.list_shipments(
            db_session, status=status, limit=limit, offset=offset
        )
        return [shipment_read(s) for s in shipments]

    @get("/export.csv", summary="Shipments as CSV for the warehouse (requested ones by default)")
    async def export_csv(
        self,
        db_session: AsyncSession,
        status: ShipmentStatus = ShipmentStatus.requested,
        limit: Annotated[int, Parameter(ge=1, le=50_000)] = 10_000,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Stream:
        rows = await gift_pack_service.export_shipments(db_session, status=status, limit=limit, offset=offset)
        return Stream(
            csv_lines(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="shipments-{status.value}.csv"'},
        )

    @get("/{shipment_id:uuid}", summary="Read a shipment")
    async def get_shipment(self, db_session: AsyncSession, shipment_id: UUID) -> ShipmentRead:
        return shipment_read(await gift_pack_service.get_shipment(db_session, shipment_id))

    @post(
        "/{shipment_id:uuid}/status",
        status_code=200,
        summary="Move a shipment: requested → shipped (tracking) → delivered, or failed",
    )
    async def update_status(
        self, db_session: AsyncSession, shipment_id: UUID, data: ShipmentStatusUpdate
    ) -> ShipmentRead:
        shipment = await gift_pack_service.update_shipment(
            db_session,
            shipment_id,
            status=data.status,
            carrier=data.carrier,
            tracking_number=data.tracking_number,
            failure_reason=data.failure_reason,
            now=utc_now(),
        )
        return shipment_read(shipment)

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack import forms
from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.errors import GiftPackExists, InvalidGiftPack
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
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import DomainError
from growth.core.paging import Offset
from growth.core.time import utc_now
from growth.settings import Settings


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


def shipments_csv(rows: list[list[str]], status: ShipmentStatus) -> Stream:
    """The warehouse CSV as a download (the API and the page serve the same file)."""
    return Stream(
        csv_lines(rows),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="shipments-{status.value}.csv"',
            "Cache-Control": "no-store",
        },
    )


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
        offset: Offset = 0,
    ) -> list[ShipmentRead]:
        shipments = await gift_pack_service.list_shipments(
            db_session, status=status, limit=limit, offset=offset
        )
        return [shipment_read(s) for s in shipments]

    @get(
        "/export.csv",
        summary="Shipments as CSV for the warehouse (requested ones by default)",
        media_type="text/csv",
    )
    async def export_csv(
        self,
        db_session: AsyncSession,
        status: ShipmentStatus = ShipmentStatus.requested,
        limit: Annotated[int, Parameter(ge=1, le=50_000)] = 10_000,
        offset: Offset = 0,
    ) -> Stream:
        rows = await gift_pack_service.export_shipments(db_session, status=status, limit=limit, offset=offset)
        return shipments_csv(rows, status)

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


PackFormData = Annotated[forms.PackForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
QuantityFormData = Annotated[forms.QuantityForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
StockFormData = Annotated[forms.StockForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
SHIPMENTS_PAGE_SIZE = 200


def _page(
    request: Request[Any, Any, Any], settings: Settings, name: str, *, status_code: int = 200, **values: Any
) -> Template:
    return Template(
        template_name=f"campaigns/gift_pack/{name}.html.j2",
        context=dashboard_context(request, settings) | values,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


class GiftPackPages(Controller):
    """Marketing's gift-pack pages: stock per pack, restock and correct it, add packs, shipments."""

    path = forms.PAGES
    guards = [dashboard_guard]
    opt = roles(Role.marketing)
    include_in_schema = False

    @get("/")
    async def list_page(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        packs = await gift_pack_service.list_packs(db_session)
        return _page(
            request,
            settings,
            "list",
            packs=[forms.pack_view(p) for p in packs],
            form=forms.blank_form(default_currency=settings.default_currency),
            form_error=None,
            notice=forms.read_message(request.query_params, forms.PACK_NOTICES, "notice"),
            error=forms.read_message(request.query_params, forms.PACK_ERRORS, "error"),
        )

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: PackFormData,
    ) -> Response[Any]:
        try:
            values = forms.parse_new_pack(data, default_currency=settings.default_currency)
            pack = await gift_pack_service.create_pack(db_session, **values)
        except (InvalidGiftPack, GiftPackExists) as error:
            # Shown again with what was typed; nothing was written, and the 4xx rolls back anyway.
            packs = await gift_pack_service.list_packs(db_session)
            return _page(
                request,
                settings,
                "list",
                status_code=error.status_code,
                packs=[forms.pack_view(p) for p in packs],
                form=data,
                form_error=forms.form_error(error),
                notice=None,
                error=None,
            )
        return Redirect(forms.back_to_list(sku=pack.sku, notice="created"), status_code=303)

    @post("/{sku:str}/restock")
    async def restock(self, db_session: AsyncSession, sku: str, data: QuantityFormData) -> Redirect:
        try:
            quantity = forms.parse_quantity(data.quantity)
            await gift_pack_service.restock(db_session, sku, quantity=quantity, now=utc_now())
        except DomainError as error:
            await db_session.rollback()  # the redirect would commit: keep nothing of a refused form
            return Redirect(forms.back_to_list(sku=sku, error=error), status_code=303)
        return Redirect(forms.back_to_list(sku=sku, notice="restocked"), status_code=303)

    @post("/{sku:str}/stock")
    async def set_stock(self, db_session: AsyncSession, sku: str, data: StockFormData) -> Redirect:
        try:
            counted = forms.parse_stock(data.stock_on_hand)
            await gift_pack_service.set_stock(db_session, sku, stock_on_hand=counted, now=utc_now())
        except DomainError as error:
            await db_session.rollback()
            return Redirect(forms.back_to_list(sku=sku, error=error), status_code=303)
        return Redirect(forms.back_to_list(sku=sku, notice="stock_set"), status_code=303)

    @get("/shipments")
    async def shipments_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        status: ShipmentStatus | None = None,
    ) -> Template:
        shipments = await gift_pack_service.list_shipments(
            db_session, status=status, limit=SHIPMENTS_PAGE_SIZE
        )
        views = [forms.shipment_view(s) for s in shipments]
        return _page(request, settings, "shipments", shipments=views, status_filter=status)

    @get("/shipments.csv")
    async def download_shipments(
        self, db_session: AsyncSession, status: ShipmentStatus = ShipmentStatus.requested
    ) -> Stream:
        """The warehouse CSV of ``/api/shipments/export.csv``, for a signed-in person (no API key)."""
        rows = await gift_pack_service.export_shipments(db_session, status=status)
        return shipments_csv(rows, status)

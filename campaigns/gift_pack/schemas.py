from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from campaigns.gift_pack.rules import MAX_RESTOCK, MAX_STOCK, ShipmentStatus
from growth.core.text import text

Sku = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,100}$", description="1-100 of A-Z a-z 0-9 . _ -")
]
Name = text(min_length=1, max_length=200)
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case")]
MinorUnits = Annotated[
    int, msgspec.Meta(ge=0, le=100_000_000_000, description="What one pack costs, in minor units")
]
StockCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_STOCK, description="Packs in the warehouse")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_RESTOCK, description="Packs that arrived")]


class GiftPackCreate(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    name: Name
    value_amount: MinorUnits
    currency: Currency
    stock_on_hand: StockCount = 0


class GiftPackUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields to change; the sku and the currency stay."""

    name: Name | UnsetType = UNSET
    value_amount: MinorUnits | UnsetType = UNSET


class RestockCreate(msgspec.Struct, forbid_unknown_fields=True):
    quantity: Quantity


class StockCorrection(msgspec.Struct, forbid_unknown_fields=True):
    """The counted stock, reserved packs included."""

    stock_on_hand: StockCount


class GiftPackRead(msgspec.Struct):
    id: UUID
    sku: str
    name: str
    value_amount: int
    """What one pack costs, in minor units of ``currency``."""
    currency: str
    stock_on_hand: int
    stock_reserved: int
    """Packs promised to rewards and not shipped yet."""
    available: int
    is_out_of_stock: bool
    created_at: datetime
    updated_at: datetime


class ShipmentStatusUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A move: ``shipped`` needs ``tracking_number``; ``failed`` may say why."""

    status: ShipmentStatus
    carrier: text(min_length=1, max_length=100) | None = None  # type: ignore[valid-type]
    tracking_number: text(min_length=1, max_length=100) | None = None  # type: ignore[valid-type]
    failure_reason: text(min_length=1, max_length=300) | None = None  # type: ignore[valid-type]


class ShipmentRead(msgspec.Struct):
    id: UUID
    reward_id: UUID
    sku: str
    status: ShipmentStatus
    address: dict[str, Any]
    carrier: str | None
    tracking_number: str | None
    failure_reason: str | None
    requested_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None

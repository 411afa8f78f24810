from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from growth.core.text import text
from growth.order.rules import OrderEventType

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with a time zone")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z", description="ISO 4217 code, upper case")]
MinorUnits = Annotated[int, msgspec.Meta(description="integer minor units (cents, fen)")]


class CustomerRef(msgspec.Struct, forbid_unknown_fields=True):
    external_id: text(min_length=1, max_length=100)  # type: ignore[valid-type]
    email: text(max_length=320) | None = None  # type: ignore[valid-type]
    name: text(max_length=200) | None = None  # type: ignore[valid-type]


class ShippingAddress(msgspec.Struct, forbid_unknown_fields=True):
    """Where the order ships; only a keyed hash of it is kept, to compare referrer and friend."""

    line1: text(min_length=1, max_length=200)  # type: ignore[valid-type]
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}\Z", description="ISO 3166-1 alpha-2")]
    line2: text(max_length=200) | None = None  # type: ignore[valid-type]
    city: text(max_length=100) | None = None  # type: ignore[valid-type]
    region: text(max_length=100) | None = None  # type: ignore[valid-type]
    postal_code: text(max_length=20) | None = None  # type: ignore[valid-type]

    def parts(self) -> tuple[str | None, ...]:
        return (self.line1, self.line2, self.city, self.region, self.postal_code, self.country)


class OrderLineIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: text(min_length=1, max_length=100)  # type: ignore[valid-type]
    quantity: int
    unit_amount: MinorUnits
    category: text(max_length=100) | None = None  # type: ignore[valid-type]


class OrderCreate(msgspec.Struct, forbid_unknown_fields=True):
    external_id: text(min_length=1, max_length=200)  # type: ignore[valid-type]
    customer: CustomerRef
    amount: MinorUnits
    currency: Currency
    placed_at: AwareDatetime
    lines: Annotated[list[OrderLineIn], msgspec.Meta(max_length=500)] = []
    referral_code: text(max_length=64) | None = None  # type: ignore[valid-type]
    coupon_code: text(max_length=64) | None = None  # type: ignore[valid-type]
    click_ids: Annotated[list[UUID], msgspec.Meta(max_length=20)] = []
    """Click ids from the attribution cookie (``growth_ref``) or the ``ref_click`` landing parameter."""
    lead_reference: text(max_length=100) | None = None  # type: ignore[valid-type]
    payment_reference: text(max_length=200) | None = None  # type: ignore[valid-type]
    subscription_id: text(max_length=200) | None = None  # type: ignore[valid-type]
    payment_fingerprint: text(max_length=100) | None = None  # type: ignore[valid-type]
    """The card's fingerprint at the payment provider (Stripe: ``card.fingerprint``)."""
    shipping_address: ShippingAddress | None = None
    customer_ip: text(max_length=45) | None = None  # type: ignore[valid-type]
    """The buyer's IP address as the shop saw it (kept only as a keyed hash)."""
    device_id: text(max_length=200) | None = None  # type: ignore[valid-type]
    margin_amount: MinorUnits | None = None
    """What the merchant keeps from the order (minor units), when the shop knows its costs."""


class OrderEventCreate(msgspec.Struct, forbid_unknown_fields=True):
    type: OrderEventType
    amount: MinorUnits | None = None
    """For ``refunded``/``dispute_lost``: minor units returned; omitted: everything still refundable."""
    occurred_at: AwareDatetime | None = None
    event_id: text(min_length=1, max_length=200) | None = None  # type: ignore[valid-type]
    """Your id of this event: a retry with the same id applies once."""


class AttributionRead(msgspec.Struct):
    method: str
    explanation: str
    rejected: list[str]
    campaign_id: UUID | None
    referral_code_id: UUID | None
    customer_referrer_id: UUID | None
    partner_id: UUID | None
    click_id: UUID | None
    decided_at: datetime


class OrderLineRead(msgspec.Struct):
    sku: str
    category: str | None
    quantity: int
    unit_amount: int


class OrderTransitionRead(msgspec.Struct):
    event: str
    from_status: str
    to_status: str
    amount: int | None
    occurred_at: datetime
    source: str


class OrderRead(msgspec.Struct):
    id: UUID
    external_id: str
    customer_id: UUID
    amount: int
    currency: str
    placed_at: datetime
    status: str
    paid_amount: int
    refunded_amount: int
    source: str
    attribution: AttributionRead | None
    lines: list[OrderLineRead] = []
    history: list[OrderTransitionRead] = []

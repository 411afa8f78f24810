from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from campaigns.reward.rules import OutOfStock, RewardStatus, RewardType, Side
from growth.core.text import text

MinorUnits = Annotated[
    int, msgspec.Meta(gt=0, le=100_000_000_000, description="Minor units of the campaign's currency")
]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]


class RewardRuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    side: Side
    reward_type: RewardType
    amount: MinorUnits | None = None
    rate_bps: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    max_amount: MinorUnits | None = None
    sku: Sku | None = None
    threshold: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    out_of_stock: OutOfStock = OutOfStock.wait
    alternative_sku: Sku | None = None
    alternative_amount: MinorUnits | None = None


class RewardRuleRead(msgspec.Struct):
    id: UUID
    campaign_id: UUID
    side: Side
    reward_type: RewardType
    amount: int | None
    rate_bps: int | None
    max_amount: int | None
    sku: str | None
    threshold: int | None
    out_of_stock: OutOfStock
    alternative_sku: str | None
    alternative_amount: int | None
    is_active: bool


class RewardRead(msgspec.Struct):
    id: UUID
    campaign_id: UUID
    rule_id: UUID
    customer_id: UUID
    side: Side
    reward_type: RewardType
    status: RewardStatus
    amount: int
    """Value in minor units of ``currency`` (what it costs the budget)."""
    currency: str
    rate_bps: int | None
    coupon_code: str | None
    sku: str | None
    order_id: UUID | None
    order_external_id: str | None
    referee_customer_id: UUID | None
    share_submission_id: UUID | None
    is_granted: bool
    is_waiting_for_stock: bool
    is_order_disputed: bool
    is_order_held: bool
    """The risk firewall holds the earning order for review: no approval until a person decides."""
    reason: str | None
    approve_after: datetime | None
    """When the hold ends: the expected approval date (UTC)."""
    approved_at: datetime | None
    issued_at: datetime | None
    fulfilled_at: datetime | None
    voided_at: datetime | None
    expires_at: datetime | None
    """Welcome coupons: unused after this instant (UTC), the coupon is void."""
    created_at: datetime


class CustomerRef(msgspec.Struct, forbid_unknown_fields=True):
    external_id: text(min_length=1, max_length=100)  # type: ignore[valid-type]
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None


class WelcomeClaim(msgspec.Struct, forbid_unknown_fields=True):
    """The shop asks for the welcome coupon of a friend who arrived with ``referral_code``."""

    referral_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    customer: CustomerRef


class CouponRead(msgspec.Struct):
    coupon_code: str
    reward_type: RewardType
    status: RewardStatus
    is_usable: bool
    """The shop may honour it: issued and not used on an order yet."""
    amount: int | None
    """Fixed discounts: minor units off; percent discounts: the most it took off so far (0 before use)."""
    rate_bps: int | None
    currency: str
    campaign_id: UUID
    customer_id: UUID
    """The only customer who may use it."""
    expires_at: datetime | None
    """The shop honours it only for orders placed before this instant (UTC)."""


class AddressIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    line1: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$")]
    line2: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not None}


class ApproveDueResult(msgspec.Struct):
    moved: int

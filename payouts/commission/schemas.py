from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from growth.core.text import text
from payouts.commission.rules import CommissionStatus, PlanKind, Recurring

Bps = Annotated[int, msgspec.Meta(description="Basis points (100 = 1%); checked by the plan rules")]


class LineRateIn(msgspec.Struct, forbid_unknown_fields=True):
    rate_bps: Bps
    category: text(min_length=1, max_length=100) | None = None  # type: ignore[valid-type]
    sku: text(min_length=1, max_length=100) | None = None  # type: ignore[valid-type]


class TierIn(msgspec.Struct, forbid_unknown_fields=True):
    min_revenue: Annotated[int, msgspec.Meta(description="Minor units of the plan's currency")]
    rate_bps: Bps


class PlanCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: text(min_length=1, max_length=200)  # type: ignore[valid-type]
    kind: PlanKind
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    rate_bps: Bps | None = None
    fixed_amount: Annotated[int, msgspec.Meta(description="Fixed plans: minor units per order")] | None = None
    hold_days: int = 30
    recurring: Recurring = Recurring.none
    recurring_months: int | None = None
    line_rates: list[LineRateIn] = []
    tiers: list[TierIn] = []


class PlanRead(msgspec.Struct):
    id: UUID
    name: str
    kind: PlanKind
    currency: str
    rate_bps: int | None
    fixed_amount: int | None
    hold_days: int
    recurring: Recurring
    recurring_months: int | None
    line_rates: list[LineRateIn]
    tiers: list[TierIn]
    created_at: datetime


class PlanAssign(msgspec.Struct, forbid_unknown_fields=True):
    plan_id: UUID


class PlanAssignmentRead(msgspec.Struct):
    partner_id: UUID
    plan_id: UUID
    effective_at: datetime


class CommissionRead(msgspec.Struct):
    id: UUID
    partner_id: UUID
    order_id: UUID
    order_external_id: str
    plan_id: UUID
    kind: str
    status: CommissionStatus
    base_amount: int
    amount: int
    """Accrued, minor units of ``currency``."""
    reversed_amount: int
    """Of ``amount``, reversed or clawed back by refunds."""
    currency: str
    rate_bps: int | None
    is_order_held: bool
    """The risk firewall holds the order for review: no approval until a person decides."""
    reason: str | None
    """Why it is held or was reversed by the review."""
    approve_after: datetime | None
    """Expected approval (end of the hold after the order closed), UTC."""
    approved_at: datetime | None
    accrued_at: datetime


class BalanceRead(msgspec.Struct):
    state: str
    """``pending`` or ``payable``."""
    amount: int
    currency: str

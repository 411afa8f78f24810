from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from growth.core.text import text


class BalanceRead(msgspec.Struct):
    bucket: str
    """``store_credit`` (spendable at the shop) or ``cash_payable`` (to be paid out)."""
    amount: int
    currency: str


class RedemptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Store credit the shop took as payment; ``reference`` (e.g. the order id) makes a retry apply once."""

    amount: Annotated[int, msgspec.Meta(gt=0, le=100_000_000_000, description="Minor units")]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    reference: text(min_length=1, max_length=100)  # type: ignore[valid-type]


class RedemptionRead(msgspec.Struct):
    entry_id: UUID
    reference: str
    occurred_at: datetime
    balances: list[BalanceRead]

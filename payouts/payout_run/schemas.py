from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from payouts.payout_run.rules import PayoutStatus, RunStatus, SkipReason


class PayoutRunCreate(msgspec.Struct, forbid_unknown_fields=True):
    period: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", description="Calendar month YYYY-MM")]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


class PayoutRunRead(msgspec.Struct):
    id: UUID
    period: str
    currency: str
    status: RunStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PayoutRead(msgspec.Struct):
    id: UUID
    run_id: UUID
    partner_id: UUID
    statement_id: UUID | None
    """The partner's statement of the run's month, which this payout settles."""
    amount: int
    """Minor units."""
    currency: str
    provider: str
    status: PayoutStatus
    idempotency_key: str | None
    provider_reference: str | None
    error: str | None
    """The provider's reason when the transfer failed."""
    sent_at: datetime | None
    paid_at: datetime | None


class PayoutSkipRead(msgspec.Struct):
    partner_id: UUID
    amount: int
    reason: SkipReason


class PayoutRunDetailRead(msgspec.Struct):
    run: PayoutRunRead
    payouts: list[PayoutRead]
    skips: list[PayoutSkipRead]


class PayoutHoldReleaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Let one partner's payout of a period through the trailing-average hold."""

    partner_id: UUID
    period: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", description="Calendar month YYYY-MM")]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class PayoutHoldReleaseRead(msgspec.Struct):
    partner_id: UUID
    period: str
    currency: str
    reason: str
    released_by: str | None
    released_at: datetime
    run_id: UUID | None
    """The period's run, when it already exists."""
    payout_id: UUID | None
    """The payout the release added to that run (execute the run to send it)."""
    still_held: SkipReason | None
    """Another gate that still holds the partner in that run."""

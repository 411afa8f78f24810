"""The review queue's payloads (msgspec): held orders with their signals, and reviewers' decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

# Generous: the rules say what is too long once the note is trimmed; the payload only bounds what is read.
Note = Annotated[str, msgspec.Meta(max_length=4000, description="Up to 2000 characters once trimmed")]
OrderIds = Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=200)]
DecisionName = Literal["approve", "reject"]


class ReviewDecisionCreate(msgspec.Struct, forbid_unknown_fields=True):
    decision: DecisionName
    """``approve`` lets the order's rewards and commissions proceed; ``reject`` voids and reverses them."""
    note: Note | None = None
    """Why; required to reject."""


class ReviewDecisionsCreate(msgspec.Struct, forbid_unknown_fields=True):
    order_ids: OrderIds
    """1 to 200 held orders (our ids), decided together: all of them or none."""
    decision: DecisionName
    note: Note | None = None
    """One note for all of them; required to reject."""


class ReviewReasonRead(msgspec.Struct):
    """A rule that fired: its code, what it does, why (English, with the figures) and the figures."""

    code: str
    verdict: str
    message: str
    details: dict[str, Any]


class ReviewOrderRead(msgspec.Struct):
    """The order under review; the customer by initials and a masked e-mail only."""

    id: UUID
    external_id: str
    amount: int
    """Minor units of ``currency``."""
    currency: str
    placed_at: datetime
    status: str
    customer_id: UUID
    customer_initials: str | None
    customer_email: str | None
    """Masked: ``m***@example.com``."""


class ReviewAttributionRead(msgspec.Struct):
    """Who was credited with the order, and why (the explanation includes the risk check and decisions)."""

    method: str
    campaign_id: UUID | None
    campaign_name: str | None
    referral_code_id: UUID | None
    referrer_customer_id: UUID | None
    referrer_external_id: str | None
    referrer_initials: str | None
    partner_id: UUID | None
    explanation: str


class RelatedOrderRead(msgspec.Struct):
    """Another order sharing the card, address, device, referrer or partner, with its own review."""

    order_id: UUID
    external_id: str
    amount: int
    """Minor units of ``currency``."""
    currency: str
    placed_at: datetime
    order_status: str
    review_status: str | None
    """None: the order was not attributed, so never reviewed."""


class OrderReviewRead(msgspec.Struct):
    """An order's review with everything a reviewer needs to decide it."""

    order_id: UUID
    status: str
    """``allowed``, ``held`` or ``rejected`` by the rules; ``approved`` or ``declined`` by a person."""
    verdict: str
    reasons: list[ReviewReasonRead]
    reviewed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    order: ReviewOrderRead
    attribution: ReviewAttributionRead
    related: dict[str, list[RelatedOrderRead]]
    """Per kind that applies (``same_payment``, ``same_address``, ``same_device``, ``same_referrer``,
    ``same_partner``), at most 20 other orders, newest first."""


class ReviewDecisionRead(msgspec.Struct):
    """An order's review after a decision; ``is_changed`` is false when it was already decided so."""

    order_id: UUID
    status: str
    previous_status: str
    is_changed: bool
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class ReviewDecisionsRead(msgspec.Struct):
    decided: list[ReviewDecisionRead]
    changed: int
    """How many reviews this request changed (the others were already decided the same way)."""

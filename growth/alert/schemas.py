"""Delay alerts over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class DelayAlertRead(msgspec.Struct):
    id: UUID
    kind: str
    """``gift_pack_not_shipped``, ``gift_pack_out_of_stock``, ``reward_in_review`` or ``payout_failed``."""
    recipient_type: str
    """``customer`` or ``partner``."""
    recipient_id: UUID
    subject_id: UUID
    """The late reward (customer alerts) or payout (partner alerts)."""
    expected_at: datetime
    detected_at: datetime
    detail: str
    options: list[str]
    context: dict[str, Any]

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from growth.core.text import text
from payouts.lead.rules import LeadStatus


class LeadCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A prospect: its e-mail, its company name, or both."""

    email: text(max_length=320) | None = None  # type: ignore[valid-type]
    company: text(max_length=200) | None = None  # type: ignore[valid-type]
    contact_name: text(max_length=200) | None = None  # type: ignore[valid-type]
    note: text(max_length=1000) | None = None  # type: ignore[valid-type]


class LeadRead(msgspec.Struct):
    id: UUID
    reference: str
    """``L-XXXXXX``: the prospect quotes it when ordering (``lead_reference``)."""
    partner_id: UUID
    email: str | None
    company: str | None
    contact_name: str | None
    note: str | None
    status: LeadStatus
    registered_at: datetime
    expires_at: datetime

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from growth.core.audit_port import ActorKind


class AuditEntryRead(msgspec.Struct):
    id: UUID
    sequence: int
    occurred_at: datetime
    actor_kind: ActorKind
    actor_id: str | None
    """The API key's id or the partner's id; null for the system and the CLI."""
    actor_name: str
    action: str
    subject_type: str
    subject_id: str
    before: Any
    """The audited values before the action (secrets masked); null when the subject was created."""
    after: Any
    request_id: str | None
    entry_hash: str
    """SHA-256 over the previous entry's hash and this entry (see ``/api/audit/verify``)."""


class ChainVerificationRead(msgspec.Struct):
    is_valid: bool
    checked: int
    """How many entries, from the first, follow from the ones before them."""
    first_broken_sequence: int | None
    reason: str | None

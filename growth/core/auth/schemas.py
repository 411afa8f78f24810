from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from growth.core.auth.rules import Role
from growth.core.text import text


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: text(min_length=1, max_length=100)  # type: ignore[valid-type]
    role: Role
    subject_id: UUID | None = None


class ApiKeyRead(msgspec.Struct):
    id: UUID
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    subject_id: UUID | None = None


class ApiKeyCreated(ApiKeyRead, kw_only=True):
    key: str
    """The secret key. Shown once; only its hash is kept."""


class SignInForm(msgspec.Struct):
    """The dashboard sign-in form (``application/x-www-form-urlencoded``)."""

    key: str = ""
    next: str = ""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from growth.core.text import text


class CustomerUpsert(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    email: text(max_length=320) | None = None  # type: ignore[valid-type]
    name: text(max_length=200) | None = None  # type: ignore[valid-type]
    locale: (
        Annotated[str, msgspec.Meta(max_length=16, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")] | None
    ) = None


class CustomerRead(msgspec.Struct):
    id: UUID
    external_id: str
    email: str | None
    name: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime

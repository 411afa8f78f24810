"""Payload text fields: bounded length and no control characters (PostgreSQL refuses NUL)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*\Z"


def text(*, max_length: int, min_length: int = 0) -> Any:
    """A string type for msgspec payloads: ``min_length``..``max_length`` characters, none of them control."""
    return Annotated[
        str,
        msgspec.Meta(
            min_length=min_length,
            max_length=max_length,
            pattern=NO_CONTROL_CHARACTERS,
            description=f"{min_length}-{max_length} characters, no control characters",
        ),
    ]

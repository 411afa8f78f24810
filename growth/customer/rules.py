"""Pure rules about customers: identity keys and input checks."""

from __future__ import annotations

import re

from growth.core.email import is_valid_email, normalize_email

__all__ = ["is_valid_email", "is_valid_external_id", "normalize_email"]

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._:@+\-]{1,100}$")


def is_valid_external_id(external_id: str) -> bool:
    """The shop's id: 1-100 characters of letters, digits and ``. _ : @ + -``."""
    return _EXTERNAL_ID.fullmatch(external_id) is not None

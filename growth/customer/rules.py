"""Pure rules about customers: identity keys and input checks."""

from __future__ import annotations

import re

from growth.core.email import is_valid_email, normalize_email

__all__ = ["is_valid_email", "is_valid_external_id", "normalize_email"]

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._:@+\-]{1,100}$")


def is_valid_external_id(external_id: str) -> bool:
    """The shop's id: 1-100 characters of letters, digits and ``. _ : @ + -``."""
    return _EXTERNAL_ID.fullmatch(external_id) is not None


def initials(name: str | None) -> str | None:
    """What a referrer may see of a friend's name: ``Bob Li`` -> ``B. L.``, ``王小明`` -> ``王*``."""
    words = (name or "").split()
    if not words:
        return None
    if len(words) == 1 and not words[0].isascii():
        return f"{words[0][0]}*"  # a CJK name is one word: the family name alone, masked
    return " ".join(f"{word[0].upper()}." for word in words[:3])

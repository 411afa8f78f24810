"""Pure rules about customers: identity keys and input checks."""

from __future__ import annotations

import re

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._:@+\-]{1,100}$")


def is_valid_email(email: str) -> bool:
    return len(email) <= 320 and _EMAIL.match(email) is not None


def normalize_email(email: str) -> str:
    """One key per mailbox: lower case; for Gmail also without dots and ``+tags``."""
    local, _, domain = email.strip().lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def is_valid_external_id(external_id: str) -> bool:
    """The shop's id: 1-100 characters of letters, digits and ``. _ : @ + -``."""
    return _EXTERNAL_ID.match(external_id) is not None

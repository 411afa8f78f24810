"""E-mail addresses: validity and the one key per mailbox (customers, partners and leads share it)."""

from __future__ import annotations

import re

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def is_valid_email(email: str) -> bool:
    """A plausible single address: one ``@``, a dotted domain, no spaces, at most 320 characters."""
    return len(email) <= 320 and _EMAIL.fullmatch(email) is not None


def normalize_email(email: str) -> str:
    """One key per mailbox: lower case; for Gmail also without dots and ``+tags``."""
    local, _, domain = email.strip().lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def mask_email(email: str | None) -> str | None:
    """An address as pages and logs may show it: ``mei.wang@example.com`` -> ``m***@example.com``."""
    local, at, domain = (email or "").strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return f"{local[0]}***@{domain}"

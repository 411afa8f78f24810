"""API keys and roles: pure rules (format, hashing, who may do what)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

KEY_PREFIX = "gk"
LAST_USED_PRECISION = timedelta(minutes=1)


class Role(StrEnum):
    admin = "admin"
    marketing = "marketing"
    finance = "finance"
    partner = "partner"
    shop = "shop"


def generate_key() -> tuple[str, str]:
    """A new secret key and its public prefix: ``gk_<prefix>_<secret>``, 256 bits of entropy."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(key: str) -> str:
    """SHA-256 of the key; keys are random, so no slow hash is needed to resist guessing."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The public prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8 or len(key) > 200:
        return None
    return parts[1]


def hashes_match(expected: str, key: str) -> bool:
    return hmac.compare_digest(expected, hash_key(key))


def subject_problem(role: Role, has_subject: bool) -> str | None:
    """Partner keys act for one partner; no other key acts for anyone."""
    if role is Role.partner and not has_subject:
        return "a partner key needs the partner's id as subject_id"
    if role is not Role.partner and has_subject:
        return "only partner keys have a subject_id"
    return None


def is_allowed(role: Role, allowed: frozenset[Role]) -> bool:
    """Admins may do everything; other roles only what the route names."""
    return role is Role.admin or role in allowed


def needs_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """Record a key's use at most once a minute, so reads do not all turn into writes."""
    return last_used_at is None or now - last_used_at >= LAST_USED_PRECISION

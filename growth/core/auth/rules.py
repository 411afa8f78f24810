"""API keys and roles: pure rules (format, hashing, who may do what)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit
from uuid import UUID

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


# Dashboard sign-in: people paste a key once and get a signed session cookie.

DASHBOARD_ROLES = frozenset({Role.admin, Role.marketing, Role.finance})
SESSION_MAX_AGE = timedelta(hours=12)
"""How long a dashboard session lasts before the key must be pasted again."""


def can_sign_in(role: Role) -> bool:
    """Only staff roles use the dashboard; partner and shop keys are for their APIs."""
    return role in DASHBOARD_ROLES


@lru_cache(maxsize=8)
def derived_secret(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose``, so the session, CSRF and link signatures never share a key."""
    return hashlib.sha256(f"growth:{purpose}:".encode() + secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """What the session cookie says: which key signed in, with which role, and when."""

    key_id: UUID
    role: Role
    signed_in_at: datetime


def _signature(payload: str, key: bytes) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_value(payload: str, key: bytes) -> str:
    """``<payload>.<HMAC-SHA256>``: readable, but not forgeable without ``key``."""
    return f"{payload}.{_signature(payload, key)}"


def verified_payload(value: str, key: bytes) -> str | None:
    """The payload of a value ``sign_value`` made with ``key``, else None (also for oversized input)."""
    if len(value) > 200:
        return None
    payload, _, signature = value.rpartition(".")
    try:  # ValueError also covers text that cannot be encoded
        return payload if hmac.compare_digest(signature.encode(), _signature(payload, key).encode()) else None
    except ValueError:
        return None


def encode_session(session: DashboardSession, key: bytes) -> str:
    """The cookie value: ``<key id>.<role>.<unix time>.<HMAC-SHA256>``; readable, but not forgeable."""
    return sign_value(
        f"{session.key_id.hex}.{session.role.value}.{int(session.signed_in_at.timestamp())}", key
    )


def decode_session(value: str, key: bytes, *, now: datetime) -> DashboardSession | None:
    """The session in a cookie whose signature holds and which has not expired, else None."""
    if (payload := verified_payload(value, key)) is None:
        return None
    try:
        key_hex, role, timestamp = payload.split(".")
        session = DashboardSession(UUID(hex=key_hex), Role(role), datetime.fromtimestamp(int(timestamp), UTC))
    except (ValueError, OverflowError, OSError):
        return None
    if not can_sign_in(session.role) or not timedelta(0) <= now - session.signed_in_at < SESSION_MAX_AGE:
        return None
    return session


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``: sign-in never redirects elsewhere."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in target):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target

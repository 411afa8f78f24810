"""Pure rules of the portal: sign-in tokens, the partner's session cookie, and what to expect when."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from growth.core.auth.rules import sign_value, verified_payload
from growth.core.time import to_local

TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
LINK_LIFETIME = timedelta(minutes=20)
"""How long an e-mailed sign-in link works (once)."""
MAX_OPEN_LINKS = 5
"""Unused, unexpired links a partner may have at once: asking again and again sends no more mail."""
SESSION_MAX_AGE = timedelta(hours=12)
SIGNS_IN = frozenset({"approved", "suspended"})
"""Who may sign in: a suspended partner still reads its statements; applicants and closed partners not."""


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible_token(token: str) -> bool:
    """Shaped like ``new_token``'s output (43 URL-safe characters), so junk never reaches the database."""
    return _TOKEN.fullmatch(token) is not None


@dataclass(frozen=True, slots=True)
class PortalSession:
    partner_id: UUID
    signed_in_at: datetime


def encode_session(session: PortalSession, key: bytes) -> str:
    """The cookie: ``<partner id>.<unix time>.<HMAC-SHA256>``; readable, not forgeable."""
    return sign_value(f"{session.partner_id.hex}.{int(session.signed_in_at.timestamp())}", key)


def decode_session(value: str, key: bytes, *, now: datetime) -> PortalSession | None:
    """The session in a cookie whose signature holds and which has not expired, else None."""
    if (payload := verified_payload(value, key)) is None:
        return None
    try:
        partner_hex, timestamp = payload.split(".")
        session = PortalSession(UUID(hex=partner_hex), datetime.fromtimestamp(int(timestamp), UTC))
    except (ValueError, OverflowError, OSError):
        return None
    if not timedelta(0) <= now - session.signed_in_at < SESSION_MAX_AGE:
        return None
    return session


def next_payout_date(now: datetime, tz: str) -> date:
    """Approved commission is paid by the run of the month it is in, once the month is over: the 1st
    of next month in the program's time zone is the earliest day it can be paid."""
    local = to_local(now, tz)
    return date(local.year + local.month // 12, local.month % 12 + 1, 1)

"""Pure rules of the portal: sign-in tokens, the partner's session cookie, and what to expect when."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from growth.core.auth.rules import sign_value, verified_payload
from growth.core.time import to_local
from payouts.partner.rules import CAP_REASON_PREFIX

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


class CommissionStage(StrEnum):
    """Where one commission stands, as its partner sees it."""

    pending = "pending"
    """Earned; the order must close and the hold pass."""
    in_review = "in_review"
    """The risk review holds the order: a person decides."""
    waiting_for_cap = "waiting_for_cap"
    """Past its hold, but the partner's credit tier caps what may be payable at once."""
    payable = "payable"
    """Approved: the payout run of its month pays it."""
    in_payout = "in_payout"
    """The run of its month has a payout for the partner that is not sent yet."""
    paid = "paid"
    payout_failed = "payout_failed"
    """The payout of its month failed: the money is payable again, for a later run."""
    reversed = "reversed"


def payout_period(approved_at: datetime, tz: str) -> str:
    """The payout run (``YYYY-MM``) that pays a commission approved at ``approved_at``: its local month."""
    local = to_local(approved_at, tz)
    return f"{local.year:04d}-{local.month:02d}"


def commission_stage(
    *, status: str, is_held: bool, reason: str | None, payout_status: str | None
) -> CommissionStage:
    """The commission's stage from its status and the status of the payout of its month (None: no payout)."""
    if status == "reversed":
        return CommissionStage.reversed
    if status == "pending":
        if is_held:
            return CommissionStage.in_review
        if reason is not None and reason.startswith(CAP_REASON_PREFIX):
            return CommissionStage.waiting_for_cap
        return CommissionStage.pending
    return {
        "pending": CommissionStage.in_payout,
        "sent": CommissionStage.paid,
        "paid": CommissionStage.paid,
        "failed": CommissionStage.payout_failed,
    }.get(payout_status or "", CommissionStage.payable)


class ShownReason(StrEnum):
    """Why a commission is held or reversed, as its partner is told: never the risk rules that fired
    or a reviewer's note (those stay with marketing), only what the partner can understand."""

    in_review = "in_review"
    credit_limit = "credit_limit"
    order_cancelled = "order_cancelled"
    order_refunded = "order_refunded"
    not_accepted = "not_accepted"
    """The risk check rejected the order or a person declined it."""
    reversed = "reversed"


def shown_reason(stage: CommissionStage, *, by_review: bool, order_status: str) -> ShownReason | None:
    """What the partner reads about a held or reversed commission; None for the other stages.

    ``by_review``: the commission's reason was written by the risk review."""
    if stage is CommissionStage.in_review:
        return ShownReason.in_review
    if stage is CommissionStage.waiting_for_cap:
        return ShownReason.credit_limit
    if stage is not CommissionStage.reversed:
        return None
    if by_review:
        return ShownReason.not_accepted
    if order_status == "cancelled":
        return ShownReason.order_cancelled
    if order_status == "refunded":
        return ShownReason.order_refunded
    return ShownReason.reversed


def expected_payout_on(
    stage: CommissionStage,
    *,
    approve_after: datetime | None,
    approved_at: datetime | None,
    is_passed_over: bool,
    now: datetime,
    tz: str,
) -> date | None:
    """The day the commission is expected to be paid: the first payout run after its approval (the 1st of
    the month after it). None when no date can be given (order open, in review, capped) or it is settled.

    ``is_passed_over``: its month's run exists without a payout for the partner (below the minimum, a
    compliance gate): the next month's run is the next chance, as for a failed payout."""
    if stage is CommissionStage.pending:
        return next_payout_date(approve_after, tz) if approve_after is not None else None
    if stage is CommissionStage.payout_failed or (stage is CommissionStage.payable and is_passed_over):
        return next_payout_date(now, tz)
    if stage is CommissionStage.payable and approved_at is not None:
        return next_payout_date(approved_at, tz)
    return None

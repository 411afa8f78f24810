"""Pure rules of leads: who the prospect is (normalised keys), references, validity, first partner wins."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from growth.core.email import is_valid_email, normalize_email

REFERENCE_PREFIX = "L-"
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32, as referral codes: no I, L, O or U, so a prospect can read the reference aloud."""
REFERENCE_LENGTH = 6
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
MAX_VALID_DAYS = 3650

COMPANY_SUFFIXES = frozenset(
    {
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "kg",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "oy",
        "pte",
        "pty",
        "kk",
    }
)
"""Legal-form words dropped from the end of a company name: ``Acme Pty Ltd`` is ``Acme``."""
CJK_COMPANY_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "株式会社")
"""Legal forms written without a space before them: ``字节跳动有限公司`` is ``字节跳动``."""
_NOT_WORD = re.compile(r"[^\w]+|_+")


class LeadStatus(StrEnum):
    active = "active"
    """Holds its prospect against other partners and attributes their orders."""
    expired = "expired"
    """Its validity ran out: another partner (or the same) may register the prospect again."""
    released = "released"
    """Let go before it expired (its partner was closed)."""


class Claim(StrEnum):
    """What a registration finds on its prospect."""

    free = "free"
    own = "own"
    taken = "taken"


@dataclass(frozen=True, slots=True)
class Prospect:
    """A prospect as the partner typed it, with the keys under which it is unique."""

    email: str | None
    email_key: str | None
    company: str | None
    company_key: str | None


def company_key(name: str) -> str | None:
    """One key per company name: width- and case-folded, punctuation and legal-form suffixes dropped."""
    words = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", name).casefold()).split()
    while len(words) > 1 and words[-1] in COMPANY_SUFFIXES:
        words.pop()
    if words:
        last = words[-1]
        for suffix in CJK_COMPANY_SUFFIXES:
            if last.endswith(suffix) and (len(last) > len(suffix) or len(words) > 1):
                words[-1] = last[: -len(suffix)]
                break
    return " ".join(w for w in words if w) or None


def prospect(email: str | None, company: str | None) -> Prospect | str:
    """The prospect behind a registration, or why it cannot be one."""
    email = (email or "").strip() or None
    company = " ".join((company or "").split()) or None
    if email is None and company is None:
        return "a lead needs the prospect's e-mail or company name"
    if email is not None and not is_valid_email(email):
        return f"not an e-mail address: {email[:80]!r}"
    key = company_key(company) if company is not None else None
    if company is not None and key is None:
        return "the company name has no letters or digits"
    return Prospect(email, normalize_email(email) if email else None, company, key)


def claim(partner_id: UUID, holders: list[UUID]) -> Claim:
    """First partner wins: the prospect is free, already this partner's, or another partner's."""
    if not holders:
        return Claim.free
    return Claim.own if all(holder == partner_id for holder in holders) else Claim.taken


def generate_reference() -> str:
    """A fresh ``L-XXXXXX`` reference (30 random bits) the partner gives the prospect."""
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def reference_key(typed: str) -> str | None:
    """The stored reference behind one typed by hand (any case, without ``L-``, O for 0), or None."""
    body = typed.strip().upper()
    if body.startswith(REFERENCE_PREFIX):
        body = body[len(REFERENCE_PREFIX) :]
    elif body.startswith("L") and len(body) == REFERENCE_LENGTH + 1:
        body = body[1:]
    body = body.translate(_CROCKFORD_ALIASES)
    if len(body) != REFERENCE_LENGTH or any(ch not in REFERENCE_ALPHABET for ch in body):
        return None
    return REFERENCE_PREFIX + body


def valid_days_problem(days: int) -> str | None:
    """Why ``days`` cannot be a lead's validity, or None."""
    if not 1 <= days <= MAX_VALID_DAYS:
        return f"a lead is valid for 1 to {MAX_VALID_DAYS} days, not {days}"
    return None


def expires_at(registered_at: datetime, valid_days: int) -> datetime:
    """The end of a lead's validity (exclusive)."""
    return registered_at + timedelta(days=valid_days)


def lead_status(*, expires_at: datetime, released_at: datetime | None, now: datetime) -> LeadStatus:
    """Where a lead stands at ``now``: released early, expired, or active."""
    if released_at is not None and released_at < expires_at:
        return LeadStatus.released
    return LeadStatus.expired if now >= expires_at else LeadStatus.active

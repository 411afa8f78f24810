"""Pure rules of referral codes: generation, normalisation, vanity codes, signed share tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32: no I, L, O or U, so codes survive being read aloud or copied by hand."""
GENERATED_LENGTH = 8
RESERVED_WORDS = frozenset(
    {
        "admin",
        "api",
        "r",
        "s",
        "static",
        "share",
        "schema",
        "health",
        "login",
        "logout",
        "signin",
        "signup",
        "portal",
        "partner",
        "partners",
        "dashboard",
        "webhooks",
        "docs",
        "assets",
        "www",
        "help",
        "support",
        "null",
        "none",
        "undefined",
        "root",
        "system",
        "growth",
        "campaigns",
        "payouts",
        "favicon",
    }
)
_VANITY = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SIGNATURE_BYTES = 16


def generate_code() -> str:
    """A fresh 8-character code from the operating system's CSPRNG (40 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED_LENGTH))


def code_key(code: str) -> str:
    """The case-insensitive key under which a code is unique."""
    return code.upper()


def typed_code_key(code: str) -> str | None:
    """For an 8-character code typed by hand, the key with Crockford's look-alikes fixed (O->0, I/L->1)."""
    key = code_key(code).replace("-", "").translate(_CROCKFORD_ALIASES)
    if len(key) == GENERATED_LENGTH and all(ch in ALPHABET for ch in key):
        return key
    return None


def is_well_formed(code: str) -> bool:
    """Could ``code`` be a code at all (generated or vanity)? Checked before any database look-up."""
    return _VANITY.fullmatch(code) is not None


def vanity_problem(code: str) -> str | None:
    """Why ``code`` cannot be a vanity code, or None."""
    if not _VANITY.fullmatch(code):
        return "vanity code must be 3-32 characters of A-Z, a-z, 0-9, '-' or '_'"
    if code.lower() in RESERVED_WORDS:
        return f"{code!r} is a reserved word"
    return None


def sign_share(secret: str, key: str) -> str:
    """The unguessable signature that opens the share page of the code with key ``key``."""
    digest = hmac.new(secret.encode(), f"share:{key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_SIGNATURE_BYTES]).decode().rstrip("=")


def share_token(secret: str, code: str) -> str:
    """``CODE.SIGNATURE``: the path segment of a customer's share page."""
    return f"{code}.{sign_share(secret, code_key(code))}"


def verify_share_token(secret: str, token: str) -> str | None:
    """The code inside a genuine share token, or None."""
    code, dot, signature = token.rpartition(".")
    if not dot or not is_well_formed(code):
        return None
    expected = sign_share(secret, code_key(code)).encode()
    # Compare bytes: compare_digest refuses non-ASCII str, and a forged token may hold any character.
    return code if hmac.compare_digest(signature.encode(), expected) else None

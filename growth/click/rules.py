"""Pure rules of clicks: what of a visitor is kept, and how."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata


def hash_ip(secret: str, ip: str | None) -> str | None:
    """A keyed hash of the IP: equal IPs match, but the IP cannot be recovered without the secret."""
    if not ip:
        return None
    return hmac.new(secret.encode(), f"ip:{ip.strip().lower()}".encode(), hashlib.sha256).hexdigest()


def clean_header(value: str | None, limit: int) -> str | None:
    """A header value fit to store: control characters dropped, cut to ``limit`` characters."""
    if not value:
        return None
    if value.isprintable():  # the usual header: no control character to drop
        return value[:limit] or None
    cleaned = "".join(ch for ch in value if unicodedata.category(ch) != "Cc")[:limit]
    return cleaned or None

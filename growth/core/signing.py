"""HMAC-SHA256 signatures of outgoing webhooks: one MAC for every signed request the service sends.

The MAC covers ``"<unix seconds>." + body``, so a receiver that checks the timestamp's age also
refuses a replayed request.
"""

from __future__ import annotations

import hashlib
import hmac


def webhook_mac(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>." + body`` keyed with ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def is_valid_mac(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Whether ``signature`` (hex) is ``webhook_mac`` of the request, compared in constant time."""
    return hmac.compare_digest(webhook_mac(secret, timestamp, body).encode(), signature.encode())

from __future__ import annotations

import msgspec


class StripeWebhookReceipt(msgspec.Struct, omit_defaults=True):
    """What Stripe is told: received (2xx, no retry), and whether it had come before."""

    received: bool
    duplicate: bool
    note: str | None = None
    """Why the event changed nothing or was kept for later (shown in Stripe's delivery log)."""

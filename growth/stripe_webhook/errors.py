"""Why a Stripe delivery is refused (nothing is recorded, Stripe retries)."""

from __future__ import annotations

from typing import ClassVar

from growth.core.errors import DomainError


class StripeWebhooksNotConfigured(DomainError):
    """No signing secret is set, so no delivery can be trusted."""

    status_code: ClassVar[int] = 503


class InvalidStripeSignature(DomainError):
    """The ``Stripe-Signature`` header is missing, stale, or does not match the body."""


class MalformedStripeEvent(DomainError):
    """The body is not a JSON Stripe event."""

from growth.core.errors import DomainError, Invalid, NotFound


class PayoutAccountNotFound(NotFound):
    """The partner has no payout account."""


class InvalidPayoutAccount(Invalid):
    pass


class StripeNotConfigured(DomainError):
    """Stripe payouts need ``GROWTH_STRIPE_API_KEY``."""

    status_code = 503


class TransferDeclined(Exception):
    """The provider refused the transfer for good; ``message`` is its reason, shown to finance."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderUnavailable(Exception):
    """The outcome is unknown (network, 5xx): retry later with the same idempotency key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

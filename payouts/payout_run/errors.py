from growth.core.errors import Conflict, Invalid, NotFound


class PayoutRunExists(Conflict):
    """A run for this period and currency already exists (or is being created right now)."""


class PayoutRunNotFound(NotFound):
    pass


class PayoutNotFound(NotFound):
    pass


class InvalidPayoutRun(Invalid):
    pass


class PayoutNotConfirmable(Conflict):
    pass


class HoldNotReleasable(Conflict):
    """The partner's payout of that period is not held for its trailing average (or its run is over)."""

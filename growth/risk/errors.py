"""Why a reviewer's request cannot be done, named as facts (rendered by ``growth/app.py``)."""

from growth.core.errors import Conflict, DomainError, NotFound


class ReviewNotFound(NotFound):
    """No such order, or an order the firewall never reviewed (not attributed)."""


class ReviewNotHeld(Conflict):
    """The rules allowed or rejected the order: only a held order is decided by a person."""


class ReviewAlreadyDecided(Conflict):
    """A reviewer already decided the order the other way."""


class InvalidReviewDecision(DomainError):
    """A decision that cannot be taken as given: a decline without a note, a note too long, no orders."""


class InvalidOrderId(DomainError):
    """An order id in the path that is not a UUID."""

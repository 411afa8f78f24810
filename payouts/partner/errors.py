from growth.core.errors import Conflict, DomainError, Invalid, NotFound


class PartnerNotFound(NotFound):
    pass


class PartnerNotApproved(Conflict):
    pass


class InvalidPartner(Invalid):
    pass


class PartnerStatusChangeRefused(Conflict):
    """An illegal lifecycle move (e.g. out of ``closed``); the details name the current status."""


class NotAPartnerKey(DomainError):
    """A partner endpoint called with a key that acts for no partner (an admin key)."""

    status_code = 403


class InvalidTierChange(Invalid):
    """A tier change without a reason (or with a reason that is too long)."""

from growth.core.errors import Conflict, DomainError, Invalid, NotFound


class OrderNotFound(NotFound):
    pass


class InvalidOrder(Invalid):
    pass


class OrderConflict(Conflict):
    """The same external id was sent before with different content."""


class IllegalOrderTransition(Conflict):
    pass


class OrderIntakeUnavailable(DomainError):
    """The order could not be made durable (its group's commit failed): nothing was stored; retry it."""

    status_code = 503

from growth.core.errors import Conflict, Invalid, NotFound


class OrderNotFound(NotFound):
    pass


class InvalidOrder(Invalid):
    pass


class OrderConflict(Conflict):
    """The same external id was sent before with different content."""


class IllegalOrderTransition(Conflict):
    pass

from growth.core.errors import Conflict, Invalid


class InsufficientBalance(Conflict):
    """The customer's balance does not cover the amount."""


class InvalidAmount(Invalid):
    pass

from growth.core.errors import Invalid, NotFound


class InvalidPeriod(Invalid):
    """Not a ``YYYY-MM`` calendar month."""


class PeriodNotOver(Invalid):
    """A statement period is issued only once it has ended."""


class StatementNotFound(NotFound):
    """No such statement, or (for a partner key) not this partner's: the two are never told apart."""


class StatementDoesNotReconcile(ValueError):
    """Opening plus lines differs from closing: a bug or tampered data, never a business outcome."""

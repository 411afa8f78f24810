from growth.core.errors import DomainError, NotFound


class InvalidAuditFilter(DomainError):
    """A filter of the audit log that makes no sense (a naive datetime, ``since`` after ``until``...)."""

    status_code = 400


class AuditEntryNotFound(NotFound):
    pass

from growth.core.errors import DomainError


class MalformedCsv(DomainError):
    """The file as a whole cannot be read: no header, unknown or missing columns, not UTF-8."""


class CsvTooLarge(DomainError):
    """The file has more rows than one request takes."""

    status_code = 413

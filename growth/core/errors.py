"""Domain errors: facts about why a request cannot be done, each with its HTTP status.

They are rendered in one place (``growth/app.py``) as ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class DomainError(Exception):
    """A business outcome that stops the use case; never a 500."""

    status_code: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @classmethod
    def code(cls) -> str:
        """Snake-case name of the fact, e.g. ``vanity_code_taken``."""
        return _CAMEL.sub("_", cls.__name__).lower()


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    """A well-formed payload whose values break a business rule."""

    status_code = 422

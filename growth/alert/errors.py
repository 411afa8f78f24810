"""Delay alert errors."""

from __future__ import annotations

from growth.core.errors import DomainError


class InvalidAlertFilter(DomainError):
    """A filter of the alert list that names no kind or recipient type."""

"""Why an analytics request cannot be answered, named as facts (rendered by ``growth/app.py``)."""

from growth.core.errors import DomainError, NotFound


class InvalidDateRange(DomainError):
    """A date that is not ``YYYY-MM-DD``, ``from`` after ``to``, or a range longer than allowed."""


class CampaignNotFound(NotFound):
    """The ``campaign_id`` filter names no campaign."""

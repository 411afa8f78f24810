"""Pure campaign rules: status transitions and field validation."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    ended = "ended"


class CampaignKind(StrEnum):
    referral = "referral"
    social_share = "social_share"
    partner = "partner"


class AttributionModel(StrEnum):
    last_click = "last_click"
    first_click = "first_click"


TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.draft: frozenset({CampaignStatus.active, CampaignStatus.ended}),
    CampaignStatus.active: frozenset({CampaignStatus.paused, CampaignStatus.ended}),
    CampaignStatus.paused: frozenset({CampaignStatus.active, CampaignStatus.ended}),
    CampaignStatus.ended: frozenset(),
}


def can_move(current: CampaignStatus, target: CampaignStatus) -> bool:
    """Whether ``current -> target`` is a legal status change (staying put is always legal)."""
    return current == target or target in TRANSITIONS[current]


def landing_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a landing page, or None: absolute http(s), a host, no credentials."""
    if len(url) > 2000:
        return "landing_url is longer than 2000 characters"
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return "landing_url contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port out of range
        return "landing_url is not a valid URL"
    if parts.scheme not in {"http", "https"} or not host:
        return "landing_url must be an absolute http or https URL"
    if parts.username or parts.password:
        return "landing_url must not contain credentials"
    return None


def normalize_hashtag(tag: str) -> str:
    """``美妆新品`` or ``#美妆新品`` -> ``#美妆新品`` (NFC)."""
    tag = unicodedata.normalize("NFC", tag.strip())
    return tag if tag.startswith("#") else f"#{tag}"


# Default-ignorable code points that Unicode files as letters or marks: they draw nothing, so a
# tag holding one looks like another tag but is not (format characters such as U+200B, U+200D,
# U+FEFF and the bidi overrides are category Cf and refused with the other non-tag characters).
INVISIBLE_TAG_CHARACTERS = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0),
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)


def hashtag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be a hashtag, or None: visible letters, marks, digits and ``_`` after one ``#``."""
    body = normalize_hashtag(tag)[1:]
    if not 1 <= len(body) <= 100:
        return "hashtag must have 1-100 characters after '#'"
    for ch in body:
        category = unicodedata.category(ch)
        if (category[0] not in {"L", "M", "N"} and ch != "_") or ord(ch) in INVISIBLE_TAG_CHARACTERS:
            return f"hashtag contains a character that cannot be in a tag: U+{ord(ch):04X}"
    return None


def period_problem(starts_at: datetime | None, ends_at: datetime | None) -> str | None:
    """Why ``[starts_at, ends_at)`` is not a campaign period, or None."""
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return "ends_at must be after starts_at"
    return None


def is_running(
    status: CampaignStatus, starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> bool:
    """Whether the campaign takes clicks now: active, and inside its period when it has one."""
    if status is not CampaignStatus.active:
        return False
    return (starts_at is None or starts_at <= now) and (ends_at is None or now < ends_at)


def running_changes_at(
    status: CampaignStatus, starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> datetime | None:
    """When ``is_running`` flips by itself after ``now`` (start or end of the period), or None."""
    if status is not CampaignStatus.active:
        return None
    return next((at for at in (starts_at, ends_at) if at is not None and at > now), None)

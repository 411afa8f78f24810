from __future__ import annotations

from enum import StrEnum


class PartnerStatus(StrEnum):
    applied = "applied"
    approved = "approved"
    suspended = "suspended"
    closed = "closed"


def may_share_links(status: PartnerStatus) -> bool:
    """Only an approved partner gets new referral codes."""
    return status is PartnerStatus.approved

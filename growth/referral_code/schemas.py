from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec


class ReferralCodeIssue(msgspec.Struct, forbid_unknown_fields=True):
    campaign_id: UUID
    customer_external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    vanity_code: Annotated[str, msgspec.Meta(min_length=3, max_length=32)] | None = None


class ReferralCodeRead(msgspec.Struct):
    id: UUID
    code: str
    is_vanity: bool
    campaign_id: UUID
    customer_id: UUID | None
    partner_id: UUID | None
    link: str
    """The public referral link, ``/r/{code}``."""
    qr_png_url: str
    qr_svg_url: str
    share_url: str
    """The referrer's own share page (signed; give it only to the referrer)."""
    created_at: datetime
    revoked_at: datetime | None

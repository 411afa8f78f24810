from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from campaigns.share.rules import SubmissionStatus
from growth.core.text import text

# Generous: the rules say what is too long (422), the payload only bounds what is read.
PostUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Reason = text(min_length=1, max_length=500)
Note = text(max_length=500)
BatchIds = Annotated[list[UUID], msgspec.Meta(max_length=200)]


class SubmissionCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: PostUrl
    """The address of the public post (Weibo, Xiaohongshu, Douyin, WeChat Channels, Instagram...)."""


class SubmissionForm(msgspec.Struct):
    """The share page's form (unknown fields such as the CSRF token are ignored)."""

    url: str = ""
    lang: str | None = None


class ApproveCreate(msgspec.Struct, forbid_unknown_fields=True):
    note: Note | None = None


class RejectCreate(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class RejectItem(msgspec.Struct, forbid_unknown_fields=True):
    id: UUID
    reason: Reason


class DecisionsCreate(msgspec.Struct, forbid_unknown_fields=True):
    approve: BatchIds = []
    reject: Annotated[list[RejectItem], msgspec.Meta(max_length=200)] = []


class ShareRewardRead(msgspec.Struct):
    """The reward an approved post earned: ``approved``, ``pending`` (awaiting restock), ``not_granted``..."""

    id: UUID
    status: str
    reward_type: str
    sku: str | None
    reason: str | None


class CustomerSubmissionRead(msgspec.Struct):
    """A customer's own post, as their share token shows it."""

    id: UUID
    campaign_id: UUID
    url: str
    platform: str
    status: SubmissionStatus
    reason: str | None
    """Why the post was rejected (None unless rejected)."""
    submitted_at: datetime
    reviewed_at: datetime | None
    reward: ShareRewardRead | None


class ShareSubmissionRead(msgspec.Struct):
    """A submission as marketing moderates it."""

    id: UUID
    campaign_id: UUID
    customer_id: UUID
    referral_code_id: UUID
    url: str
    url_key: str
    platform: str
    status: SubmissionStatus
    reason: str | None
    """The rejection reason or the approval note."""
    submitted_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    reward: ShareRewardRead | None


class DecisionFailure(msgspec.Struct):
    id: UUID
    decision: str
    code: str
    message: str


class DecisionsRead(msgspec.Struct):
    decided: list[ShareSubmissionRead]
    failed: list[DecisionFailure]

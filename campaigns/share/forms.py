"""The moderation page's forms and the messages it shows after a decision (post/redirect/get).

Pure, like ``rules.py``. A decision redirects back to the queue with what happened in the query
string: a notice (and the reward's outcome) or an error code. Only known codes and whole numbers
are read back, so nothing typed into a URL is ever shown on the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec

from campaigns.reward.rules import RewardOutcome
from campaigns.share.errors import InvalidDecision, NothingSelected
from campaigns.share.rules import Decision
from growth.core.errors import DomainError

PAGES = "/marketing/shares"
MAX_BATCH = 200


class DecisionForm(msgspec.Struct, kw_only=True):
    """Approve or Reject of one post; ``filter_campaign_id`` is the queue's filter to go back to."""

    reason: str = ""
    filter_campaign_id: str = ""


class BatchForm(msgspec.Struct, kw_only=True):
    """The ticked posts and what to do with them (one reason for all rejections)."""

    ids: list[UUID] | UUID = []
    """One ticked box arrives as a single value, several as a list."""
    action: str = ""
    reason: str = ""
    filter_campaign_id: str = ""

    @property
    def chosen(self) -> list[UUID]:
        return self.ids if isinstance(self.ids, list) else [self.ids]


@dataclass(frozen=True, slots=True)
class Batch:
    approve: list[UUID]
    reject: list[tuple[UUID, str]]


def parse_batch(form: BatchForm) -> Batch:
    """What ``decide_many`` is asked; ``NothingSelected`` or ``InvalidDecision`` when it cannot be."""
    ids = form.chosen
    if not ids:
        raise NothingSelected("select at least one post")
    if len(ids) > MAX_BATCH:
        raise InvalidDecision(f"decide at most {MAX_BATCH} posts at once")
    if form.action == Decision.approve:
        return Batch(approve=ids, reject=[])
    if form.action == Decision.reject:
        return Batch(approve=[], reject=[(i, form.reason) for i in ids])
    raise InvalidDecision("choose Approve selected or Reject selected")


def queue_url(filter_campaign_id: str, params: Mapping[str, Any]) -> str:
    """The queue (still filtered by its campaign, if it was) with ``params`` in the query string."""
    query = {k: str(v) for k, v in params.items()}
    try:
        query = {"campaign_id": str(UUID(filter_campaign_id))} | query
    except ValueError:
        pass  # no filter, or not an id: the whole queue
    return f"{PAGES}?{urlencode(query)}" if query else PAGES


def after_decision(decision: Decision, outcome: RewardOutcome | None) -> dict[str, str]:
    """The notice of one decision: approved (with its reward's outcome) or rejected."""
    if decision is Decision.reject:
        return {"notice": "rejected"}
    return {"notice": "approved", "outcome": outcome.value if outcome else ""}


_GRANTED = {RewardOutcome.granted, RewardOutcome.alternative}
_NOT_GRANTED = {RewardOutcome.budget_exhausted, RewardOutcome.out_of_stock, RewardOutcome.not_granted}


def after_batch(
    decided: list[tuple[Decision, RewardOutcome | None]], failures: list[DomainError]
) -> dict[str, str]:
    """The notice of a batch: how many were approved and rejected, what the rewards came to, failures."""
    decisions = Counter(decision for decision, _ in decided)
    outcomes = Counter(outcome for _, outcome in decided)
    params = {
        "notice": "batch",
        "approved": decisions[Decision.approve],
        "rejected": decisions[Decision.reject],
        "granted": sum(outcomes[o] for o in _GRANTED),
        "waiting": outcomes[RewardOutcome.waiting],
        "not_granted": sum(outcomes[o] for o in _NOT_GRANTED),
    }
    if failures:
        params |= {"failed": len(failures), "error": failures[0].code()}
    return {k: str(v) for k, v in params.items()}


KNOWN_ERRORS = frozenset(
    {
        "submission_already_decided",
        "invalid_decision",
        "no_share_reward",
        "submission_not_found",
        "nothing_selected",
    }
)


@dataclass(frozen=True, slots=True)
class QueueNotice:
    """What the queue says after a decision; counts are those of a batch."""

    kind: str
    """``approved``, ``rejected`` or ``batch``."""
    outcome: RewardOutcome | None = None
    approved: int = 0
    rejected: int = 0
    granted: int = 0
    waiting: int = 0
    not_granted: int = 0

    @property
    def is_warning(self) -> bool:
        """An approval whose reward was not granted (yet): shown in amber."""
        if self.kind == "batch":
            return bool(self.waiting or self.not_granted)
        return self.outcome in (_NOT_GRANTED | {RewardOutcome.waiting})


@dataclass(frozen=True, slots=True)
class QueueError:
    """Why a decision (or some of a batch) failed: a known error code, else ``unknown``."""

    code: str
    failed: int = 0


def _count(query: Mapping[str, str], key: str) -> int:
    value = query.get(key, "")
    return int(value) if value.isdigit() and len(value) <= 4 else 0


def read_notice(query: Mapping[str, str]) -> QueueNotice | None:
    """The notice named in the query string, with only known outcomes and small whole numbers."""
    kind = query.get("notice")
    if kind in ("approved", "rejected"):
        outcome = query.get("outcome", "")
        known = outcome in RewardOutcome.__members__.values()
        return QueueNotice(kind, RewardOutcome(outcome) if known else None)
    if kind == "batch" and (_count(query, "approved") or _count(query, "rejected")):
        counts = ("approved", "rejected", "granted", "waiting", "not_granted")
        return QueueNotice(kind, None, *(_count(query, key) for key in counts))
    return None


def read_error(query: Mapping[str, str]) -> QueueError | None:
    """The error named in the query string; an unknown code is not reflected."""
    code = query.get("error")
    if code is None:
        return None
    return QueueError(code if code in KNOWN_ERRORS else "unknown", _count(query, "failed"))

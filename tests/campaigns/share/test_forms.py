"""The moderation page's pure helpers: batches, the redirect's query string, and reading it back safely."""

from __future__ import annotations

from uuid import UUID

import pytest

from campaigns.reward.rules import RewardOutcome
from campaigns.share import forms
from campaigns.share.errors import InvalidDecision, NothingSelected, SubmissionAlreadyDecided
from campaigns.share.rules import Decision

A = UUID("01937c4e-0000-7000-8000-000000000001")
B = UUID("01937c4e-0000-7000-8000-000000000002")


class TestParseBatch:
    def test_approve(self) -> None:
        batch = forms.parse_batch(forms.BatchForm(ids=[A, B], action="approve", reason="ignored"))

        assert (batch.approve, batch.reject) == ([A, B], [])

    def test_reject_gives_every_post_the_reason(self) -> None:
        batch = forms.parse_batch(forms.BatchForm(ids=A, action="reject", reason="Not public"))

        assert (batch.approve, batch.reject) == ([], [(A, "Not public")])

    @pytest.mark.parametrize(
        ("form", "error"),
        [
            (forms.BatchForm(action="approve"), NothingSelected),
            (forms.BatchForm(ids=[A], action="delete"), InvalidDecision),
            (forms.BatchForm(ids=[A] * 201, action="approve"), InvalidDecision),
        ],
    )
    def test_refused(self, form: forms.BatchForm, error: type[Exception]) -> None:
        with pytest.raises(error):
            forms.parse_batch(form)


class TestQueueUrl:
    @pytest.mark.parametrize(
        ("filter_campaign_id", "params", "url"),
        [
            ("", {}, "/marketing/shares"),
            ("", {"notice": "rejected"}, "/marketing/shares?notice=rejected"),
            (str(A), {"error": "x"}, f"/marketing/shares?campaign_id={A}&error=x"),
            ("not-an-id", {"notice": "rejected"}, "/marketing/shares?notice=rejected"),
            ("https://evil.example", {}, "/marketing/shares"),
        ],
    )
    def test_urls(self, filter_campaign_id: str, params: dict[str, str], url: str) -> None:
        assert forms.queue_url(filter_campaign_id, params) == url


class TestNotices:
    def test_after_batch_counts_decisions_and_outcomes(self) -> None:
        decided = [
            (Decision.approve, RewardOutcome.granted),
            (Decision.approve, RewardOutcome.alternative),
            (Decision.approve, RewardOutcome.waiting),
            (Decision.approve, RewardOutcome.budget_exhausted),
            (Decision.reject, None),
        ]

        params = forms.after_batch(decided, [SubmissionAlreadyDecided("x"), InvalidDecision("y")])

        assert params == {
            "notice": "batch",
            "approved": "4",
            "rejected": "1",
            "granted": "2",
            "waiting": "1",
            "not_granted": "1",
            "failed": "2",
            "error": "submission_already_decided",
        }
        notice = forms.read_notice(params)
        assert notice == forms.QueueNotice("batch", None, 4, 1, 2, 1, 1)
        assert notice.is_warning

    @pytest.mark.parametrize(
        ("query", "notice"),
        [
            (
                {"notice": "approved", "outcome": "granted"},
                forms.QueueNotice("approved", RewardOutcome.granted),
            ),
            ({"notice": "approved", "outcome": "<b>"}, forms.QueueNotice("approved", None)),
            ({"notice": "rejected"}, forms.QueueNotice("rejected")),
            ({"notice": "batch", "approved": "0", "rejected": "0"}, None),
            ({"notice": "batch", "approved": "99999", "rejected": "0"}, None),
            ({"notice": "batch", "approved": "-1"}, None),
            ({"notice": "other"}, None),
            ({}, None),
        ],
    )
    def test_read_notice(self, query: dict[str, str], notice: forms.QueueNotice | None) -> None:
        assert forms.read_notice(query) == notice

    @pytest.mark.parametrize(
        ("outcome", "is_warning"),
        [
            (RewardOutcome.granted, False),
            (RewardOutcome.waiting, True),
            (RewardOutcome.out_of_stock, True),
            (None, False),
        ],
    )
    def test_warning_notices(self, outcome: RewardOutcome | None, is_warning: bool) -> None:
        assert forms.QueueNotice("approved", outcome).is_warning is is_warning

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({"error": "no_share_reward"}, forms.QueueError("no_share_reward")),
            ({"error": "invalid_decision", "failed": "3"}, forms.QueueError("invalid_decision", 3)),
            ({"error": "<script>"}, forms.QueueError("unknown")),
            ({}, None),
        ],
    )
    def test_read_error(self, query: dict[str, str], error: forms.QueueError | None) -> None:
        assert forms.read_error(query) == error

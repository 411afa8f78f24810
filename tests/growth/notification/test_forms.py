"""The notification pages' pure helpers: paging links, the log's filters after a re-send, and what a
query string may put on the page."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import pytest

from growth.notification import forms
from growth.notification.rules import DeliveryStatus, EmailStatus, Kind, filter_problem

ID = "01a21b94-1c64-760a-8c35-c37c9a5a587d"


class TestPaging:
    @pytest.mark.parametrize(
        ("page", "total", "pages", "previous_url", "next_url"),
        [
            (1, 0, 1, None, None),
            (1, 50, 1, None, None),
            (1, 51, 2, None, "/p?kind=payout_sent&page=2"),
            (2, 51, 2, "/p?kind=payout_sent", None),
            (3, 151, 4, "/p?kind=payout_sent&page=2", "/p?kind=payout_sent&page=4"),
            (9, 10, 1, "/p?kind=payout_sent&page=8", None),  # past the end: back is still offered
        ],
    )
    def test_links_keep_the_filters(
        self, page: int, total: int, pages: int, previous_url: str | None, next_url: str | None
    ) -> None:
        got = forms.paging("/p", {"kind": "payout_sent", "status": None}, page=page, total=total, size=50)
        assert (got.pages, got.offset, got.previous_url, got.next_url) == (
            pages,
            (page - 1) * 50,
            previous_url,
            next_url,
        )

    def test_no_filters_no_query(self) -> None:
        assert forms.paging("/p", {}, page=2, total=100, size=50).previous_url == "/p"


class TestWebhooksUrl:
    @pytest.mark.parametrize(
        ("form", "expected"),
        [
            (forms.LogForm(), "/marketing/webhooks?resent=delivered"),
            (
                forms.LogForm(endpoint_id=ID, status="failed", page="3"),
                f"/marketing/webhooks?endpoint_id={ID}&status=failed&page=3&resent=delivered",
            ),
            (
                forms.LogForm(endpoint_id="x", status="evil", page="-1"),
                "/marketing/webhooks?resent=delivered",
            ),
            (forms.LogForm(page="1"), "/marketing/webhooks?resent=delivered"),
        ],
    )
    def test_keeps_only_valid_filters(self, form: forms.LogForm, expected: str) -> None:
        assert forms.webhooks_url(form, {"resent": "delivered"}) == expected


class TestNotice:
    def test_after_resend_round_trips(self) -> None:
        params = forms.after_resend(UUID(ID), DeliveryStatus.delivered, 204)
        assert forms.read_notice(params) == forms.ResendNotice(True, ID, 204)
        params = forms.after_resend(UUID(ID), DeliveryStatus.pending, None)
        assert forms.read_notice(params) == forms.ResendNotice(False, ID, None)

    @pytest.mark.parametrize(
        "query",
        [{}, {"resent": "<script>"}, {"resent": "yes"}],
    )
    def test_unknown_notices_are_not_shown(self, query: dict[str, str]) -> None:
        assert forms.read_notice(query) is None

    def test_only_small_codes_and_ids_are_read_back(self) -> None:
        notice = forms.read_notice({"resent": "delivered", "code": "99999", "delivery": "<b>"})
        assert notice == forms.ResendNotice(True, None, None)

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({}, None),
            ({"error": "webhook_endpoint_not_found"}, "webhook_endpoint_not_found"),
            ({"error": "<script>"}, "unknown"),
        ],
    )
    def test_errors(self, query: dict[str, str], expected: str | None) -> None:
        assert forms.read_error(query) == expected

    def test_endpoint_form_takes_one_or_many_kinds(self) -> None:
        assert forms.EndpointForm(event_kinds="payout_sent").kinds == ["payout_sent"]
        assert forms.EndpointForm(event_kinds=["a", "b"]).kinds == ["a", "b"]
        assert forms.EndpointForm().kinds == []


@pytest.mark.parametrize(
    ("value", "known", "problem"),
    [
        (None, Kind, None),
        ("payout_sent", Kind, None),
        ("stored", EmailStatus, None),
        ("failed", DeliveryStatus, None),
        ("nope", Kind, "unknown kind 'nope'; one of: friend_ordered, reward_approved"),
        ("delivered", EmailStatus, "unknown kind 'delivered'; one of: sent, stored"),
        ("x" * 100, DeliveryStatus, "unknown kind '" + "x" * 40 + "'; one of: pending, delivered, failed"),
    ],
)
def test_filter_problem(value: str | None, known: type[StrEnum], problem: str | None) -> None:
    got = filter_problem("kind", value, known)
    assert got == problem if problem is None else (got or "").startswith(problem)

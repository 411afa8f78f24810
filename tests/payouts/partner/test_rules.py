"""Partner rules: the lifecycle and the checks of a partner's profile."""

from __future__ import annotations

import itertools

import pytest

from payouts.partner.rules import (
    COUNTRIES,
    PartnerStatus,
    may_share_links,
    normalize_country,
    profile_problem,
    reason_problem,
    reinstates_codes,
    releases_leads,
    revokes_codes,
    transition_problem,
    website_problem,
)

S = PartnerStatus
ALLOWED = {
    (S.applied, S.approved),
    (S.applied, S.closed),
    (S.approved, S.suspended),
    (S.approved, S.closed),
    (S.suspended, S.approved),
    (S.suspended, S.closed),
}


class TestTransitions:
    @pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
    def test_allowed_moves(self, current: PartnerStatus, target: PartnerStatus) -> None:
        assert transition_problem(current, target) is None

    @pytest.mark.parametrize(
        ("current", "target"),
        [(c, t) for c, t in itertools.product(S, S) if c is not t and (c, t) not in ALLOWED],
    )
    def test_every_other_move_is_refused(self, current: PartnerStatus, target: PartnerStatus) -> None:
        assert transition_problem(current, target) is not None

    @pytest.mark.parametrize("status", list(S))
    def test_staying_put_is_no_move(self, status: PartnerStatus) -> None:
        assert transition_problem(status, status) is None

    @pytest.mark.parametrize("target", [S.applied, S.approved, S.suspended])
    def test_closed_is_final(self, target: PartnerStatus) -> None:
        assert transition_problem(S.closed, target) == "the partner is closed; closing is final"

    def test_the_refusal_names_both_statuses(self) -> None:
        assert (
            transition_problem(S.applied, S.suspended) == "a partner who is applied cannot become suspended"
        )


class TestReason:
    @pytest.mark.parametrize("target", [S.suspended, S.closed])
    @pytest.mark.parametrize("reason", [None, "", "   "])
    def test_suspending_and_closing_need_a_reason(self, target: PartnerStatus, reason: str | None) -> None:
        assert reason_problem(target, reason) == f"say why the partner is {target.value} (reason)"

    @pytest.mark.parametrize("target", [S.suspended, S.closed])
    def test_a_reason_is_enough(self, target: PartnerStatus) -> None:
        assert reason_problem(target, "chargebacks") is None

    @pytest.mark.parametrize("reason", [None, "welcome"])
    def test_approving_needs_none(self, reason: str | None) -> None:
        assert reason_problem(S.approved, reason) is None


class TestEffects:
    @pytest.mark.parametrize(
        ("status", "expected"),
        [(S.applied, False), (S.approved, True), (S.suspended, False), (S.closed, False)],
    )
    def test_only_approved_partners_share_links(self, status: PartnerStatus, expected: bool) -> None:
        assert may_share_links(status) is expected

    @pytest.mark.parametrize(
        ("target", "expected"),
        [(S.applied, False), (S.approved, False), (S.suspended, True), (S.closed, True)],
    )
    def test_suspending_and_closing_revoke_codes(self, target: PartnerStatus, expected: bool) -> None:
        assert revokes_codes(target) is expected

    @pytest.mark.parametrize(
        ("current", "target", "expected"),
        [
            (S.suspended, S.approved, True),
            (S.applied, S.approved, False),
            (S.suspended, S.closed, False),
            (S.approved, S.approved, False),
        ],
    )
    def test_only_lifting_a_suspension_reinstates_codes(
        self, current: PartnerStatus, target: PartnerStatus, expected: bool
    ) -> None:
        assert reinstates_codes(current, target) is expected

    @pytest.mark.parametrize(
        ("target", "expected"), [(S.closed, True), (S.suspended, False), (S.approved, False)]
    )
    def test_only_closing_releases_leads(self, target: PartnerStatus, expected: bool) -> None:
        assert releases_leads(target) is expected


class TestProfile:
    @pytest.mark.parametrize(
        "website",
        ["https://northwind.example", "http://northwind.example/partners?x=1", "https://北风.example/"],
    )
    def test_good_websites(self, website: str) -> None:
        assert website_problem(website) is None

    @pytest.mark.parametrize(
        "website",
        [
            "northwind.example",
            "ftp://northwind.example",
            "javascript:alert(1)",
            "https://localhost",
            "https://",
            "https://north wind.example",
        ],
    )
    def test_bad_websites(self, website: str) -> None:
        assert website_problem(website) is not None

    @pytest.mark.parametrize(("raw", "expected"), [("cn", "CN"), (" De ", "DE"), ("", None), (None, None)])
    def test_normalize_country(self, raw: str | None, expected: str | None) -> None:
        assert normalize_country(raw) == expected

    @pytest.mark.parametrize("country", ["CN", "DE", "US", "HK", "TW", "GB"])
    def test_countries(self, country: str) -> None:
        assert country in COUNTRIES
        assert profile_problem(name="N", email="a@example.com", website=None, country=country) is None

    @pytest.mark.parametrize("country", ["ZZ", "EU", "UK", "XX", "C1", "001"])
    def test_not_countries(self, country: str) -> None:
        problem = profile_problem(name="N", email="a@example.com", website=None, country=country)
        assert problem is not None and "ISO 3166-1 alpha-2" in problem

    @pytest.mark.parametrize(
        ("name", "email", "website", "expected"),
        [
            ("  ", "a@example.com", None, "name must not be blank"),
            ("N", "not-an-email", None, "not an e-mail address: 'not-an-email'"),
            ("N", "a@example.com", "northwind", "website must be an http:// or https:// address"),
            ("N", " a@example.com ", "https://n.example", None),
        ],
    )
    def test_profile_problem(self, name: str, email: str, website: str | None, expected: str | None) -> None:
        assert profile_problem(name=name, email=email, website=website, country=None) == expected

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from growth.attribution.rules import (
    ClickCandidate,
    CodeCandidate,
    Inherited,
    Method,
    OrderFacts,
    attribute,
    pick_click,
)
from growth.core.ports import CampaignTerms, LeadFacts

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
REFEREE = uuid4()
REFERRER = uuid4()


def campaign(**changes: object) -> CampaignTerms:
    base = CampaignTerms(
        id=uuid4(),
        name="Spring",
        landing_url="https://shop.example",
        currency="CNY",
        hashtag=None,
        attribution_window_days=30,
        accepts_clicks=True,
        issues_codes=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def code(**changes: object) -> CodeCandidate:
    base = CodeCandidate(
        referral_code_id=uuid4(),
        code="ALICE",
        campaign=campaign(),
        customer_id=REFERRER,
        partner_id=None,
        referrer_label="customer alice",
        referrer_email_key="alice@example.com",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def order(**changes: object) -> OrderFacts:
    base = OrderFacts(
        customer_id=REFEREE,
        email_key="mei@example.com",
        currency="CNY",
        placed_at=NOW,
        has_earlier_paid_order=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def click(days_ago: float, candidate: CodeCandidate | None = None) -> ClickCandidate:
    return ClickCandidate(uuid4(), NOW - timedelta(days=days_ago), candidate or code())


def lead(**changes: object) -> LeadFacts:
    base = LeadFacts(
        id=uuid4(),
        partner_id=uuid4(),
        registered_at=NOW - timedelta(days=5),
        expires_at=NOW + timedelta(days=85),
        reference="L-1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class TestPrecedence:
    def test_lead_beats_coupon_code_and_click(self) -> None:
        the_lead = lead()
        decision = attribute(order(), lead=the_lead, coupon=code(), code=code(), clicks=(click(1),))
        assert decision.method is Method.lead and decision.partner_id == the_lead.partner_id

    def test_coupon_beats_code_and_click(self) -> None:
        coupon = code(code="COUPON")
        decision = attribute(order(), coupon=coupon, code=code(), clicks=(click(1),))
        assert decision.method is Method.coupon and decision.referral_code_id == coupon.referral_code_id

    def test_code_beats_click(self) -> None:
        explicit = code(code="EXPLICIT")
        decision = attribute(order(), code=explicit, clicks=(click(1),))
        assert (
            decision.method is Method.referral_code and decision.referral_code_id == explicit.referral_code_id
        )

    def test_click_when_nothing_else(self) -> None:
        the_click = click(3)
        decision = attribute(order(), clicks=(the_click,))
        assert decision.method is Method.click and decision.click_id == the_click.click_id
        assert decision.customer_id == REFERRER

    def test_nothing(self) -> None:
        decision = attribute(order())
        assert decision.method is Method.none and not decision.is_attributed
        assert "no lead, coupon, referral code or click" in decision.explanation

    def test_a_refused_higher_candidate_falls_through_and_is_explained(self) -> None:
        decision = attribute(order(), lead=lead(expires_at=NOW - timedelta(days=1)), code=code())
        assert decision.method is Method.referral_code
        assert "lead L-1 expired" in decision.explanation

    def test_partner_code_attributes_to_the_partner(self) -> None:
        partner = uuid4()
        decision = attribute(
            order(), code=code(customer_id=None, partner_id=partner, referrer_label="partner p")
        )
        assert (decision.partner_id, decision.customer_id) == (partner, None)


class TestCodeRules:
    @pytest.mark.parametrize(
        ("candidate", "facts", "fragment"),
        [
            (code(is_revoked=True), order(), "revoked"),
            (code(is_referrer_deleted=True), order(), "deleted"),
            (code(expires_at=NOW), order(), "expired"),
            (code(campaign=campaign(status="ended")), order(), "is ended"),
            (code(campaign=campaign(status="paused")), order(), "is paused"),
            (code(campaign=campaign(status="draft")), order(), "is draft"),
            (
                code(campaign=campaign(currency="EUR")),
                order(),
                "order is in CNY but campaign 'Spring' runs in EUR",
            ),
            (code(customer_id=REFEREE), order(), "self-referral"),
            (code(referrer_email_key="mei@example.com"), order(), "self-referral"),
            (code(), order(has_earlier_paid_order=True), "new customers only"),
        ],
    )
    def test_refused(self, candidate: CodeCandidate, facts: OrderFacts, fragment: str) -> None:
        decision = attribute(facts, code=candidate)
        assert decision.method is Method.none
        assert fragment in decision.explanation

    def test_existing_customer_when_the_campaign_allows_it(self) -> None:
        decision = attribute(
            order(has_earlier_paid_order=True), code=code(campaign=campaign(new_customers_only=False))
        )
        assert decision.method is Method.referral_code

    def test_partners_earn_on_existing_customers(self) -> None:
        partner_code = code(customer_id=None, partner_id=uuid4(), referrer_email_key=None)
        assert attribute(order(has_earlier_paid_order=True), code=partner_code).is_attributed

    def test_code_valid_until_its_expiry(self) -> None:
        assert attribute(order(), code=code(expires_at=NOW + timedelta(seconds=1))).is_attributed


class TestClicks:
    def test_window_is_inclusive_of_its_last_day(self) -> None:
        assert attribute(order(), clicks=(click(30),)).is_attributed
        late = attribute(order(), clicks=(click(30.01),))
        assert late.method is Method.none and "30-day attribution window" in late.explanation

    def test_click_after_the_order_is_refused(self) -> None:
        assert "came after the order" in attribute(order(), clicks=(click(-0.01),)).explanation

    def test_last_click_wins_by_default(self) -> None:
        old, recent = click(10), click(2)
        assert attribute(order(), clicks=(recent, old)).click_id == recent.click_id

    def test_first_click_when_the_campaign_says_so(self) -> None:
        first_click_campaign = campaign(first_click=True)
        old = click(10, code(campaign=first_click_campaign))
        recent = click(2, code(campaign=first_click_campaign))
        assert attribute(order(), clicks=(recent, old)).click_id == old.click_id

    def test_first_click_only_within_the_same_campaign(self) -> None:
        other = click(20, code(campaign=campaign()))
        first = click(10, code(campaign=campaign(first_click=True)))
        last = replace(click(2), code=first.code)
        assert pick_click([other, first, last]).click_id == first.click_id

    def test_invalid_clicks_are_skipped(self) -> None:
        good = click(5)
        own = click(1, code(customer_id=REFEREE))
        decision = attribute(order(), clicks=(good, own))
        assert decision.click_id == good.click_id and "self-referral" in decision.explanation


class TestLeads:
    def test_lead_registered_after_the_order(self) -> None:
        decision = attribute(order(), lead=lead(registered_at=NOW + timedelta(hours=1)))
        assert decision.method is Method.none and "registered after" in decision.explanation


def test_subscription_renewals_inherit() -> None:
    partner: UUID = uuid4()
    inherited = Inherited(None, None, None, partner, "partner p")
    decision = attribute(order(has_earlier_paid_order=True), code=code(), inherited=inherited)
    assert decision.method is Method.subscription and decision.partner_id == partner


def test_unknown_clicks_are_named() -> None:
    decision = attribute(order(), unknown_clicks=("0000-click",))
    assert decision.method is Method.none and "click 0000-click is unknown" in decision.explanation

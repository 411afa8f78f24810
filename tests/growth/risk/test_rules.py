from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from growth.attribution.rules import Method
from growth.risk.rules import (
    DISPOSABLE_DOMAINS_FILE,
    Action,
    Decision,
    Reason,
    ReviewEffect,
    ReviewFacts,
    ReviewOutcome,
    Rule,
    Thresholds,
    Verdict,
    address_hash,
    is_disposable,
    load_disposable_domains,
    most_severe,
    normalize_address,
    review_outcome,
    score,
)

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
REFEREE = UUID(int=1)
REFERRER = UUID(int=2)
PARTNER = UUID(int=3)
DOMAINS = frozenset({"mailinator.com", "yopmail.com"})
DEFAULTS = Thresholds()


def facts(**changes: Any) -> ReviewFacts:
    """A clean referred order: Mei bought through Alice's link; no rule fires on it."""
    base = ReviewFacts(
        customer_id=REFEREE,
        amount=10_000,
        currency="CNY",
        placed_at=NOW,
        method=Method.click,
        email_key="mei@example.com",
        payment_fingerprint="fp_mei",
        address_hash="addr_mei",
        device_id="dev_mei",
        ip_hash="ip_mei",
        margin_amount=4_000,
        rewards_amount=1_000,
        referrer_customer_id=REFERRER,
        referrer_email_key="alice@example.com",
        referrer_payment_fingerprints=frozenset({"fp_alice"}),
        referrer_address_hashes=frozenset({"addr_alice"}),
        referrer_device_ids=frozenset({"dev_alice"}),
        click_ip_hash="ip_alice",
        clicked_at=NOW - timedelta(hours=2),
        campaign_median_amount=10_000,
        campaign_order_count=100,
    )
    return replace(base, **changes)


def run(changes: dict[str, Any], thresholds: Thresholds = DEFAULTS) -> Decision:
    return score(facts(**changes), thresholds, disposable_domains=DOMAINS)


TRIGGERS: dict[Rule, dict[str, Any]] = {
    Rule.self_referral_same_customer: {"referrer_customer_id": REFEREE},
    Rule.self_referral_same_email: {"referrer_email_key": "mei@example.com"},
    Rule.self_referral_same_payment: {"referrer_payment_fingerprints": frozenset({"fp_alice", "fp_mei"})},
    Rule.self_referral_same_address: {"referrer_address_hashes": frozenset({"addr_mei"})},
    Rule.self_referral_same_device: {"referrer_device_ids": frozenset({"dev_mei"})},
    Rule.self_referral_same_ip: {"click_ip_hash": "ip_mei", "clicked_at": NOW - timedelta(minutes=10)},
    Rule.duplicate_identity_payment: {"other_referees_same_payment": 2},
    Rule.duplicate_identity_address: {"other_referees_same_address": 2},
    Rule.duplicate_identity_device: {"other_referees_same_device": 2},
    Rule.disposable_email: {"email_key": "mei@mailinator.com"},
    Rule.velocity_referrer: {"referrer_other_orders_in_window": 10},
    Rule.velocity_partner: {"partner_id": PARTNER, "partner_other_orders_in_window": 50},
    Rule.amount_above_usual: {"amount": 50_001},
    Rule.reward_above_margin: {"rewards_amount": 4_001},
    Rule.coupon_leakage: {
        "method": Method.coupon,
        "coupon_code": "ALICE10",
        "clicked_at": None,
        "coupon_other_unrelated_customers": 5,
    },
}
"""For each rule, the smallest change to the clean order that makes it (and only it) fire."""

DEFAULT_VERDICTS = {
    Rule.self_referral_same_customer: Verdict.reject,
    Rule.self_referral_same_email: Verdict.reject,
    Rule.self_referral_same_payment: Verdict.reject,
} | {rule: Verdict.hold for rule in list(Rule)[3:]}


class TestEachRuleAlone:
    def test_the_clean_order_is_allowed(self) -> None:
        assert run({}) == Decision(Verdict.allow, ())

    def test_every_rule_has_a_trigger(self) -> None:
        assert set(TRIGGERS) == set(Rule)

    @pytest.mark.parametrize("rule", list(Rule))
    def test_fires_alone_with_its_default_verdict(self, rule: Rule) -> None:
        decision = run(TRIGGERS[rule])
        assert decision.codes == (rule,)
        assert decision.verdict is DEFAULT_VERDICTS[rule]
        assert decision.reasons[0].verdict is DEFAULT_VERDICTS[rule]
        assert json.loads(json.dumps(decision.as_dict())) == decision.as_dict()

    @pytest.mark.parametrize(
        ("rule", "changes"),
        [
            (Rule.self_referral_same_customer, {"referrer_customer_id": None, "partner_id": PARTNER}),
            (Rule.self_referral_same_email, {"email_key": None, "referrer_email_key": None}),
            (Rule.self_referral_same_email, {"referrer_email_key": "mei@example.org"}),
            (Rule.self_referral_same_payment, {"payment_fingerprint": None}),
            (Rule.self_referral_same_address, {"address_hash": None}),
            (Rule.self_referral_same_device, {"device_id": None, "referrer_device_ids": frozenset()}),
            (Rule.self_referral_same_ip, {"click_ip_hash": "ip_mei", "clicked_at": None}),
            (Rule.self_referral_same_ip, {"ip_hash": None, "click_ip_hash": None}),
            (Rule.self_referral_same_ip, {"clicked_at": NOW - timedelta(minutes=1)}),
            (Rule.duplicate_identity_payment, {"other_referees_same_payment": 1}),
            (
                Rule.duplicate_identity_payment,
                {"other_referees_same_payment": 9, "payment_fingerprint": None},
            ),
            (Rule.duplicate_identity_address, {"other_referees_same_address": 9, "address_hash": None}),
            (Rule.duplicate_identity_device, {"other_referees_same_device": 9, "device_id": None}),
            (Rule.disposable_email, {"email_key": None}),
            (Rule.disposable_email, {"email_key": "mei@xmailinator.com"}),
            (Rule.disposable_email, {"email_key": "mei@mailinator.com.example.org"}),
            (Rule.velocity_referrer, {"referrer_other_orders_in_window": 99, "referrer_customer_id": None}),
            (Rule.velocity_partner, {"partner_other_orders_in_window": 99}),
            (Rule.amount_above_usual, {"amount": 10**9, "campaign_median_amount": None}),
            (Rule.amount_above_usual, {"amount": 10**9, "campaign_median_amount": 0}),
            (Rule.reward_above_margin, {"rewards_amount": 10**9, "margin_amount": None}),
            (Rule.reward_above_margin, {"rewards_amount": 0, "margin_amount": -500}),
            (Rule.coupon_leakage, {"coupon_code": "ALICE10", "coupon_other_unrelated_customers": 99}),
            (
                Rule.coupon_leakage,
                {"coupon_code": None, "clicked_at": None, "coupon_other_unrelated_customers": 99},
            ),
            (
                # A partner's code, typed by its many clients: that is a partner's work, not a leak.
                Rule.coupon_leakage,
                {
                    "method": Method.coupon,
                    "coupon_code": "CONSULT",
                    "clicked_at": None,
                    "coupon_other_unrelated_customers": 99,
                    "referrer_customer_id": None,
                    "referrer_email_key": None,
                    "partner_id": PARTNER,
                },
            ),
        ],
        ids=lambda value: str(value) if isinstance(value, Rule) else None,
    )
    def test_does_not_fire(self, rule: Rule, changes: dict[str, Any]) -> None:
        assert run(changes) == Decision(Verdict.allow, ())

    def test_a_fingerprint_shared_with_the_referrer_fires_even_among_others(self) -> None:
        decision = run({"referrer_payment_fingerprints": frozenset({"fp_1", "fp_2", "fp_mei"})})
        assert decision.codes == (Rule.self_referral_same_payment,)
        assert decision.reasons[0].details == {"payment_fingerprint": "fp_mei"}


class TestBoundaries:
    """Exactly at the limit does not fire; one over does."""

    @pytest.mark.parametrize(
        ("rule", "at_limit", "over"),
        [
            (
                Rule.self_referral_same_ip,
                {"click_ip_hash": "ip_mei", "clicked_at": NOW - timedelta(minutes=30, seconds=1)},
                {"click_ip_hash": "ip_mei", "clicked_at": NOW - timedelta(minutes=30)},
            ),
            (
                Rule.duplicate_identity_payment,
                {"other_referees_same_payment": 1},
                {"other_referees_same_payment": 2},
            ),
            (
                Rule.duplicate_identity_address,
                {"other_referees_same_address": 1},
                {"other_referees_same_address": 2},
            ),
            (
                Rule.duplicate_identity_device,
                {"other_referees_same_device": 1},
                {"other_referees_same_device": 2},
            ),
            (
                Rule.velocity_referrer,
                {"referrer_other_orders_in_window": 9},
                {"referrer_other_orders_in_window": 10},
            ),
            (
                Rule.velocity_partner,
                {"partner_id": PARTNER, "partner_other_orders_in_window": 49},
                {"partner_id": PARTNER, "partner_other_orders_in_window": 50},
            ),
            (Rule.amount_above_usual, {"amount": 50_000}, {"amount": 50_001}),
            (
                Rule.amount_above_usual,
                {"amount": 50_001, "campaign_order_count": 19},
                {"amount": 50_001, "campaign_order_count": 20},
            ),
            (Rule.reward_above_margin, {"rewards_amount": 4_000}, {"rewards_amount": 4_001}),
            (
                Rule.coupon_leakage,
                {"coupon_code": "ALICE10", "clicked_at": None, "coupon_other_unrelated_customers": 4},
                {"coupon_code": "ALICE10", "clicked_at": None, "coupon_other_unrelated_customers": 5},
            ),
        ],
        ids=lambda value: str(value) if isinstance(value, Rule) else None,
    )
    def test_at_and_over_the_limit(self, rule: Rule, at_limit: dict[str, Any], over: dict[str, Any]) -> None:
        assert run(at_limit).codes == ()
        assert run(over).codes == (rule,)

    def test_the_same_ip_window_runs_both_ways_for_clock_skew(self) -> None:
        skewed = {"click_ip_hash": "ip_mei", "clicked_at": NOW + timedelta(minutes=2)}
        assert run(skewed).codes == (Rule.self_referral_same_ip,)

    @pytest.mark.parametrize(
        ("changes", "settings", "fires"),
        [
            ({"referrer_other_orders_in_window": 2}, {"velocity_max_orders": 3}, False),
            ({"referrer_other_orders_in_window": 3}, {"velocity_max_orders": 3}, True),
            ({"referrer_other_orders_in_window": 0}, {"velocity_max_orders": 0}, True),
            (
                {"click_ip_hash": "ip_mei", "clicked_at": NOW - timedelta(minutes=6)},
                {"same_ip_minutes": 5},
                False,
            ),
            (
                {"click_ip_hash": "ip_mei", "clicked_at": NOW - timedelta(minutes=5)},
                {"same_ip_minutes": 5},
                True,
            ),
            ({"other_referees_same_device": 1}, {"duplicate_identity_min": 1}, True),
            ({"amount": 20_000}, {"amount_max_ratio_bps": 20_000}, False),
            ({"amount": 20_001}, {"amount_max_ratio_bps": 20_000}, True),
            ({"amount": 50_001, "campaign_order_count": 3}, {"amount_min_sample": 3}, True),
            (
                {"coupon_code": "C", "clicked_at": None, "coupon_other_unrelated_customers": 0},
                {"coupon_max_customers": 1},
                False,
            ),
            (
                {"coupon_code": "C", "clicked_at": None, "coupon_other_unrelated_customers": 1},
                {"coupon_max_customers": 1},
                True,
            ),
        ],
    )
    def test_campaign_numbers_are_honoured(
        self, changes: dict[str, Any], settings: dict[str, Any], fires: bool
    ) -> None:
        assert bool(run(changes, Thresholds.from_overrides(settings)).reasons) is fires


class TestActions:
    @pytest.mark.parametrize("action", list(Action))
    @pytest.mark.parametrize("rule", list(Rule))
    def test_each_action_is_honoured(self, rule: Rule, action: Action) -> None:
        decision = run(TRIGGERS[rule], Thresholds.from_overrides({rule.value: action.value}))
        if action is Action.off:
            assert decision == Decision(Verdict.allow, ())
        else:
            assert decision.verdict == action.value
            assert decision.codes == (rule,)

    def test_unattributed_orders_are_allowed_whatever_fires(self) -> None:
        everything: dict[str, Any] = {}
        for changes in TRIGGERS.values():
            everything |= changes
        assert len(run(everything).reasons) >= 10
        assert run({**everything, "method": Method.none}) == Decision(Verdict.allow, ())


class TestSeveralReasons:
    def test_every_reason_is_listed_in_rule_order_and_the_most_severe_wins(self) -> None:
        decision = run(
            TRIGGERS[Rule.velocity_referrer]
            | TRIGGERS[Rule.disposable_email]
            | TRIGGERS[Rule.self_referral_same_payment]
        )
        assert decision.verdict is Verdict.reject
        assert decision.codes == (
            Rule.self_referral_same_payment,
            Rule.disposable_email,
            Rule.velocity_referrer,
        )
        assert [r.verdict for r in decision.reasons] == [Verdict.reject, Verdict.hold, Verdict.hold]

    def test_holds_alone_give_a_hold(self) -> None:
        decision = run(TRIGGERS[Rule.amount_above_usual] | TRIGGERS[Rule.self_referral_same_device])
        assert decision.verdict is Verdict.hold
        assert decision.codes == (Rule.self_referral_same_device, Rule.amount_above_usual)

    def test_a_self_referral_shows_every_matching_identity(self) -> None:
        decision = run(
            {
                "referrer_customer_id": REFEREE,
                "referrer_email_key": "mei@example.com",
                "referrer_payment_fingerprints": frozenset({"fp_mei"}),
                "referrer_address_hashes": frozenset({"addr_mei"}),
            }
        )
        assert decision.codes == (
            Rule.self_referral_same_customer,
            Rule.self_referral_same_email,
            Rule.self_referral_same_payment,
            Rule.self_referral_same_address,
        )
        assert decision.verdict is Verdict.reject


class TestMessages:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            (
                {"referrer_other_orders_in_window": 11},
                "12 referred orders for this referrer in 24 h; the limit is 10",
            ),
            (
                {"partner_id": PARTNER, "partner_other_orders_in_window": 50},
                "51 referred orders for this partner in 24 h; the limit is 50",
            ),
            (
                {"amount": 50_001},
                "the order amount of 500.01 CNY is 5.01x the campaign's median of 100.00 CNY "
                "over 100 orders; the limit is 5x",
            ),
            (
                {"amount": 60_000, "currency": "JPY", "campaign_median_amount": 8_000},
                "the order amount of 60000 JPY is 7.50x the campaign's median of 8000 JPY "
                "over 100 orders; the limit is 5x",
            ),
            (
                {"rewards_amount": 4_500},
                "the rewards and commissions of 45.00 CNY exceed the order's margin of 40.00 CNY",
            ),
            (
                {"click_ip_hash": "ip_mei", "clicked_at": NOW - timedelta(minutes=4, seconds=59)},
                "the order came from the IP address of the referral click, 4 min apart; the window is 30 min",
            ),
            (
                {"other_referees_same_payment": 3},
                "3 other referees of this referrer paid with the same card; the threshold is 2",
            ),
            (
                {"email_key": "mei@inbox.yopmail.com"},
                "the e-mail address is at inbox.yopmail.com, a disposable e-mail domain",
            ),
            (
                TRIGGERS[Rule.coupon_leakage],
                "coupon ALICE10 has been used by 6 customers without a click on its referrer's link; "
                "the limit is 5",
            ),
        ],
    )
    def test_messages_carry_the_figures(self, changes: dict[str, Any], message: str) -> None:
        (reason,) = run(changes).reasons
        assert reason.message == message

    def test_the_window_is_the_campaigns(self) -> None:
        (reason,) = run({"referrer_other_orders_in_window": 11}, Thresholds(velocity_window_hours=48)).reasons
        assert reason.message == "12 referred orders for this referrer in 48 h; the limit is 10"

    def test_details_are_figures(self) -> None:
        (reason,) = run({"referrer_other_orders_in_window": 11}).reasons
        assert reason.details == {"orders": 12, "limit": 10, "window_hours": 24}

    def test_the_email_address_stays_out_of_the_reason(self) -> None:
        (reason,) = run(TRIGGERS[Rule.self_referral_same_email]).reasons
        assert "mei" not in reason.message and "mei" not in json.dumps(reason.as_dict())

    def test_a_fractional_limit_reads_as_a_ratio(self) -> None:
        decision = run({"amount": 25_001}, Thresholds(amount_max_ratio_bps=25_000))
        assert decision.reasons[0].message.endswith(
            "is 2.51x the campaign's median of 100.00 CNY over 100 orders; the limit is 2.5x"
        )

    def test_explanation_of_an_allowed_order(self) -> None:
        assert run({}).explanation() == "Risk check: allowed; no rule fired."

    def test_explanation_lists_the_verdict_and_every_reason_on_one_line(self) -> None:
        decision = run({"referrer_other_orders_in_window": 11, "email_key": "mei@mailinator.com"})
        line = decision.explanation()
        assert line == (
            "Risk check: held for review. "
            "disposable_email (hold): the e-mail address is at mailinator.com, a disposable e-mail domain. "
            "velocity_referrer (hold): 12 referred orders for this referrer in 24 h; the limit is 10."
        )
        assert "\n" not in line

    def test_explanation_of_a_rejection(self) -> None:
        assert (
            run(TRIGGERS[Rule.self_referral_same_customer]).explanation().startswith("Risk check: rejected. ")
        )


class TestVerdict:
    def test_members_are_in_order_of_severity(self) -> None:
        assert [v.severity for v in Verdict] == [0, 1, 2]
        assert list(Verdict) == [Verdict.allow, Verdict.hold, Verdict.reject]

    @pytest.mark.parametrize(
        ("verdicts", "expected"),
        [
            ([], Verdict.allow),
            ([Verdict.hold, Verdict.allow], Verdict.hold),
            ([Verdict.hold, Verdict.reject, Verdict.hold], Verdict.reject),
        ],
    )
    def test_most_severe(self, verdicts: list[Verdict], expected: Verdict) -> None:
        assert most_severe(verdicts) is expected

    def test_reasons_are_frozen_and_hashable(self) -> None:
        reason = Reason(Rule.coupon_leakage, Verdict.hold, "m", {"a": 1})
        assert hash(reason) == hash(Reason(Rule.coupon_leakage, Verdict.hold, "m", {"a": 2}))
        with pytest.raises(TypeError):
            reason.details["a"] = 2  # type: ignore[index]


class TestThresholds:
    def test_defaults(self) -> None:
        assert DEFAULTS.as_dict() == {
            "self_referral_same_customer": "reject",
            "self_referral_same_email": "reject",
            "self_referral_same_payment": "reject",
            "self_referral_same_address": "hold",
            "self_referral_same_device": "hold",
            "self_referral_same_ip": "hold",
            "duplicate_identity_payment": "hold",
            "duplicate_identity_address": "hold",
            "duplicate_identity_device": "hold",
            "disposable_email": "hold",
            "velocity_referrer": "hold",
            "velocity_partner": "hold",
            "amount_above_usual": "hold",
            "reward_above_margin": "hold",
            "coupon_leakage": "hold",
            "same_ip_minutes": 30,
            "duplicate_identity_min": 2,
            "velocity_max_orders": 10,
            "partner_velocity_max_orders": 50,
            "velocity_window_hours": 24,
            "amount_max_ratio_bps": 50_000,
            "amount_min_sample": 20,
            "coupon_max_customers": 5,
        }

    def test_no_overrides_are_the_defaults(self) -> None:
        assert Thresholds.from_overrides(None) == DEFAULTS
        assert Thresholds.from_overrides({}) == DEFAULTS

    def test_overrides_from_json(self) -> None:
        stored = json.loads('{"disposable_email": "reject", "velocity_max_orders": 25}')
        thresholds = Thresholds.from_overrides(stored)
        assert thresholds.disposable_email is Action.reject
        assert thresholds.action(Rule.disposable_email) is Action.reject
        assert thresholds.velocity_max_orders == 25
        assert thresholds.coupon_max_customers == 5

    def test_campaign_overrides_layer_on_program_defaults(self) -> None:
        program = Thresholds.from_overrides({"velocity_max_orders": 20, "coupon_leakage": "off"})
        campaign = Thresholds.from_overrides({"velocity_max_orders": 5}, base=program)
        assert campaign.velocity_max_orders == 5
        assert campaign.coupon_leakage is Action.off

    @pytest.mark.parametrize(
        ("overrides", "key"),
        [
            ({"velocity_max": 3}, "velocity_max"),
            ({"coupon_leakage": "block"}, "coupon_leakage"),
            ({"coupon_leakage": "HOLD"}, "coupon_leakage"),
            ({"coupon_leakage": 1}, "coupon_leakage"),
            ({"coupon_leakage": None}, "coupon_leakage"),
            ({"velocity_max_orders": "10"}, "velocity_max_orders"),
            ({"velocity_max_orders": 10.0}, "velocity_max_orders"),
            ({"velocity_max_orders": True}, "velocity_max_orders"),
            ({"velocity_max_orders": None}, "velocity_max_orders"),
            ({"velocity_max_orders": -1}, "velocity_max_orders"),
            ({"same_ip_minutes": -30}, "same_ip_minutes"),
            ({"amount_max_ratio_bps": -1}, "amount_max_ratio_bps"),
            ({"duplicate_identity_min": 0}, "duplicate_identity_min"),
            ({"velocity_window_hours": 0}, "velocity_window_hours"),
            ({"coupon_max_customers": "hold"}, "coupon_max_customers"),
        ],
    )
    def test_a_bad_override_names_its_key(self, overrides: dict[str, Any], key: str) -> None:
        with pytest.raises(ValueError, match=repr(key)):
            Thresholds.from_overrides(overrides)

    @pytest.mark.parametrize("overrides", [["velocity_max_orders"], "velocity_max_orders=3", 3])
    def test_overrides_must_be_an_object(self, overrides: Any) -> None:
        with pytest.raises(ValueError, match="must be an object"):
            Thresholds.from_overrides(overrides)

    def test_direct_construction_is_checked_too(self) -> None:
        with pytest.raises(ValueError, match="'velocity_max_orders'"):
            Thresholds(velocity_max_orders=-5)

    def test_zero_is_a_valid_limit(self) -> None:
        assert (
            Thresholds.from_overrides({"velocity_max_orders": 0, "same_ip_minutes": 0}).same_ip_minutes == 0
        )


class TestAddress:
    @pytest.mark.parametrize(
        "parts",
        [
            ["12 Main Street, Apt. 4", None, "Springfield", "12345", "US"],
            ["12  main street apt 4", "", "SPRINGFIELD", "12345", "us"],
            ["12 Main Street", "Apt 4", "Springfield", "12345", "US"],
            ["12 Main-Street / Apt #4", None, "Springfield.", " 12345 ", "US."],
            ["\uff11\uff12 \uff2d\uff41\uff49\uff4e Street Apt 4", None, "Springfield", "12345", "US"],
        ],
    )
    def test_the_same_address_typed_differently_hashes_alike(self, parts: list[str | None]) -> None:
        assert normalize_address(parts) == "12 main street apt 4 springfield 12345 us"
        assert address_hash("k", parts) == address_hash("k", ["12 Main Street Apt 4 Springfield 12345 US"])

    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            (["Rue de l'Église 5", "Genève"], "rue de l eglise 5 geneve"),
            (["Straße 5"], "strasse 5"),
            (["北京市 朝阳区 建国路 88 号"], "北京市朝阳区建国路88号"),
            (["北京市朝阳区建国路８８号"], "北京市朝阳区建国路88号"),
            (["", None, "  ,.  "], ""),
        ],
    )
    def test_normalize(self, typed: list[str | None], expected: str) -> None:
        assert normalize_address(typed) == expected

    def test_different_addresses_hash_apart(self) -> None:
        assert address_hash("k", ["12 Main Street"]) != address_hash("k", ["14 Main Street"])

    def test_the_hash_is_keyed_and_hides_the_address(self) -> None:
        hashed = address_hash("k", ["12 Main Street"])
        assert hashed is not None and len(hashed) == 64 and "main" not in hashed
        assert hashed != address_hash("other key", ["12 Main Street"])

    def test_no_address_has_no_hash(self) -> None:
        assert address_hash("k", [None, "", " - "]) is None


class TestDisposableDomains:
    @pytest.mark.parametrize(
        ("domain", "expected"),
        [
            ("mailinator.com", True),
            ("MAILINATOR.COM", True),
            ("mailinator.com.", True),
            ("mei@mailinator.com", True),
            ("inbox.mailinator.com", True),
            ("a.b.yopmail.com", True),
            ("xmailinator.com", False),
            ("mailinator.com.example.org", False),
            ("gmail.com", False),
            ("com", False),
            ("", False),
        ],
    )
    def test_is_disposable(self, domain: str, expected: bool) -> None:
        assert is_disposable(domain, DOMAINS) is expected

    def test_the_shipped_list(self) -> None:
        shipped = load_disposable_domains()
        assert len(shipped) >= 150
        for domain in (
            "mailinator.com",
            "guerrillamail.com",
            "10minutemail.com",
            "temp-mail.org",
            "yopmail.com",
        ):
            assert domain in shipped
        for legit in (
            "gmail.com",
            "qq.com",
            "163.com",
            "outlook.com",
            "icloud.com",
            "proton.me",
            "yahoo.com",
        ):
            assert legit not in shipped
        assert is_disposable("x.trashmail.com", shipped)

    def test_the_shipped_list_is_read_once(self) -> None:
        assert load_disposable_domains() is load_disposable_domains()
        assert load_disposable_domains(DISPOSABLE_DOMAINS_FILE) == load_disposable_domains()

    def test_another_list_can_be_loaded(self, tmp_path: Path) -> None:
        path = tmp_path / "domains.txt"
        path.write_text("# mine\n\nThrowaway.Example  # inline comment\nspam.example.\n", encoding="utf-8")
        assert load_disposable_domains(path) == frozenset({"throwaway.example", "spam.example"})
        assert load_disposable_domains(str(path)) == frozenset({"throwaway.example", "spam.example"})

    @pytest.mark.parametrize("line", ["not a domain", "example", "-bad.example", "mei@mailinator.com"])
    def test_a_broken_list_names_its_line(self, tmp_path: Path, line: str) -> None:
        path = tmp_path / "domains.txt"
        path.write_text(f"ok.example\n{line}\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"domains\.txt:2: not a domain name"):
            load_disposable_domains(path)

    def test_scoring_uses_the_list_it_is_given(self) -> None:
        order = facts(email_key="mei@throwaway.example")
        assert score(order, DEFAULTS, disposable_domains=DOMAINS).codes == ()
        assert score(order, DEFAULTS, disposable_domains={"throwaway.example"}).codes == (
            Rule.disposable_email,
        )


# Properties over random orders in which identities collide often.


def _maybe(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


_counts = st.integers(min_value=0, max_value=60)

review_facts = st.builds(
    ReviewFacts,
    customer_id=st.just(REFEREE),
    amount=st.integers(min_value=0, max_value=200_000),
    currency=st.just("CNY"),
    placed_at=st.just(NOW),
    method=st.sampled_from(list(Method)),
    email_key=_maybe("mei@example.com", "mei@mailinator.com", "alice@example.com"),
    payment_fingerprint=_maybe("fp1", "fp2"),
    address_hash=_maybe("a1", "a2"),
    device_id=_maybe("d1", "d2"),
    ip_hash=_maybe("ip1", "ip2"),
    margin_amount=st.none() | st.integers(min_value=-1_000, max_value=10_000),
    coupon_code=_maybe("ALICE10"),
    rewards_amount=st.integers(min_value=0, max_value=10_000),
    referrer_customer_id=_maybe(REFEREE, REFERRER),
    referrer_email_key=_maybe("mei@example.com", "alice@example.com"),
    referrer_payment_fingerprints=st.frozensets(st.sampled_from(["fp1", "fp2"])),
    referrer_address_hashes=st.frozensets(st.sampled_from(["a1", "a2"])),
    referrer_device_ids=st.frozensets(st.sampled_from(["d1", "d2"])),
    partner_id=_maybe(PARTNER),
    click_ip_hash=_maybe("ip1", "ip2"),
    clicked_at=st.none() | st.integers(min_value=-5, max_value=120).map(lambda m: NOW - timedelta(minutes=m)),
    other_referees_same_payment=st.integers(min_value=0, max_value=4),
    other_referees_same_address=st.integers(min_value=0, max_value=4),
    other_referees_same_device=st.integers(min_value=0, max_value=4),
    referrer_other_orders_in_window=_counts,
    partner_other_orders_in_window=_counts,
    campaign_median_amount=st.none() | st.integers(min_value=0, max_value=50_000),
    campaign_order_count=_counts,
    coupon_other_unrelated_customers=st.integers(min_value=0, max_value=10),
)

thresholds = st.builds(
    Thresholds,
    **{rule.value: st.sampled_from(list(Action)) for rule in Rule},
    same_ip_minutes=st.integers(min_value=0, max_value=90),
    duplicate_identity_min=st.integers(min_value=1, max_value=4),
    velocity_max_orders=_counts,
    partner_velocity_max_orders=_counts,
    velocity_window_hours=st.integers(min_value=1, max_value=72),
    amount_max_ratio_bps=st.integers(min_value=0, max_value=100_000),
    amount_min_sample=_counts,
    coupon_max_customers=st.integers(min_value=0, max_value=10),
)


class TestProperties:
    @given(review_facts, thresholds)
    def test_the_verdict_is_the_most_severe_reason(self, order: ReviewFacts, t: Thresholds) -> None:
        decision = score(order, t, disposable_domains=DOMAINS)
        assert decision.verdict is most_severe(r.verdict for r in decision.reasons)
        assert decision.verdict.severity == max((r.verdict.severity for r in decision.reasons), default=0)
        positions = [list(Rule).index(code) for code in decision.codes]
        assert positions == sorted(set(positions))
        for reason in decision.reasons:
            assert t.action(reason.code) is not Action.off
            assert reason.verdict == t.action(reason.code).value
        if order.method is Method.none:
            assert decision == Decision(Verdict.allow, ())

    @given(review_facts, thresholds, st.sampled_from(list(Rule)))
    def test_turning_a_rule_off_never_makes_the_verdict_more_severe(
        self, order: ReviewFacts, t: Thresholds, rule: Rule
    ) -> None:
        before = score(order, t, disposable_domains=DOMAINS)
        after = score(order, replace(t, **{rule.value: Action.off}), disposable_domains=DOMAINS)
        assert after.verdict.severity <= before.verdict.severity
        assert after.reasons == tuple(r for r in before.reasons if r.code is not rule)

    @given(review_facts, thresholds, st.sampled_from(list(Rule)))
    def test_a_rule_rejecting_instead_of_holding_never_makes_the_verdict_milder(
        self, order: ReviewFacts, t: Thresholds, rule: Rule
    ) -> None:
        held = score(order, replace(t, **{rule.value: Action.hold}), disposable_domains=DOMAINS)
        rejected = score(order, replace(t, **{rule.value: Action.reject}), disposable_domains=DOMAINS)
        assert rejected.verdict.severity >= held.verdict.severity
        assert rejected.codes == held.codes

    @given(thresholds)
    def test_thresholds_survive_json(self, t: Thresholds) -> None:
        assert Thresholds.from_overrides(json.loads(json.dumps(t.as_dict()))) == t

    @given(
        st.lists(
            st.tuples(
                st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8),
                st.booleans(),
                st.sampled_from([" ", "  ", ", ", ".", "-", "/", "#", "\t", "_"]),
            ),
            min_size=1,
        )
    )
    def test_case_and_punctuation_never_change_the_hash(
        self, typed_words: list[tuple[str, bool, str]]
    ) -> None:
        typed = "".join((word.upper() if upper else word) + sep for word, upper, sep in typed_words)
        plain = " ".join(word for word, _, _ in typed_words)
        assert address_hash("k", [typed]) == address_hash("k", [plain])


class TestReviewOutcome:
    """What a review means for the rewards and commissions of its order (both packages read this)."""

    @pytest.mark.parametrize("status", [None, "allowed", "approved"])
    def test_allowed_approved_or_unreviewed_orders_proceed(self, status: str | None) -> None:
        assert review_outcome(status, reasons=["x"], note="y", max_length=500) == ReviewOutcome(
            ReviewEffect.proceed
        )

    @pytest.mark.parametrize(
        ("status", "reasons", "note", "expected"),
        [
            (
                "held",
                ["disposable_email"],
                None,
                ReviewOutcome(ReviewEffect.hold, "held for review by the risk check: disposable_email"),
            ),
            (
                "rejected",
                ["self_referral_same_email", "velocity_referrer"],
                None,
                ReviewOutcome(
                    ReviewEffect.void,
                    "rejected by the risk check: self_referral_same_email, velocity_referrer",
                ),
            ),
            (
                "rejected",
                [],
                None,
                ReviewOutcome(ReviewEffect.void, "rejected by the risk check: no reason given"),
            ),
            (
                "declined",
                ["disposable_email"],
                "  same person  ",
                ReviewOutcome(ReviewEffect.void, "declined in review: same person"),
            ),
            ("declined", [], "   ", ReviewOutcome(ReviewEffect.void, "declined in review: no note given")),
            ("declined", [], None, ReviewOutcome(ReviewEffect.void, "declined in review: no note given")),
        ],
    )
    def test_held_rejected_and_declined_say_why(
        self, status: str, reasons: list[str], note: str | None, expected: ReviewOutcome
    ) -> None:
        assert review_outcome(status, reasons=reasons, note=note, max_length=500) == expected

    @pytest.mark.parametrize("max_length", [300, 500])
    def test_a_long_note_is_cut_to_what_the_row_keeps(self, max_length: int) -> None:
        outcome = review_outcome("declined", reasons=[], note="x" * 2000, max_length=max_length)
        assert outcome.reason is not None and len(outcome.reason) == max_length

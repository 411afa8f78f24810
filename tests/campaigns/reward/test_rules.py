"""Pure reward rules: what a rule may say, what a reward is worth, and how a reward moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from campaigns.reward.rules import (
    COUPON_ALPHABET,
    COUPON_LENGTH,
    MAX_REWARD_AMOUNT,
    GrantDecision,
    OrderFacts,
    OutOfStock,
    RewardStatus,
    RewardType,
    RuleSpec,
    Side,
    approve_after,
    budget_decision,
    can_move,
    expected_date,
    generate_coupon_code,
    is_due,
    milestones_reached,
    not_qualifying_reason,
    reward_value,
    rule_problem,
    void_reason,
)
from growth.core.money import Money

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
T = RewardType
S = RewardStatus


def valid(side: Side, reward_type: RewardType, **changes: Any) -> RuleSpec:
    """A spec whose values suit ``reward_type`` (so only the side or ``changes`` can make it wrong)."""
    fields: dict[str, Any] = {"side": side, "reward_type": reward_type}
    if reward_type is T.percent_discount:
        fields["rate_bps"] = 1000
    elif reward_type.ships:
        fields["sku"] = "TEA-01"
    else:
        fields["amount"] = 2000
    if side is Side.milestone:
        fields["threshold"] = 3
    return RuleSpec(**(fields | changes))


def kind_of(side: Side) -> str:
    return "social_share" if side is Side.share else "referral"


# Every side x type: refused exactly where ALLOWED_TYPES says so.
REFUSED_TYPES = {
    Side.referee: set(),
    Side.referrer: set(),
    Side.milestone: {T.percent_discount},
    Side.share: {T.percent_discount, T.fixed_discount, T.cash},
}


class TestRuleProblem:
    @pytest.mark.parametrize("reward_type", list(RewardType))
    @pytest.mark.parametrize("side", list(Side))
    def test_side_and_type(self, side: Side, reward_type: RewardType) -> None:
        problem = rule_problem(valid(side, reward_type), campaign_kind=kind_of(side))

        if reward_type in REFUSED_TYPES[side]:
            assert problem == f"a {side} reward cannot be {reward_type}"
        else:
            assert problem is None

    @pytest.mark.parametrize(
        ("side", "kind", "problem"),
        [
            (Side.referrer, "social_share", "a social_share campaign gives share rewards only"),
            (Side.referee, "social_share", "a social_share campaign gives share rewards only"),
            (Side.milestone, "social_share", "a social_share campaign gives share rewards only"),
            (Side.share, "referral", "share rewards belong to social_share campaigns"),
            (Side.share, "partner", "share rewards belong to social_share campaigns"),
            (Side.referrer, "partner", "partner programs pay commissions (payouts), not customer rewards"),
            (Side.referee, "partner", "partner programs pay commissions (payouts), not customer rewards"),
            (Side.milestone, "partner", "partner programs pay commissions (payouts), not customer rewards"),
        ],
    )
    def test_side_must_suit_the_campaign_kind(self, side: Side, kind: str, problem: str) -> None:
        assert rule_problem(valid(side, T.store_credit), campaign_kind=kind) == problem

    @pytest.mark.parametrize(
        ("spec", "problem"),
        [
            # thresholds: milestones only, and always for them
            (valid(Side.milestone, T.store_credit, threshold=None), "a threshold (number of referrals)"),
            (valid(Side.referrer, T.store_credit, threshold=3), "a threshold (number of referrals)"),
            # percent discounts
            (valid(Side.referee, T.percent_discount, rate_bps=None), "needs rate_bps between 1 and 10000"),
            (valid(Side.referee, T.percent_discount, rate_bps=0), "needs rate_bps between 1 and 10000"),
            (valid(Side.referee, T.percent_discount, rate_bps=10_001), "needs rate_bps between 1 and 10000"),
            (valid(Side.referee, T.percent_discount, amount=100), "takes rate_bps, not amount"),
            (valid(Side.referee, T.percent_discount, max_amount=0), "max_amount must be positive"),
            (valid(Side.referee, T.percent_discount, max_amount=-5), "max_amount must be positive"),
            (
                valid(Side.referee, T.percent_discount, max_amount=MAX_REWARD_AMOUNT + 1),
                "max_amount must be positive",
            ),
            (valid(Side.referee, T.fixed_discount, rate_bps=1000), "for percent discounts only"),
            (valid(Side.referee, T.store_credit, max_amount=500), "for percent discounts only"),
            # amounts
            (valid(Side.referee, T.fixed_discount, amount=None), "a fixed_discount reward needs a positive"),
            (valid(Side.referrer, T.store_credit, amount=0), "a store_credit reward needs a positive"),
            (valid(Side.referrer, T.cash, amount=-1), "a cash reward needs a positive"),
            (
                valid(Side.referrer, T.cash, amount=MAX_REWARD_AMOUNT + 1),
                "a cash reward needs a positive",
            ),
            # shipped rewards
            (valid(Side.referrer, T.gift_pack, sku=None), "a gift_pack reward needs the sku"),
            (valid(Side.share, T.free_sample, sku=""), "a free_sample reward needs the sku"),
            (valid(Side.referrer, T.gift_pack, amount=100), "valued by its gift pack, not an amount"),
            (
                valid(Side.referrer, T.gift_pack, out_of_stock=OutOfStock.gift_pack),
                "out_of_stock gift_pack needs another alternative_sku",
            ),
            (
                valid(
                    Side.referrer, T.gift_pack, out_of_stock=OutOfStock.gift_pack, alternative_sku="TEA-01"
                ),
                "out_of_stock gift_pack needs another alternative_sku",
            ),
            (
                valid(Side.referrer, T.gift_pack, out_of_stock=OutOfStock.store_credit),
                "out_of_stock store_credit needs a positive alternative_amount",
            ),
            (
                valid(Side.referrer, T.gift_pack, out_of_stock=OutOfStock.store_credit, alternative_amount=0),
                "out_of_stock store_credit needs a positive alternative_amount",
            ),
            (valid(Side.referrer, T.store_credit, sku="TEA-01"), "only gift packs and samples have a sku"),
        ],
    )
    def test_refused_values(self, spec: RuleSpec, problem: str) -> None:
        found = rule_problem(spec, campaign_kind=kind_of(spec.side))

        assert found is not None and problem in found

    @pytest.mark.parametrize(
        "spec",
        [
            valid(Side.referee, T.percent_discount, rate_bps=1),
            valid(Side.referee, T.percent_discount, rate_bps=10_000, max_amount=MAX_REWARD_AMOUNT),
            valid(Side.referrer, T.cash, amount=1),
            valid(Side.referrer, T.cash, amount=MAX_REWARD_AMOUNT),
            valid(Side.milestone, T.gift_pack, threshold=1),
            valid(Side.referrer, T.gift_pack, out_of_stock=OutOfStock.none),
            valid(Side.referrer, T.gift_pack, out_of_stock=OutOfStock.gift_pack, alternative_sku="TEA-02"),
            valid(Side.share, T.free_sample, out_of_stock=OutOfStock.store_credit, alternative_amount=800),
        ],
    )
    def test_accepted_boundaries(self, spec: RuleSpec) -> None:
        assert rule_problem(spec, campaign_kind=kind_of(spec.side)) is None


class TestRewardValue:
    @pytest.mark.parametrize(
        ("rate_bps", "order_amount", "expected"),
        [
            (1250, 12345, 1543),  # 1543.125 -> down
            (1250, 12340, 1543),  # 1542.5 -> half away from zero
            (1000, 12345, 1235),  # 1234.5 -> up
            (1000, 12344, 1234),  # 1234.4 -> down
            (5000, 1, 1),  # 0.5 -> 1
            (5000, 3, 2),  # 1.5 -> 2
            (1, 4999, 0),  # 0.4999 -> 0
            (1, 5000, 1),  # 0.5 -> 1
            (10_000, 19900, 19900),
            (1000, 0, 0),
        ],
    )
    def test_percent_rounds_half_away_from_zero(
        self, rate_bps: int, order_amount: int, expected: int
    ) -> None:
        spec = valid(Side.referee, T.percent_discount, rate_bps=rate_bps)

        value = reward_value(spec, order_amount=order_amount, pack_value=None, currency="CNY")

        assert value == Money(expected, "CNY")

    @pytest.mark.parametrize(
        ("order_amount", "max_amount", "expected"),
        [(19900, 1500, 1500), (19900, 1990, 1990), (19900, 1991, 1990), (100, 1500, 10)],
    )
    def test_percent_is_capped_by_max_amount(self, order_amount: int, max_amount: int, expected: int) -> None:
        spec = valid(Side.referee, T.percent_discount, rate_bps=1000, max_amount=max_amount)

        assert (
            reward_value(spec, order_amount=order_amount, pack_value=None, currency="CNY").amount == expected
        )

    @pytest.mark.parametrize(("max_amount", "expected"), [(1500, 1500), (None, 0)])
    def test_percent_without_an_order_is_worth_its_cap_or_nothing(
        self, max_amount: int | None, expected: int
    ) -> None:
        spec = valid(Side.referee, T.percent_discount, max_amount=max_amount)

        assert reward_value(spec, order_amount=None, pack_value=None, currency="CNY") == Money(
            expected, "CNY"
        )

    @pytest.mark.parametrize("reward_type", [T.fixed_discount, T.store_credit, T.cash])
    @pytest.mark.parametrize("order_amount", [None, 0, 19900])
    def test_fixed_value_types_are_worth_their_amount(
        self, reward_type: RewardType, order_amount: int | None
    ) -> None:
        spec = valid(Side.referrer, reward_type, amount=2000)

        assert reward_value(spec, order_amount=order_amount, pack_value=999, currency="JPY") == Money(
            2000, "JPY"
        )

    @pytest.mark.parametrize("reward_type", [T.gift_pack, T.free_sample])
    @pytest.mark.parametrize(("pack_value", "expected"), [(3500, 3500), (0, 0), (None, 0)])
    def test_shipped_rewards_are_worth_their_pack(
        self, reward_type: RewardType, pack_value: int | None, expected: int
    ) -> None:
        spec = valid(Side.referrer, reward_type)

        assert reward_value(spec, order_amount=19900, pack_value=pack_value, currency="CNY") == Money(
            expected, "CNY"
        )


def facts(amount: int = 19900, paid: int = 19900, refunded: int = 0, status: str = "closed") -> OrderFacts:
    return OrderFacts(amount=amount, paid_amount=paid, refunded_amount=refunded, status=status)


class TestNotQualifyingReason:
    @pytest.mark.parametrize(
        ("amount", "minimum", "rejected", "expected"),
        [
            (19900, 0, False, None),
            (10000, 10000, False, None),  # exactly the minimum qualifies
            (9999, 10000, False, "order below the campaign's minimum amount"),
            (0, 1, False, "order below the campaign's minimum amount"),
            (19900, 0, True, "attribution rejected"),
            (0, 1, True, "attribution rejected"),  # rejection is named first
        ],
    )
    def test_reason(self, amount: int, minimum: int, rejected: bool, expected: str | None) -> None:
        found = not_qualifying_reason(facts(amount=amount), min_order_amount=minimum, is_rejected=rejected)

        assert found == expected


class TestVoidReason:
    @pytest.mark.parametrize(
        ("order", "minimum", "expected"),
        [
            pytest.param(facts(status="refunded", refunded=19900), 0, "order refunded", id="full-refund"),
            pytest.param(facts(status="closed", refunded=19900), 0, "order refunded", id="all-paid-refunded"),
            pytest.param(facts(status="cancelled", paid=0), 0, "order cancelled", id="cancelled"),
            pytest.param(facts(refunded=5000), 10000, None, id="partial-keeps-minimum"),
            pytest.param(facts(refunded=9900), 10000, None, id="partial-keeps-exactly-minimum"),
            pytest.param(facts(refunded=5000), 0, None, id="partial-no-minimum"),
            pytest.param(
                facts(refunded=9901),
                10000,
                "order partly refunded below the campaign's minimum amount",
                id="partial-below-minimum",
            ),
            pytest.param(facts(status="closed"), 10000, None, id="closed-unrefunded"),
            pytest.param(facts(status="placed", paid=0), 10000, None, id="unpaid"),
            pytest.param(facts(status="disputed"), 0, None, id="disputed"),
        ],
    )
    def test_reason(self, order: OrderFacts, minimum: int, expected: str | None) -> None:
        assert void_reason(order, min_order_amount=minimum) == expected


class TestBudgetDecision:
    @pytest.mark.parametrize(
        ("value", "budget", "spent", "cap", "granted", "expected"),
        [
            pytest.param(1000, 5000, 4000, None, None, GrantDecision(True), id="exact-fit"),
            pytest.param(
                1000,
                5000,
                4001,
                None,
                None,
                GrantDecision(False, "not granted: budget exhausted"),
                id="one-over",
            ),
            pytest.param(
                1, 5000, 5000, None, None, GrantDecision(False, "not granted: budget exhausted"), id="full"
            ),
            pytest.param(0, 5000, 5000, None, None, GrantDecision(True), id="free-fits-a-full-budget"),
            pytest.param(10**11, None, 10**11, None, None, GrantDecision(True), id="unlimited"),
            pytest.param(1000, None, 0, 2, 1, GrantDecision(True), id="under-cap"),
            pytest.param(
                1000,
                None,
                0,
                2,
                2,
                GrantDecision(False, "not granted: referrer cap reached"),
                id="cap-reached",
            ),
            pytest.param(1000, None, 0, 2, None, GrantDecision(True), id="cap-without-a-referrer"),
            pytest.param(
                1000,
                0,
                0,
                1,
                1,
                GrantDecision(False, "not granted: referrer cap reached"),
                id="cap-named-first",
            ),
        ],
    )
    def test_decision(
        self,
        value: int,
        budget: int | None,
        spent: int,
        cap: int | None,
        granted: int | None,
        expected: GrantDecision,
    ) -> None:
        decision = budget_decision(
            Money(value, "CNY"), budget_amount=budget, budget_spent=spent, cap=cap, referrer_granted=granted
        )

        assert decision == expected


class TestApproveAfter:
    @pytest.mark.parametrize(
        ("hold_days", "expected"), [(0, NOW), (1, NOW + timedelta(days=1)), (14, NOW + timedelta(days=14))]
    )
    def test_hold_is_added_in_days(self, hold_days: int, expected: datetime) -> None:
        assert approve_after(NOW, hold_days) == expected


class TestIsDue:
    def due(self, **changes: Any) -> bool:
        args: dict[str, Any] = {
            "status": S.pending,
            "is_granted": True,
            "approve_at": NOW,
            "is_disputed": False,
            "is_held": False,
            "now": NOW,
        }
        return is_due(**(args | changes))

    def test_granted_pending_reward_past_its_hold_is_due(self) -> None:
        assert self.due() is True
        assert self.due(now=NOW + timedelta(days=1)) is True

    @pytest.mark.parametrize(
        "changes",
        [
            pytest.param({"status": S.approved}, id="not-pending"),
            pytest.param({"status": S.not_granted}, id="not-granted-status"),
            pytest.param({"is_granted": False}, id="not-granted"),
            pytest.param({"approve_at": None}, id="order-not-closed"),
            pytest.param({"now": NOW - timedelta(microseconds=1)}, id="inside-the-hold"),
            pytest.param({"is_disputed": True}, id="disputed"),
            pytest.param({"is_held": True}, id="held-for-review"),
            pytest.param({"is_held": True, "now": NOW + timedelta(days=365)}, id="held-long-past-the-hold"),
        ],
    )
    def test_each_condition_holds_it_back(self, changes: dict[str, Any]) -> None:
        assert self.due(**changes) is False


class TestMilestonesReached:
    @pytest.mark.parametrize(
        ("thresholds", "successful", "already", "expected"),
        [
            ([1, 3], 0, set(), []),
            ([1, 3], 1, set(), [1]),
            ([1, 3], 2, {1}, []),
            ([1, 3], 3, {1}, [3]),
            ([1, 3], 3, set(), [1, 3]),
            ([3, 1], 4, {1, 3}, []),  # a fourth referral reaches no new tier
            ([5, 1, 3], 10, set(), [1, 3, 5]),  # lowest first
            ([3, 3], 3, set(), [3]),  # duplicate thresholds count once
            ([], 10, set(), []),
        ],
    )
    def test_reached(
        self, thresholds: list[int], successful: int, already: set[int], expected: list[int]
    ) -> None:
        assert milestones_reached(thresholds, successful, already) == expected


ALLOWED = {
    (S.pending, S.approved),
    (S.pending, S.voided),
    (S.pending, S.not_granted),
    (S.approved, S.issued),
    (S.approved, S.voided),
    (S.issued, S.fulfilled),
    (S.issued, S.voided),
}


class TestCanMove:
    @pytest.mark.parametrize("target", list(RewardStatus))
    @pytest.mark.parametrize("current", list(RewardStatus))
    def test_table(self, current: RewardStatus, target: RewardStatus) -> None:
        assert can_move(current, target) is ((current, target) in ALLOWED)

    @pytest.mark.parametrize("status", list(RewardStatus))
    def test_final_statuses_go_nowhere(self, status: RewardStatus) -> None:
        assert status.is_final is (not any(can_move(status, t) for t in RewardStatus))

    @pytest.mark.parametrize(
        ("status", "live"),
        [
            (S.pending, True),
            (S.approved, True),
            (S.issued, True),
            (S.fulfilled, True),
            (S.voided, False),
            (S.not_granted, False),
        ],
    )
    def test_live(self, status: RewardStatus, live: bool) -> None:
        assert status.is_live is live


class TestRewardType:
    @pytest.mark.parametrize(
        ("reward_type", "is_coupon", "ships"),
        [
            (T.percent_discount, True, False),
            (T.fixed_discount, True, False),
            (T.store_credit, False, False),
            (T.gift_pack, False, True),
            (T.free_sample, False, True),
            (T.cash, False, False),
        ],
    )
    def test_flags(self, reward_type: RewardType, is_coupon: bool, ships: bool) -> None:
        assert (reward_type.is_coupon, reward_type.ships) == (is_coupon, ships)


class TestGenerateCouponCode:
    def test_length_and_alphabet(self) -> None:
        for _ in range(1000):
            code = generate_coupon_code()
            assert len(code) == COUPON_LENGTH == 10
            assert set(code) <= set(COUPON_ALPHABET)

    def test_alphabet_has_no_look_alikes(self) -> None:
        assert not set(COUPON_ALPHABET) & set("01ILOUilou")
        assert len(set(COUPON_ALPHABET)) == len(COUPON_ALPHABET)

    def test_a_thousand_codes_are_distinct(self) -> None:
        assert len({generate_coupon_code() for _ in range(1000)}) == 1000


class TestExpectedDate:
    @pytest.mark.parametrize(
        ("status", "fulfilment_days", "expected"),
        [
            (S.pending, 0, NOW + timedelta(days=14)),
            (S.issued, 7, NOW + timedelta(days=7)),
            (S.issued, 0, None),
            (S.approved, 7, None),
            (S.fulfilled, 7, None),
            (S.voided, 7, None),
        ],
    )
    def test_expected(self, status: RewardStatus, fulfilment_days: int, expected: datetime | None) -> None:
        found = expected_date(
            status=status, approve_at=NOW + timedelta(days=14), issued_at=NOW, fulfilment_days=fulfilment_days
        )

        assert found == expected


class TestRewardOutcome:
    @pytest.mark.parametrize(
        ("status", "is_granted", "is_waiting", "reason", "outcome"),
        [
            ("approved", True, False, None, "granted"),
            ("issued", True, False, None, "granted"),
            ("approved", True, False, "gift pack A out of stock: B instead", "alternative"),
            ("issued", True, False, "gift pack A out of stock: store credit instead", "alternative"),
            ("pending", False, True, "waiting for restock of gift pack A", "waiting"),
            ("not_granted", False, False, "not granted: budget exhausted", "budget_exhausted"),
            ("not_granted", False, False, "not granted: gift pack A out of stock", "out_of_stock"),
            ("not_granted", False, False, "not granted: referrer cap reached", "not_granted"),
            ("voided", False, False, "order refunded", "voided"),
            ("pending", False, False, None, "pending"),
        ],
    )
    def test_outcomes(
        self, status: str, is_granted: bool, is_waiting: bool, reason: str | None, outcome: str
    ) -> None:
        from campaigns.reward.rules import RewardStatus, reward_outcome

        assert (
            reward_outcome(
                RewardStatus(status), is_granted=is_granted, is_waiting_for_stock=is_waiting, reason=reason
            )
            == outcome
        )

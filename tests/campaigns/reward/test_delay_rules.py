"""When a reward is late (pure rules): held for review too long, a pack out of stock, a pack not shipped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.reward.rules import (
    DelayFacts,
    DelayKind,
    RewardDelay,
    RewardStatus,
    RewardType,
    expected_date,
    reward_delay,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)
BASE = DelayFacts(
    status=RewardStatus.pending,
    reward_type=RewardType.gift_pack,
    created_at=T0,
    has_order=True,
    approve_at=None,
    approved_at=None,
    issued_at=None,
    is_waiting_for_stock=False,
    is_order_held=False,
    held_since=None,
    is_shipped=False,
)


def late(facts: DelayFacts, now: datetime) -> RewardDelay | None:
    return reward_delay(facts, fulfilment_days=7, review_days=3, now=now)


class TestRewardDelay:
    @pytest.mark.parametrize(
        ("changes", "now", "expected"),
        [
            # Held for review: late 3 days after the review held it, not a moment earlier.
            ({"is_order_held": True, "held_since": T0}, T0 + 3 * DAY, None),
            (
                {"is_order_held": True, "held_since": T0},
                T0 + 3 * DAY + timedelta(seconds=1),
                RewardDelay(DelayKind.reward_in_review, T0 + 3 * DAY),
            ),
            # Waiting for stock: late 7 days after the hold ended; an open order's wait is not late.
            ({"is_waiting_for_stock": True, "approve_at": T0}, T0 + 7 * DAY, None),
            (
                {"is_waiting_for_stock": True, "approve_at": T0},
                T0 + 8 * DAY,
                RewardDelay(DelayKind.gift_pack_out_of_stock, T0 + 7 * DAY),
            ),
            ({"is_waiting_for_stock": True}, T0 + 100 * DAY, None),
            # A share reward (no order) waits from its grant.
            (
                {"is_waiting_for_stock": True, "has_order": False},
                T0 + 8 * DAY,
                RewardDelay(DelayKind.gift_pack_out_of_stock, T0 + 7 * DAY),
            ),
            # Approved (address awaited) or issued (shipment requested) and not shipped in 7 days.
            (
                {"status": RewardStatus.approved, "approved_at": T0},
                T0 + 8 * DAY,
                RewardDelay(DelayKind.gift_pack_not_shipped, T0 + 7 * DAY),
            ),
            (
                {"status": RewardStatus.issued, "issued_at": T0},
                T0 + 8 * DAY,
                RewardDelay(DelayKind.gift_pack_not_shipped, T0 + 7 * DAY),
            ),
            ({"status": RewardStatus.issued, "issued_at": T0}, T0 + 6 * DAY, None),
            ({"status": RewardStatus.issued, "issued_at": T0, "is_shipped": True}, T0 + 30 * DAY, None),
            # Store credit and coupons never ship; finished rewards are never late.
            (
                {"status": RewardStatus.issued, "issued_at": T0, "reward_type": RewardType.store_credit},
                T0 + 30 * DAY,
                None,
            ),
            ({"status": RewardStatus.fulfilled, "issued_at": T0}, T0 + 30 * DAY, None),
            ({"status": RewardStatus.voided, "approved_at": T0}, T0 + 30 * DAY, None),
            # An ordinary pending reward in its hold is not late (approval is the job's).
            ({"approve_at": T0}, T0 + 30 * DAY, None),
        ],
    )
    def test_kind_and_expected_time(
        self, changes: dict[str, object], now: datetime, expected: RewardDelay | None
    ) -> None:
        assert late(replace(BASE, **changes), now) == expected  # type: ignore[arg-type]


class TestExpectedDateOfHeldAndShippedRewards:
    def test_held_reward_has_no_date(self) -> None:
        assert (
            expected_date(
                status=RewardStatus.pending, approve_at=T0, issued_at=None, fulfilment_days=7, is_held=True
            )
            is None
        )

    def test_issued_coupon_has_no_fulfilment_date(self) -> None:
        assert (
            expected_date(
                status=RewardStatus.issued, approve_at=T0, issued_at=T0, fulfilment_days=7, ships=False
            )
            is None
        )

    def test_issued_pack_is_expected_after_the_fulfilment_time(self) -> None:
        assert (
            expected_date(
                status=RewardStatus.issued, approve_at=T0, issued_at=T0, fulfilment_days=7, ships=True
            )
            == T0 + 7 * DAY
        )

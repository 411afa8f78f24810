"""The stage of a referred friend's order on the share page (pure rules)."""

from __future__ import annotations

import pytest

from growth.link.rules import ReferralStage, referral_stage

R = ReferralStage


@pytest.mark.parametrize(
    ("order_status", "reward_status", "is_in_review", "expected"),
    [
        ("placed", None, False, R.ordered),
        ("paid", "pending", False, R.ordered),
        ("closed", "pending", False, R.order_closed),
        ("closed", None, False, R.order_closed),
        ("placed", "pending", True, R.in_review),
        ("closed", "approved", False, R.reward_approved),
        ("closed", "issued", False, R.reward_issued),
        ("closed", "fulfilled", False, R.reward_delivered),
        ("closed", "not_granted", False, R.no_reward),
        ("refunded", "voided", False, R.cancelled),
        ("cancelled", "pending", True, R.cancelled),
        ("closed", "voided", False, R.cancelled),
    ],
)
def test_stage(order_status: str, reward_status: str | None, is_in_review: bool, expected: R) -> None:
    assert (
        referral_stage(order_status=order_status, reward_status=reward_status, is_in_review=is_in_review)
        is expected
    )

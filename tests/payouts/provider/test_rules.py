from __future__ import annotations

import pytest

from payouts.provider.rules import Destination, ProviderName, destination_problem, is_same_destination, mask

S, B = ProviderName.stripe, ProviderName.bank


@pytest.mark.parametrize(
    ("destination", "problem"),
    [
        (Destination(S, "acct_1PgafTB7WZ01zgkW"), None),
        (Destination(S, None), "stripe_account_id"),
        (Destination(S, "ba_123"), "stripe_account_id"),
        (Destination(B, None, "Li Wei", "ICBC", "6222 0212 3456 7890"), None),
        (Destination(B, None, "Li Wei", "ICBC", None), "4 to 34"),
        (Destination(B, None, "", "ICBC", "62220212"), "holder"),
        (Destination(B, None, "Li Wei", "ICBC", "12"), "4 to 34"),
    ],
)
def test_destination_problem(destination: Destination, problem: str | None) -> None:
    got = destination_problem(destination)
    assert (got is None) if problem is None else (got is not None and problem in got)


@pytest.mark.parametrize(("number", "shown"), [("6222021234567890", "••••7890"), (None, None), ("", None)])
def test_mask_shows_the_last_four_only(number: str | None, shown: str | None) -> None:
    assert mask(number) == shown


def test_a_name_fix_is_the_same_destination_a_new_number_is_not() -> None:
    old = Destination(B, None, "Li Wei", "ICBC", "62220212")
    assert is_same_destination(old, Destination(B, None, "LI WEI", "ICBC Beijing", "62220212"))
    assert not is_same_destination(old, Destination(B, None, "Li Wei", "ICBC", "62220213"))

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from growth.order.rules import (
    MAX_ORDER_AMOUNT,
    IllegalTransition,
    OrderEventType,
    OrderState,
    OrderStatus,
    content_fingerprint,
    differing_fields,
    intake_problem,
    transition,
)

E = OrderEventType
S = OrderStatus
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def state(status: S, *, paid: int = 0, refunded: int = 0, before: S | None = None) -> OrderState:
    return OrderState(status, 1000, paid, refunded, before)


PAID = state(S.paid, paid=1000)


class TestTransition:
    @pytest.mark.parametrize(
        ("start", "event", "expected"),
        [
            (state(S.placed), E.paid, S.paid),
            (state(S.placed), E.cancelled, S.cancelled),
            (PAID, E.fulfilled, S.fulfilled),
            (PAID, E.closed, S.closed),
            (state(S.fulfilled, paid=1000), E.closed, S.closed),
            (PAID, E.disputed, S.disputed),
            (state(S.closed, paid=1000), E.disputed, S.disputed),
            (state(S.disputed, paid=1000, before=S.closed), E.dispute_won, S.closed),
            (state(S.disputed, paid=1000, before=S.fulfilled), E.dispute_lost, S.refunded),
            (PAID, E.refunded, S.refunded),
            (state(S.closed, paid=1000), E.refunded, S.refunded),
        ],
    )
    def test_legal(self, start: OrderState, event: E, expected: S) -> None:
        assert transition(start, event).status is expected

    @pytest.mark.parametrize(
        ("start", "event"),
        [
            (state(S.placed), E.refunded),  # refund of an unpaid order
            (state(S.placed), E.fulfilled),
            (state(S.placed), E.closed),
            (state(S.cancelled), E.closed),  # close of a cancelled order
            (state(S.cancelled), E.paid),
            (PAID, E.paid),
            (PAID, E.cancelled),
            (state(S.refunded, paid=1000, refunded=1000), E.refunded),
            (state(S.refunded, paid=1000, refunded=1000), E.closed),
            (state(S.closed, paid=1000), E.fulfilled),
            (PAID, E.dispute_won),
            (state(S.placed), E.disputed),
            (state(S.disputed, paid=1000, before=S.paid), E.closed),
        ],
    )
    def test_illegal_names_the_current_status(self, start: OrderState, event: E) -> None:
        with pytest.raises(IllegalTransition) as excinfo:
            transition(start, event)
        assert excinfo.value.current is start.status

    def test_paid_collects_the_order_amount(self) -> None:
        assert transition(state(S.placed), E.paid).paid_amount == 1000

    def test_partial_refunds_then_the_last_one_refunds_the_order(self) -> None:
        first = transition(PAID, E.refunded, 300)
        second = transition(first, E.refunded, 700)

        assert (first.status, first.refunded_amount) == (S.paid, 300)
        assert (second.status, second.refunded_amount) == (S.refunded, 1000)

    @pytest.mark.parametrize("amount", [1001, 0, -5])
    def test_refund_beyond_what_was_paid_or_not_positive(self, amount: int) -> None:
        with pytest.raises(IllegalTransition):
            transition(PAID, E.refunded, amount)

    def test_refund_after_a_partial_refund_is_limited_to_the_rest(self) -> None:
        partly = transition(PAID, E.refunded, 600)
        with pytest.raises(IllegalTransition, match="exceeds the 400"):
            transition(partly, E.refunded, 401)
        assert transition(partly, E.refunded).refunded_amount == 1000

    def test_lost_dispute_returns_the_disputed_amount(self) -> None:
        disputed = transition(PAID, E.disputed)
        lost = transition(disputed, E.dispute_lost, 250)
        assert (lost.status, lost.refunded_amount, lost.status_before_dispute) == (S.paid, 250, None)


class TestIntakeProblem:
    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"amount": -1}, "negative"),
            ({"amount": MAX_ORDER_AMOUNT + 1}, "larger"),
            ({"currency_known": False}, "currency"),
            ({"placed_at": NOW + timedelta(days=2)}, "future"),
            ({"lines": [(0, 100)]}, "line items"),
            ({"lines": [(1, -1)]}, "line items"),
            ({"lines": [(2**31, 0)]}, "line items"),
        ],
    )
    def test_refused(self, kwargs: dict[str, object], fragment: str) -> None:
        base: dict[str, object] = {
            "amount": 1000,
            "currency_known": True,
            "placed_at": NOW,
            "now": NOW,
            "lines": [],
        }
        problem = intake_problem(**{**base, **kwargs})  # type: ignore[arg-type]
        assert problem is not None and fragment in problem

    @pytest.mark.parametrize("amount", [0, 1, MAX_ORDER_AMOUNT])
    def test_accepted(self, amount: int) -> None:
        assert (
            intake_problem(amount=amount, currency_known=True, placed_at=NOW, now=NOW, lines=[(2, 500)])
            is None
        )


def test_fingerprint_is_stable_and_order_insensitive() -> None:
    a = {"amount": 1, "currency": "CNY", "hints": {"click_ids": []}}
    b = {"hints": {"click_ids": []}, "currency": "CNY", "amount": 1}
    assert content_fingerprint(a) == content_fingerprint(b)
    assert content_fingerprint(a) != content_fingerprint({**a, "amount": 2})


def test_differing_fields() -> None:
    assert differing_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == ["b", "c"]

"""Posting entries idempotently, reversing them, and reading balances, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.errors import Conflict
from growth.ledger import service as ledger_service
from growth.ledger.models import LedgerEntry, LedgerLine
from growth.ledger.rules import Line, UnbalancedEntry
from growth.ledger.service import EntryConflict

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
EXPENSE = "campaign:c1:reward_expense"
ALICE = "customer:alice:store_credit"
BOB = "customer:bob:store_credit"


def credit(account: str = ALICE, amount: int = 2000, currency: str = "CNY") -> list[Line]:
    """The lines of a store credit: the campaign's expense debited, the customer's account credited."""
    return [Line(EXPENSE, amount, currency), Line(account, -amount, currency)]


async def post(session: AsyncSession, reference: str, lines: list[Line], **kw: object) -> LedgerEntry:
    return await ledger_service.post_entry(
        session, reference=reference, kind="reward_credit", lines=lines, occurred_at=NOW, **kw
    )


async def count(session: AsyncSession, model: type[object]) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


class TestPostEntry:
    async def test_writes_the_entry_and_its_lines(self, session: AsyncSession) -> None:
        entry = await post(session, "reward:1:issued", credit(), memo="spring referral")

        assert (entry.reference, entry.kind, entry.memo, entry.reverses_id) == (
            "reward:1:issued",
            "reward_credit",
            "spring referral",
            None,
        )
        lines = list(await session.scalars(select(LedgerLine).where(LedgerLine.entry_id == entry.id)))
        assert sorted((x.account, x.amount, x.currency) for x in lines) == [
            (EXPENSE, 2000, "CNY"),
            (ALICE, -2000, "CNY"),
        ]

    async def test_same_reference_and_lines_returns_the_first_entry(self, session: AsyncSession) -> None:
        first = await post(session, "reward:1:issued", credit())

        again = await post(session, "reward:1:issued", list(reversed(credit())))

        assert again.id == first.id
        assert await count(session, LedgerEntry) == 1
        assert await count(session, LedgerLine) == 2

    @pytest.mark.parametrize(
        "other",
        [
            pytest.param(credit(amount=2001), id="other-amount"),
            pytest.param(credit(account=BOB), id="other-account"),
            pytest.param(credit(currency="USD"), id="other-currency"),
            pytest.param([*credit(), Line(EXPENSE, 1, "CNY"), Line(BOB, -1, "CNY")], id="more-lines"),
        ],
    )
    async def test_same_reference_with_other_lines_conflicts(
        self, session: AsyncSession, other: list[Line]
    ) -> None:
        await post(session, "reward:1:issued", credit())

        with pytest.raises(EntryConflict) as raised:
            await post(session, "reward:1:issued", other)

        assert isinstance(raised.value, Conflict) and raised.value.status_code == 409
        assert await count(session, LedgerEntry) == 1

    async def test_unbalanced_lines_write_nothing(self, session: AsyncSession) -> None:
        with pytest.raises(UnbalancedEntry):
            await post(session, "reward:1:issued", [Line(EXPENSE, 2000, "CNY"), Line(ALICE, -1, "CNY")])

        assert await count(session, LedgerEntry) == 0


class TestReverseEntry:
    async def test_posts_the_mirror_image_linked_to_the_original(self, session: AsyncSession) -> None:
        original = await post(session, "reward:1:issued", credit())

        reversal = await ledger_service.reverse_entry(
            session,
            reference="reward:1:issued",
            reversal_reference="reward:1:voided",
            occurred_at=NOW,
            memo="order refunded",
        )

        assert reversal is not None
        assert (reversal.kind, reversal.reverses_id, reversal.memo) == (
            "reversal",
            original.id,
            "order refunded",
        )
        lines = list(await session.scalars(select(LedgerLine).where(LedgerLine.entry_id == reversal.id)))
        assert sorted((x.account, x.amount) for x in lines) == [(EXPENSE, -2000), (ALICE, 2000)]
        assert await ledger_service.liability(session, ALICE, "CNY") == 0
        assert await ledger_service.unbalanced_entries(session) == []

    async def test_reversing_twice_posts_once(self, session: AsyncSession) -> None:
        await post(session, "reward:1:issued", credit())
        kw = {"reference": "reward:1:issued", "reversal_reference": "reward:1:voided", "occurred_at": NOW}

        first = await ledger_service.reverse_entry(session, **kw)  # type: ignore[arg-type]
        second = await ledger_service.reverse_entry(session, **kw)  # type: ignore[arg-type]

        assert first is not None and second is not None and first.id == second.id
        assert await count(session, LedgerEntry) == 2

    async def test_nothing_to_reverse_returns_none(self, session: AsyncSession) -> None:
        reversal = await ledger_service.reverse_entry(
            session,
            reference="reward:missing:issued",
            reversal_reference="reward:missing:voided",
            occurred_at=NOW,
        )

        assert reversal is None
        assert await count(session, LedgerEntry) == 0


class TestBalances:
    async def test_liability_sums_the_account_in_one_currency(self, session: AsyncSession) -> None:
        await post(session, "r1", credit(amount=2000))
        await post(session, "r2", credit(amount=500))
        await post(session, "r3", credit(amount=300, currency="USD"))
        await post(session, "r4", credit(account=BOB, amount=9999))

        assert await ledger_service.liability(session, ALICE, "CNY") == 2500
        assert await ledger_service.liability(session, ALICE, "USD") == 300
        assert await ledger_service.liability(session, ALICE, "EUR") == 0
        assert await ledger_service.liability(session, EXPENSE, "CNY") == -(2000 + 500 + 9999)
        assert await ledger_service.liability(session, "customer:nobody:store_credit", "CNY") == 0

    async def test_balances_by_prefix_per_account_and_currency(self, session: AsyncSession) -> None:
        await post(session, "r1", credit(amount=2000))
        await post(session, "r2", credit(amount=300, currency="USD"))
        await post(session, "r3", credit(account=BOB, amount=700))

        assert await ledger_service.balances(session, "customer:") == [
            (ALICE, "CNY", 2000),
            (ALICE, "USD", 300),
            (BOB, "CNY", 700),
        ]
        assert await ledger_service.balances(session, "customer:bob:") == [(BOB, "CNY", 700)]
        assert await ledger_service.balances(session, "campaign:") == [
            (EXPENSE, "CNY", -2700),
            (EXPENSE, "USD", -300),
        ]
        assert await ledger_service.balances(session, "partner:") == []

    @pytest.mark.parametrize("prefix", ["customer:%", "customer:_lice", "customer:alice\\"])
    async def test_prefix_wildcards_are_taken_literally(self, session: AsyncSession, prefix: str) -> None:
        await post(session, "r1", credit(amount=2000))

        assert await ledger_service.balances(session, prefix) == []

    async def test_a_sound_ledger_has_no_unbalanced_entries(self, session: AsyncSession) -> None:
        assert await ledger_service.unbalanced_entries(session) == []
        await post(session, "r1", credit())
        await post(session, "r2", credit(amount=5, currency="USD") + credit(account=BOB, amount=6))

        assert await ledger_service.unbalanced_entries(session) == []

    async def test_a_tampered_line_shows_as_unbalanced(self, session: AsyncSession) -> None:
        entry = await post(session, "r1", credit())
        line = await session.scalar(select(LedgerLine).where(LedgerLine.account == ALICE))
        assert line is not None
        line.amount = -1999
        await session.flush()

        assert await ledger_service.unbalanced_entries(session) == [(str(entry.id), "CNY", 1)]

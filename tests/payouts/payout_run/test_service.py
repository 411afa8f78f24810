"""Payout runs on a real database, paying through the real ``stripe`` library into a local stand-in."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
import stripe  # noqa: F401  (only to be sure the library under test is installed)
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.ledger import service as ledger_service
from growth.settings import Settings
from payouts.partner.rules import PartnerStatus
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.errors import InvalidPayoutRun, PayoutNotConfirmable, PayoutRunExists
from payouts.payout_run.rules import SkipReason
from payouts.provider import service as provider_service
from payouts.provider.errors import StripeNotConfigured
from payouts.provider.rules import ProviderName
from payouts.statement import service as statement_service
from payouts.statement.errors import PeriodNotOver
from tests.payouts.payout_run.helpers import (
    MINIMUMS,
    NOW,
    assert_ledger_sound,
    owed,
    partner_with,
)
from tests.payouts.stripe_standin import API_KEY, StripeStandIn


def providers(stand_in: StripeStandIn | None, *, api_key: str = API_KEY):  # type: ignore[no-untyped-def]
    base = stand_in.base if stand_in else "http://127.0.0.1:9"
    return provider_service.providers(Settings(stripe_api_key=api_key, stripe_api_base=base))


async def create(session: AsyncSession, currency: str = "CNY", period: str = "2026-11") -> UUID:
    run = await payout_run_service.create_run(
        session, period=period, currency=currency, now=NOW, minimums=MINIMUMS, cooling_off_days=7
    )
    await session.commit()
    return run.id


async def detail(session_maker: SessionMaker, run_id: UUID) -> payout_run_service.RunDetail:
    async with session_maker() as s:
        return await payout_run_service.run_detail(s, run_id)


class TestCreateRun:
    async def test_pays_who_reaches_the_minimum_and_lists_who_compliance_holds(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        paid = await partner_with(session, payable=10_000)
        held = {
            await partner_with(session, payable=9_999): SkipReason.below_minimum,
            await partner_with(session, status=PartnerStatus.suspended): SkipReason.partner_not_approved,
            await partner_with(session, provider=None): SkipReason.no_payout_account,
            await partner_with(session, tax_form=False): SkipReason.tax_form_missing,
            await partner_with(session, changed_at=NOW): SkipReason.account_cooling_off,
        }
        other_currency = await partner_with(session, currency="USD", payable=50_000)
        run_id = await create(session)

        d = await detail(session_maker, run_id)
        assert [(p.partner_id, p.amount, p.status, p.idempotency_key) for p in d.payouts] == [
            (paid, 10_000, "pending", f"payout-{d.payouts[0].id}")
        ]
        assert {s.partner_id: SkipReason(s.reason) for s in d.skips} == held
        assert other_currency not in {p.partner_id for p in d.payouts} | set(held)
        # The payout's amount left payable and waits in in_payout; the held partners keep theirs.
        assert await owed(session_maker, paid, "payable") == 0
        assert await owed(session_maker, paid, "in_payout") == 10_000
        for partner_id in held:
            assert await owed(session_maker, partner_id, "payable") > 0
        await assert_ledger_sound(session_maker)

    async def test_the_same_period_twice_creates_nothing_new(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        partner = await partner_with(session)
        run_id = await create(session)
        await partner_with(session)  # a new partner becomes payable after the run
        with pytest.raises(PayoutRunExists):
            await create(session)
        await session.rollback()
        assert len((await detail(session_maker, run_id)).payouts) == 1
        assert await owed(session_maker, partner, "in_payout") == 20_000
        async with session_maker() as s:
            assert len(await payout_run_service.list_runs(s)) == 1

    @pytest.mark.parametrize(
        ("period", "currency"), [("2026-13", "CNY"), ("2026-11", "XXQ"), ("2026-11", "cny")]
    )
    async def test_bad_period_or_currency(self, session: AsyncSession, period: str, currency: str) -> None:
        with pytest.raises(InvalidPayoutRun):
            await payout_run_service.create_run(session, period=period, currency=currency, now=NOW)

    async def test_a_run_pays_what_the_months_statement_shows_and_no_more(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        """Money approved after the month ended is the next month's: it waits for that run, and every
        payout names a statement whose approved balance covers it."""
        on_statement = await partner_with(session, payable=20_000)
        approved_late = await partner_with(session, payable=0)
        for partner_id in (on_statement, approved_late):
            await ledger_service.post_entry(
                session,
                reference=f"late:{partner_id}",
                kind="commission_approved",
                lines=[
                    ledger_service.Line(ledger_service.COMMISSION_EXPENSE, 15_000, "CNY"),
                    ledger_service.Line(
                        ledger_service.partner_account(partner_id, "payable"), -15_000, "CNY"
                    ),
                ],
                occurred_at=NOW - timedelta(hours=1),  # 1 December, after November ended
            )
        november = await create(session)
        [payout] = (await detail(session_maker, november)).payouts
        assert (payout.partner_id, payout.amount) == (on_statement, 20_000)
        async with session_maker() as s:
            stated = await statement_service.statements_of_period(s, period="2026-11", currency="CNY")
        assert payout.statement_id == stated[on_statement].id and approved_late not in stated
        assert await owed(session_maker, on_statement, "payable") == 15_000  # waits for December

        december = await payout_run_service.create_run(
            session, period="2026-12", currency="CNY", now=NOW + timedelta(days=31), minimums=MINIMUMS
        )
        await session.commit()
        paid = {(p.partner_id, p.amount) for p in (await detail(session_maker, december.id)).payouts}
        assert paid == {(on_statement, 15_000), (approved_late, 15_000)}
        await assert_ledger_sound(session_maker)

    async def test_a_month_not_over_has_no_run_yet(self, session: AsyncSession) -> None:
        await partner_with(session)
        with pytest.raises(PeriodNotOver, match="not over yet"):
            await payout_run_service.create_run(session, period="2026-12", currency="CNY", now=NOW)
        assert await payout_run_service.find_run(session, period="2026-12", currency="CNY") is None


class TestExecuteStripe:
    async def test_transfers_with_the_payout_key_the_run_group_and_metadata(
        self, session: AsyncSession, session_maker: SessionMaker, stripe_standin: StripeStandIn
    ) -> None:
        a = await partner_with(session, payable=12_345, acct="acct_1PgafTB7WZ01zgkW")
        b = await partner_with(session, payable=30_000)
        run_id = await create(session)

        done = await payout_run_service.execute_run(
            session_maker, run_id, providers=providers(stripe_standin), now=NOW
        )
        assert (done.status, done.sent, done.failed, done.pending) == ("completed", 2, 0, 0)
        d = await detail(session_maker, run_id)
        by_partner = {p.partner_id: p for p in d.payouts}
        first = next(r for r in stripe_standin.requests if r["form"]["metadata[partner_id]"] == str(a))
        assert first["method"] == "POST" and first["path"] == "/v1/transfers"
        assert first["idempotency_key"] == f"payout-{by_partner[a].id}"
        assert first["form"] == {
            "amount": "12345",
            "currency": "cny",
            "destination": "acct_1PgafTB7WZ01zgkW",
            "transfer_group": f"run-{run_id}",
            "metadata[payout_id]": str(by_partner[a].id),
            "metadata[partner_id]": str(a),
            "metadata[period]": "2026-11",
            "metadata[statement_id]": str(by_partner[a].statement_id),
        }
        async with session_maker() as s:
            statement = await statement_service.get_statement(s, by_partner[a].statement_id, partner_id=a)  # type: ignore[arg-type]
        # The run issued the month's statements first; the transfer names the one it settles.
        assert (statement.statement.period, statement.statement.closing_payable) == ("2026-11", 12_345)
        for partner_id in (a, b):
            payout = by_partner[partner_id]
            assert payout.status == "sent" and payout.provider_reference.startswith("tr_")  # type: ignore[union-attr]
            assert await owed(session_maker, partner_id, "payable") == 0
            assert await owed(session_maker, partner_id, "in_payout") == 0
        async with session_maker() as s:
            from growth.ledger import service as ledger_service

            assert await ledger_service.liability(s, "provider:stripe:clearing", "CNY") == 42_345
        await assert_ledger_sound(session_maker)

    async def test_executing_twice_makes_one_transfer_per_payout(
        self, session: AsyncSession, session_maker: SessionMaker, stripe_standin: StripeStandIn
    ) -> None:
        for _ in range(3):
            await partner_with(session)
        run_id = await create(session)
        for _ in range(2):
            await payout_run_service.execute_run(
                session_maker, run_id, providers=providers(stripe_standin), now=NOW
            )
        d = await detail(session_maker, run_id)
        assert len(stripe_standin.requests) == 3
        assert set(stripe_standin.transfers()) == {f"payout-{p.id}" for p in d.payouts}

    async def test_a_run_killed_after_stripe_answered_pays_once_when_started_again(
        self, session: AsyncSession, session_maker: SessionMaker, stripe_standin: StripeStandIn
    ) -> None:
        """Stripe made the transfer but our commit never happened: the retry carries the same key."""
        partner = await partner_with(session)
        run_id = await create(session)
        payout = (await detail(session_maker, run_id)).payouts[0]
        request = provider_service.TransferRequest(
            payout.id,
            partner,
            run_id,
            "2026-11",
            payout.amount,
            "CNY",
            payout.destination,
            f"payout-{payout.id}",
            payout.statement_id,
        )
        lost_reference = await providers(stripe_standin)["stripe"].transfer(request)  # the lost answer

        await payout_run_service.execute_run(
            session_maker, run_id, providers=providers(stripe_standin), now=NOW
        )
        again = (await detail(session_maker, run_id)).payouts[0]
        assert again.provider_reference == lost_reference
        assert len(stripe_standin.transfers()) == 1
        assert {r["idempotency_key"] for r in stripe_standin.requests} == {f"payout-{payout.id}"}
        await assert_ledger_sound(session_maker)

    async def test_a_failed_transfer_returns_the_money_to_payable_with_stripes_reason(
        self, session: AsyncSession, session_maker: SessionMaker, stripe_standin: StripeStandIn
    ) -> None:
        ok = await partner_with(session, payable=15_000)
        bad = await partner_with(session, payable=25_000, acct="acct_gone")
        stripe_standin.declined["acct_gone"] = "No such destination: 'acct_gone'"
        run_id = await create(session)

        done = await payout_run_service.execute_run(
            session_maker, run_id, providers=providers(stripe_standin), now=NOW
        )
        assert (done.sent, done.failed, done.status) == (1, 1, "completed")
        failed = next(p for p in (await detail(session_maker, run_id)).payouts if p.partner_id == bad)
        assert failed.status == "failed" and "No such destination: 'acct_gone'" in (failed.error or "")
        assert await owed(session_maker, bad, "payable") == 25_000
        assert await owed(session_maker, bad, "in_payout") == 0
        # What was paid is exactly what left payable for good.
        assert await owed(session_maker, ok, "payable") == 0
        async with session_maker() as s:
            from growth.ledger import service as ledger_service

            assert await ledger_service.liability(s, "provider:stripe:clearing", "CNY") == 15_000
        await assert_ledger_sound(session_maker)
        # Executing again does not retry a failed payout.
        await payout_run_service.execute_run(
            session_maker, run_id, providers=providers(stripe_standin), now=NOW
        )
        assert len(stripe_standin.requests) == 2

    async def test_without_an_api_key_stripe_payouts_are_refused_and_stay_pending(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        partner = await partner_with(session)
        run_id = await create(session)
        with pytest.raises(StripeNotConfigured):
            await payout_run_service.execute_run(
                session_maker, run_id, providers=providers(None, api_key=""), now=NOW
            )
        assert (await detail(session_maker, run_id)).payouts[0].status == "pending"
        assert await owed(session_maker, partner, "in_payout") == 20_000

    async def test_stripe_unreachable_leaves_the_payout_pending_for_a_retry(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await partner_with(session)
        run_id = await create(session)
        done = await payout_run_service.execute_run(session_maker, run_id, providers=providers(None), now=NOW)
        assert (done.pending, done.status) == (1, "executing")
        payout = (await detail(session_maker, run_id)).payouts[0]
        assert payout.status == "pending" and payout.error
        await assert_ledger_sound(session_maker)


class TestBankPayouts:
    async def test_bank_file_then_finance_confirms_paid(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        partner = await partner_with(session, provider=ProviderName.bank, payable=12_050)
        run_id = await create(session)
        await payout_run_service.execute_run(session_maker, run_id, providers=providers(None), now=NOW)
        async with session_maker() as s:
            rows = await payout_run_service.bank_file(s, run_id)
        assert [(r.partner_id, r.account_number, r.amount, r.currency) for r in rows] == [
            (partner, "6222021234567890", 12_050, "CNY")
        ]
        async with session_maker() as s, s.begin():
            payout = await payout_run_service.confirm_paid(s, rows[0].payout_id, now=NOW)
            assert payout.status == "paid"
        async with session_maker() as s, s.begin():  # confirming again is no move
            assert (await payout_run_service.confirm_paid(s, rows[0].payout_id, now=NOW)).status == "paid"
        assert await owed(session_maker, partner, "payable") == 0
        await assert_ledger_sound(session_maker)

    async def test_a_stripe_payout_is_not_confirmed_by_finance(
        self, session: AsyncSession, session_maker: SessionMaker, stripe_standin: StripeStandIn
    ) -> None:
        await partner_with(session)
        run_id = await create(session)
        await payout_run_service.execute_run(
            session_maker, run_id, providers=providers(stripe_standin), now=NOW
        )
        payout = (await detail(session_maker, run_id)).payouts[0]
        async with session_maker() as s:
            with pytest.raises(PayoutNotConfirmable):
                await payout_run_service.confirm_paid(s, payout.id, now=NOW)

"""Finance's payout-run pages: who may open them, CSRF, creating a run (and refusals that write nothing),
Execute (bank and Stripe, through the Stripe stand-in), the bank file, Confirm paid, English and Chinese."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit.models import AuditEntry
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.time import to_local, utc_now
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.payout_run.models import Payout, PayoutRun
from payouts.provider.rules import ProviderName
from payouts.statement.models import Statement
from tests.conftest import BASE_URL
from tests.factories import create_key
from tests.pages import HTML, csrf_token, post_form, sign_in
from tests.payouts.payout_run.helpers import partner_with
from tests.payouts.stripe_standin import API_KEY, StripeStandIn

Client = AsyncTestClient[Litestar]
PAGES = "/finance/payouts"
PERIOD = "2026-10"
"""The helpers' balances are owed since 2 October 2026: a month that is over by the tests' real clock."""


@pytest.fixture
async def finance(client: Client, session: AsyncSession) -> AsyncIterator[Client]:
    """The client, signed in to the dashboard with a finance key named Grace."""
    key = await create_key(session, role=Role.finance, name="Grace")
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    yield client


@pytest.fixture
async def stripe_finance(
    settings: Settings, session: AsyncSession, stripe_standin: StripeStandIn
) -> AsyncIterator[Client]:
    """A finance session on an app whose Stripe payouts go to the local Stripe stand-in."""
    from growth.app import create_app

    app = create_app(settings.with_overrides(stripe_api_key=API_KEY, stripe_api_base=stripe_standin.base))
    key = await create_key(session, role=Role.finance, name="Grace")
    await session.commit()
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        assert (await sign_in(client, key)).status_code == 303
        yield client


async def named(session: AsyncSession, partner_id: UUID, name: str) -> UUID:
    (await partner_service.get_partner(session, partner_id)).name = name
    await session.flush()
    return partner_id


async def bank_and_held(session: AsyncSession) -> tuple[UUID, UUID]:
    """A bank partner owed ¥120.50 and one owed ¥200.00 without a payout account (held back)."""
    bank = await named(
        session, await partner_with(session, provider=ProviderName.bank, payable=12_050), "Li Wei"
    )
    held = await named(session, await partner_with(session, provider=None), "Zhao Min")
    await session.commit()
    return bank, held


async def create(client: Client, period: str = PERIOD, currency: str = "CNY") -> Any:
    return await post_form(client, PAGES, PAGES, {"period": period, "currency": currency})


def run_of(response: Any) -> str:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert location.path.startswith(f"{PAGES}/") and location.query == "notice=created"
    return location.path.rsplit("/", 1)[1]


async def press(client: Client, run_id: str, action: str) -> Any:
    """Press a button on the run's page (the form's token)."""
    return await post_form(client, f"{PAGES}/{run_id}", f"{PAGES}/{run_id}/{action}", {})


async def counts(session_maker: SessionMaker) -> dict[str, int]:
    async with session_maker() as s:
        return {
            model.__tablename__: int(await s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (PayoutRun, Payout, Statement, AuditEntry)
        }


async def payouts(session_maker: SessionMaker, run_id: str) -> dict[UUID, Payout]:
    async with session_maker() as s:
        found = await s.scalars(select(Payout).where(Payout.run_id == UUID(run_id)))
        return {p.partner_id: p for p in found}


async def actions(session_maker: SessionMaker) -> list[tuple[str, str, str]]:
    async with session_maker() as s:
        entries = await s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("payout_run.%") | AuditEntry.action.like("payout.%"))
            .order_by(AuditEntry.sequence)
        )
        return [(e.action, e.actor_kind, e.actor_name) for e in entries]


class TestAccess:
    async def test_signed_out_is_sent_to_sign_in(self, client: Client) -> None:
        response = await client.get(PAGES, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=%2Ffinance%2Fpayouts"

    async def test_marketing_may_not_open_or_post(
        self, client: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await bank_and_held(session)
        key = await create_key(session, role=Role.marketing)
        await session.commit()
        await sign_in(client, key)
        before = await counts(session_maker)

        page = await client.get(PAGES, headers=HTML)
        home = await client.get("/marketing/campaigns", headers=HTML)
        token = csrf_token(home.text)
        posted = await client.post(
            PAGES, data={"period": PERIOD, "currency": "CNY", "_csrf_token": token}, headers=HTML
        )

        assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
        assert posted.status_code == 403
        assert f'href="{PAGES}"' not in home.text  # no nav link for marketing
        assert await counts(session_maker) == before

    async def test_finance_and_admin_see_the_nav_link(self, client: Client, session: AsyncSession) -> None:
        for role in (Role.finance, Role.admin):
            key = await create_key(session, role=role)
            await session.commit()
            client.cookies.clear()
            await sign_in(client, key)
            home = await client.get("/dashboard", headers=HTML)
            page = await client.get(PAGES, headers=HTML)
            assert home.status_code == 200 and f'href="{PAGES}"' in home.text, role
            assert page.status_code == 200 and 'id="nav-payouts"' in page.text, role

    async def test_posts_without_the_csrf_token_are_refused(
        self, finance: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await bank_and_held(session)
        run_id = run_of(await create(finance))
        before = await counts(session_maker)
        [payout] = (await payouts(session_maker, run_id)).values()

        for action, data in (
            (PAGES, {"period": "2026-09", "currency": "CNY"}),
            (f"{PAGES}/{run_id}/execute", {}),
            (f"{PAGES}/{run_id}/payouts/{payout.id}/confirm", {}),
        ):
            response = await finance.post(action, data=data, headers=HTML, follow_redirects=False)
            assert response.status_code == 403, action

        assert await counts(session_maker) == before
        assert (await payouts(session_maker, run_id))[payout.partner_id].status == "pending"


class TestCreate:
    async def test_the_form_offers_last_month_and_the_default_currency(
        self, finance: Client, settings: Settings
    ) -> None:
        local = to_local(utc_now(), settings.timezone).replace(day=1) - timedelta(days=1)
        page = await finance.get(PAGES, headers=HTML)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert f'id="period" name="period" value="{local:%Y-%m}"' in page.text
        assert f'id="currency" name="currency" value="{settings.default_currency}"' in page.text
        assert 'id="no-runs"' in page.text

    async def test_a_created_run_lists_its_payouts_and_who_is_held_back(
        self, finance: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        bank, held = await bank_and_held(session)

        run_id = run_of(await create(finance, currency="cny"))  # typed in any case

        page = await finance.get(f"{PAGES}/{run_id}?notice=created", headers=HTML)
        assert page.status_code == 200
        html = page.text
        assert "Payout run 2026-10 CNY" in html and "check the payouts, then press Execute" in html
        [payout] = (await payouts(session_maker, run_id)).values()
        row = html.split(f'id="payout-{payout.id}"')[1].split("</tr>")[0]
        assert "Li Wei" in row and "CN¥120.50" in row and "Bank transfer" in row
        assert "Waiting to be sent" in row and f'href="/statements/{payout.statement_id}"' in row
        skip = html.split(f'id="skip-{held}"')[1].split("</tr>")[0]
        assert "Zhao Min" in skip and "CN¥200.00" in skip and "No payout account on file." in skip
        assert 'id="execute"' in html and 'id="bank-file"' not in html  # nothing sent yet
        statement = await finance.get(f"/statements/{payout.statement_id}", headers=HTML)
        assert statement.status_code == 200 and "Li Wei" in statement.text

        listed = await finance.get(PAGES, headers=HTML)
        row = listed.text.split(f'id="run-{run_id}"')[1].split("</tr>")[0]
        assert f'href="{PAGES}/{run_id}"' in row and "Ready to execute" in row
        assert "1 payout" in row and "CN¥120.50" in row
        assert await actions(session_maker) == [("payout_run.created", "api_key", "Grace (finance)")]
        assert bank in (await payouts(session_maker, run_id))

    @pytest.mark.parametrize(
        ("period", "currency", "status", "message"),
        [
            ("2026-13", "CNY", 422, "Enter the period as a month, YYYY-MM"),
            ("Oct 2026", "CNY", 422, "Enter the period as a month, YYYY-MM"),
            ("1999-10", "CNY", 422, "Enter the period as a month, YYYY-MM"),
            ("", "CNY", 422, "Enter the period as a month, YYYY-MM"),
            (PERIOD, "XYZ", 422, "Enter the period as a month, YYYY-MM"),
            ("2999-01", "CNY", 422, "The month 2999-01 is not over yet"),
        ],
        ids=["month-13", "words", "year-1999", "empty", "currency", "not-over"],
    )
    async def test_a_refused_run_writes_nothing(
        self,
        finance: Client,
        session: AsyncSession,
        session_maker: SessionMaker,
        period: str,
        currency: str,
        status: int,
        message: str,
    ) -> None:
        await bank_and_held(session)
        before = await counts(session_maker)

        response = await create(finance, period, currency)

        assert response.status_code == status, response.text
        assert message in response.text and "Nothing was created." in response.text
        assert f'value="{period}"' in response.text  # the form keeps what was typed
        assert await counts(session_maker) == before

    async def test_this_month_is_not_over(self, finance: Client, session_maker: SessionMaker) -> None:
        this_month = f"{utc_now():%Y-%m}"
        before = await counts(session_maker)
        response = await create(finance, this_month)
        assert response.status_code == 422 and f"The month {this_month} is not over yet" in response.text
        assert await counts(session_maker) == before

    async def test_a_second_run_of_the_month_is_a_409_linking_the_first(
        self, finance: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await bank_and_held(session)
        run_id = run_of(await create(finance))
        before = await counts(session_maker)

        again = await create(finance)

        assert again.status_code == 409
        assert "A payout run for this month and currency already exists." in again.text
        assert f'href="{PAGES}/{run_id}" id="existing-run"' in again.text
        assert await counts(session_maker) == before


class TestExecute:
    async def test_execute_pays_bank_and_stripe_partners_then_finance_confirms_the_bank_one(
        self,
        stripe_finance: Client,
        session: AsyncSession,
        session_maker: SessionMaker,
        stripe_standin: StripeStandIn,
    ) -> None:
        bank, _ = await bank_and_held(session)
        stripe = await named(session, await partner_with(session, payable=30_000), "Sun Tea Ltd")
        await session.commit()
        run_id = run_of(await create(stripe_finance))

        executed = await press(stripe_finance, run_id, "execute")

        assert executed.status_code == 303
        assert executed.headers["location"] == f"{PAGES}/{run_id}?notice=executing"
        paid = await payouts(session_maker, run_id)
        assert {p: paid[p].status for p in (bank, stripe)} == {bank: "sent", stripe: "sent"}
        [transfer] = stripe_standin.transfers().values()
        assert transfer["metadata"]["payout_id"] == str(paid[stripe].id)
        assert list(stripe_standin.transfers()) == [f"payout-{paid[stripe].id}"]
        page = await stripe_finance.get(executed.headers["location"], headers=HTML)
        assert "Reload the page to see each payout" in page.text
        assert 'data-run-status="completed"' in page.text and 'id="execute"' not in page.text
        assert "2 payouts · CN¥420.50" in page.text.split('id="total-sent"')[1].split("</dd>")[0]
        assert f'id="confirm-{paid[bank].id}"' in page.text
        assert f'id="confirm-{paid[stripe].id}"' not in page.text  # Stripe payouts are not confirmed by hand

        csv = await stripe_finance.get(f"{PAGES}/{run_id}/bank-file.csv", headers=HTML)
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "Li Wei,ICBC,6222021234567890,120.50,CNY" in csv.text and "Sun Tea" not in csv.text

        confirmed = await post_form(
            stripe_finance, f"{PAGES}/{run_id}", f"{PAGES}/{run_id}/payouts/{paid[bank].id}/confirm", {}
        )
        assert confirmed.headers["location"] == f"{PAGES}/{run_id}?notice=confirmed"
        page = await stripe_finance.get(confirmed.headers["location"], headers=HTML)
        assert "The bank payout is confirmed as paid." in page.text and "Paid (confirmed)" in page.text
        assert (await payouts(session_maker, run_id))[bank].status == "paid"
        assert [a for a, _, _ in await actions(session_maker)] == [
            "payout_run.created",
            "payout_run.execution_requested",
            "payout.confirmed_paid",
        ]

    async def test_confirming_a_payout_that_is_not_a_sent_bank_one_changes_nothing(
        self, finance: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        bank, _ = await bank_and_held(session)
        run_id = run_of(await create(finance))
        payout = (await payouts(session_maker, run_id))[bank]
        before = await counts(session_maker)

        pending = await press(finance, run_id, f"payouts/{payout.id}/confirm")
        elsewhere = await press(finance, run_id, f"payouts/{uuid4()}/confirm")

        assert pending.status_code == 409
        assert "Only a sent bank payout can be confirmed as paid." in pending.text
        assert elsewhere.status_code == 404 and "That payout is not part of this run." in elsewhere.text
        assert (await payouts(session_maker, run_id))[bank].status == "pending"
        assert await counts(session_maker) == before

    async def test_stripe_payouts_without_a_stripe_key_are_refused_on_the_page(
        self, finance: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        stripe = await named(session, await partner_with(session, payable=30_000), "Sun Tea Ltd")
        await session.commit()
        run_id = run_of(await create(finance))
        before = await counts(session_maker)

        response = await press(finance, run_id, "execute")

        assert response.status_code == 503
        assert "no Stripe API key is configured" in response.text and "Sun Tea Ltd" in response.text
        assert (await payouts(session_maker, run_id))[stripe].status == "pending"
        assert await counts(session_maker) == before  # no execution_requested audit entry


class TestLanguages:
    async def test_the_pages_in_simplified_chinese(
        self, finance: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        _, held = await bank_and_held(session)
        run_id = run_of(await create(finance))
        zh = HTML | {"accept-language": "zh-CN,zh;q=0.9"}

        listed = await finance.get(PAGES, headers=zh)
        detail = await finance.get(f"{PAGES}/{run_id}?notice=created", headers=zh)
        refused = await create(finance, "2026-13")
        refused_zh = await post_form(finance, PAGES, PAGES, {"period": "2026-13", "currency": "CNY"}, zh)

        assert '<html lang="zh-Hans"' in listed.text
        assert (
            "<h1>付款批次</h1>" in listed.text and "创建付款批次" in listed.text and "待执行" in listed.text
        )
        assert "付款批次 2026-10 CNY" in detail.text and "待发送" in detail.text
        assert "¥120.50" in detail.text and "银行转账" in detail.text and "执行" in detail.text
        assert "没有登记收款账户。" in detail.text.split(f'id="skip-{held}"')[1]
        assert "付款批次已创建" in detail.text
        assert refused.status_code == refused_zh.status_code == 422
        assert "Enter the period as a month" in refused.text
        assert "请按 YYYY-MM 格式输入月份" in refused_zh.text

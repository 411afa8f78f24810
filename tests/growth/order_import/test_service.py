from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from growth.attribution.models import Attribution
from growth.core.errors import Conflict
from growth.core.ports import LeadFacts, LeadLookup, no_leads
from growth.core.time import utc_now
from growth.customer import service as customer_service
from growth.customer.models import Customer
from growth.order.models import Order, OrderLine, OrderTransition
from growth.order_import import service as order_import_service
from growth.order_import.errors import CsvTooLarge, MalformedCsv
from growth.order_import.rules import Outcome, RowResult
from tests.factories import create_campaign, create_customer, issue_code

NOW = datetime(2026, 11, 25, tzinfo=UTC)
ORDERS = "external_id,customer_external_id,customer_email,amount,currency,placed_at,referral_code"
EVENTS = "order_external_id,type,amount,occurred_at,event_id"


def csv_file(header: str, *rows: str) -> bytes:
    return "\n".join([header, *rows, ""]).encode()


def order_row(external_id: str = "o-1", *, amount: str = "19900", **cells: str) -> str:
    values = {
        "customer_external_id": "mei",
        "customer_email": "mei@example.com",
        "currency": "CNY",
        "placed_at": "2026-11-20T10:00:00+08:00",
        "referral_code": "",
        **cells,
    }
    return ",".join(
        [
            external_id,
            values["customer_external_id"],
            values["customer_email"],
            amount,
            values["currency"],
            values["placed_at"],
            values["referral_code"],
        ]
    )


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def import_orders(
    session: AsyncSession, data: bytes, *, lead_lookup: LeadLookup = no_leads, **options: Any
) -> list[RowResult]:
    return await order_import_service.import_orders(
        session,
        chunks(data),
        terms_lookup=campaign_service.get_terms,
        lead_lookup=lead_lookup,
        now=NOW,
        **options,
    )


async def import_events(session: AsyncSession, data: bytes) -> list[RowResult]:
    return await order_import_service.import_events(session, chunks(data), now=NOW)


def summary(results: list[RowResult]) -> list[tuple[int, str | None, str, str | None]]:
    return [(r.line, r.external_id, r.outcome.value, r.error.code if r.error else None) for r in results]


async def count(session: AsyncSession, model: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


class LeadExpired(Conflict):
    pass


async def leads_refusing_expired(
    _session: AsyncSession, reference: str | None, _email_key: str | None
) -> LeadFacts | None:
    """A lead lookup (the port ``payouts`` implements) that refuses one lead, after the order is written."""
    if reference == "EXPIRED":
        raise LeadExpired("lead EXPIRED has expired")
    return None


class TestImportOrders:
    async def test_orders_are_taken_in_and_attributed(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session, name="Spring")
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))

        results = await import_orders(
            session,
            csv_file(
                ORDERS, order_row("o-1", referral_code=code.code.lower()), order_row("o-2", amount="500")
            ),
        )

        assert summary(results) == [(2, "o-1", "created", None), (3, "o-2", "created", None)]
        orders = {o.external_id: o for o in await session.scalars(select(Order))}
        assert orders["o-1"].amount == 19900 and orders["o-2"].amount == 500
        assert {o.source for o in orders.values()} == {"csv"}
        method = await session.scalar(
            select(Attribution.method).where(Attribution.order_id == orders["o-1"].id)
        )
        assert method == "referral_code"

    async def test_a_chunk_of_orders_reads_each_campaign_once(
        self, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(order_import_service, "TERMS_ORDERS", 3)
        campaign = await create_campaign(session, name="Spring")
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        reads: list[Any] = []

        async def counted(session: AsyncSession, campaign_id: Any) -> Any:
            reads.append(campaign_id)
            return await campaign_service.get_terms(session, campaign_id)

        rows = [order_row(f"o-{n}", customer_external_id=f"c-{n}", referral_code=code.code) for n in range(5)]
        results = await order_import_service.import_orders(
            session, chunks(csv_file(ORDERS, *rows)), terms_lookup=counted, lead_lookup=no_leads, now=NOW
        )

        assert [r.outcome for r in results] == [Outcome.created] * 5
        assert reads == [campaign.id, campaign.id]  # orders 1-3, then 4-5
        methods = await session.scalars(select(Attribution.method))
        assert list(methods) == ["referral_code"] * 5

    async def test_broken_rows_are_refused_and_the_good_ones_taken(self, session: AsyncSession) -> None:
        data = csv_file(
            ORDERS,
            order_row("good-1"),
            order_row("bad-amount", amount="199.00"),
            order_row("bad-currency", currency="XYZ"),
            order_row("negative", amount="-100"),
            order_row("absurd", amount="100000000000000000"),
            order_row("bad-date", placed_at="20/11/2026"),
            order_row("naive-date", placed_at="2026-11-20T10:00:00"),
            order_row("future", placed_at="2027-01-01T00:00:00Z"),
            order_row("no-customer", customer_external_id=""),
            order_row("bad-customer", customer_external_id="mei wang"),
            order_row("bad-email", customer_email="not-an-email"),
            order_row("good-2"),
        )

        results = await import_orders(session, data)

        assert summary(results) == [
            (2, "good-1", "created", None),
            (3, "bad-amount", "refused", "invalid_row"),
            (4, "bad-currency", "refused", "invalid_row"),
            (5, "negative", "refused", "invalid_order"),
            (6, "absurd", "refused", "invalid_order"),
            (7, "bad-date", "refused", "invalid_row"),
            (8, "naive-date", "refused", "invalid_row"),
            (9, "future", "refused", "invalid_order"),
            (10, "no-customer", "refused", "invalid_row"),
            (11, "bad-customer", "refused", "invalid_customer"),
            (12, "bad-email", "refused", "invalid_customer"),
            (13, "good-2", "created", None),
        ]
        messages = {r.external_id: r.error.message for r in results if r.error}
        assert messages["negative"] == "amount must not be negative"
        assert "larger than" in messages["absurd"]
        assert "time zone" in messages["naive-date"]
        assert messages["no-customer"] == "customer_external_id is required"
        assert set(await session.scalars(select(Order.external_id))) == {"good-1", "good-2"}
        assert set(await session.scalars(select(Customer.external_id))) == {"mei"}

    async def test_a_row_refused_after_writing_leaves_nothing_behind(self, session: AsyncSession) -> None:
        header = f"{ORDERS},lead_reference,sku,quantity,unit_amount"
        ghost = order_row("o-2", customer_external_id="ghost", customer_email="g@example.com")
        data = csv_file(
            header,
            f"{order_row('o-1')},,TEA,1,19900",
            f"{ghost},EXPIRED,TEA,1,19900",
            f"{order_row('o-3')},,TEA,1,19900",
        )

        results = await import_orders(session, data, lead_lookup=leads_refusing_expired)

        assert summary(results) == [
            (2, "o-1", "created", None),
            (3, "o-2", "refused", "lead_expired"),
            (4, "o-3", "created", None),
        ]
        # The customer, the order and its line of o-2 were written, then rolled back to the savepoint.
        assert set(await session.scalars(select(Order.external_id))) == {"o-1", "o-3"}
        assert await count(session, OrderLine) == 2
        assert await session.scalar(select(Customer).where(Customer.external_id == "ghost")) is None

    async def test_importing_the_same_file_again_changes_nothing(self, session: AsyncSession) -> None:
        data = csv_file(ORDERS, order_row("o-1"), order_row("o-2"), order_row("bad", amount="x"))
        first = await import_orders(session, data)

        again = await import_orders(session, data)

        assert [r.outcome for r in first] == [Outcome.created, Outcome.created, Outcome.refused]
        assert [r.outcome for r in again] == [Outcome.duplicate, Outcome.duplicate, Outcome.refused]
        assert await count(session, Order) == 2 and await count(session, Attribution) == 2

    async def test_the_same_external_id_with_different_content_is_refused(
        self, session: AsyncSession
    ) -> None:
        await import_orders(session, csv_file(ORDERS, order_row("o-1")))

        results = await import_orders(
            session, csv_file(ORDERS, order_row("o-1", amount="29900", currency="USD"), order_row("o-2"))
        )

        assert summary(results) == [(2, "o-1", "refused", "order_conflict"), (3, "o-2", "created", None)]
        error = results[0].error
        assert error is not None
        assert error.message == "order o-1 was already reported with different amount, currency"
        assert (await session.scalar(select(Order.amount).where(Order.external_id == "o-1"))) == 19900

    async def test_an_order_reported_by_the_api_is_a_duplicate(self, session: AsyncSession) -> None:
        from growth.order import service as order_service
        from growth.order.service import OrderIntake

        await order_service.ingest_order(
            session,
            OrderIntake(
                external_id="o-1",
                customer_external_id="mei",
                customer_email="mei@example.com",
                amount=19900,
                currency="CNY",
                placed_at=datetime.fromisoformat("2026-11-20T10:00:00+08:00"),
                source="api",
            ),
            terms_lookup=campaign_service.get_terms,
            lead_lookup=no_leads,
            now=NOW,
        )

        results = await import_orders(session, csv_file(ORDERS, order_row("o-1")))

        assert summary(results) == [(2, "o-1", "duplicate", None)]

    async def test_a_deleted_customer_is_refused(self, session: AsyncSession) -> None:
        await create_customer(session, external_id="gone")
        await customer_service.delete_customer(session, "gone", now=utc_now())

        results = await import_orders(session, csv_file(ORDERS, order_row(customer_external_id="gone")))

        assert summary(results) == [(2, "o-1", "refused", "customer_deleted")]

    async def test_consecutive_rows_of_an_order_are_its_line_items(self, session: AsyncSession) -> None:
        header = f"{ORDERS},sku,quantity,unit_amount,category"
        data = csv_file(
            header,
            f"{order_row('o-1')},TEA-1,2,5000,tea",
            f"{order_row('o-1')},CUP-1,1,9900,",
            f"{order_row('o-2')},TEA-1,1,19900,tea",
            f"{order_row('o-3')},TEA-1,1,100,tea",
            f"{order_row('o-3', amount='1')},CUP-1,1,100,",
            f"{order_row('o-4')},TEA-1,1,19900,tea",
        )

        results = await import_orders(session, data)

        assert summary(results) == [
            (2, "o-1", "created", None),
            (4, "o-2", "created", None),
            (5, "o-3", "refused", "invalid_row"),
            (7, "o-4", "created", None),
        ]
        o1 = await session.scalar(select(Order).where(Order.external_id == "o-1"))
        assert o1 is not None
        lines = await session.execute(
            select(OrderLine.sku, OrderLine.quantity, OrderLine.unit_amount, OrderLine.category)
            .where(OrderLine.order_id == o1.id)
            .order_by(OrderLine.sku)
        )
        assert list(lines) == [("CUP-1", 1, 9900, None), ("TEA-1", 2, 5000, "tea")]
        assert await count(session, OrderLine) == 4

    async def test_more_rows_than_allowed(self, session: AsyncSession) -> None:
        data = csv_file(ORDERS, *(order_row(f"o-{i}") for i in range(4)))

        with pytest.raises(CsvTooLarge, match="more than 3 rows") as raised:
            await import_orders(session, data, max_rows=3)

        assert raised.value.status_code == 413
        assert len(await import_orders(session, data, max_rows=4)) == 4

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"", "the file is empty"),
            (b"\n\n", "the file is empty"),
            (b"o-1,mei,,19900,CNY,2026-11-20T10:00:00Z,\n", "unknown columns 'o-1'"),
            (csv_file(ORDERS, order_row("o-1")) + b"o-2,\xff\xfe\n", "not UTF-8 (line 3)"),
        ],
    )
    async def test_a_malformed_file(self, session: AsyncSession, data: bytes, message: str) -> None:
        with pytest.raises(MalformedCsv) as raised:
            await import_orders(session, data)

        assert message in raised.value.message and raised.value.status_code == 400


class TestImportEvents:
    async def test_events_move_orders_and_illegal_ones_are_refused(self, session: AsyncSession) -> None:
        await import_orders(session, csv_file(ORDERS, order_row("o-1"), order_row("o-2")))
        data = csv_file(
            EVENTS,
            "o-1,paid,,2026-11-21T10:00:00+08:00,ev-1",
            "o-1,refunded,5000,2026-11-22T10:00:00+08:00,ev-2",
            "o-2,refunded,,2026-11-22T10:00:00+08:00,",
            "o-2,shipped,,2026-11-22T10:00:00+08:00,",
            "o-404,paid,,2026-11-22T10:00:00+08:00,",
            "o-2,cancelled,,2026-11-23T10:00:00Z,",
        )

        results = await import_events(session, data)

        assert summary(results) == [
            (2, "o-1", "created", None),
            (3, "o-1", "created", None),
            (4, "o-2", "refused", "illegal_order_transition"),
            (5, "o-2", "refused", "invalid_row"),
            (6, "o-404", "refused", "order_not_found"),
            (7, "o-2", "created", None),
        ]
        assert "cannot apply refunded to a placed order" in (
            results[2].error.message if results[2].error else ""
        )
        statuses = dict((await session.execute(select(Order.external_id, Order.status))).all())
        assert statuses == {"o-1": "paid", "o-2": "cancelled"}
        o1 = await session.scalar(select(Order).where(Order.external_id == "o-1"))
        assert o1 is not None and (o1.paid_amount, o1.refunded_amount) == (19900, 5000)
        sources = set(await session.scalars(select(OrderTransition.source)))
        assert sources == {"csv"}

    async def test_importing_the_same_events_again_is_all_duplicates(self, session: AsyncSession) -> None:
        await import_orders(session, csv_file(ORDERS, order_row("o-1")))
        data = csv_file(
            EVENTS,
            "o-1,paid,,2026-11-21T10:00:00+08:00,",
            "o-1,refunded,5000,2026-11-22T10:00:00+08:00,",
            "o-1,refunded,14900,2026-11-23T10:00:00+08:00,ev-3",
        )
        first = await import_events(session, data)

        again = await import_events(session, data)

        assert [r.outcome for r in first] == [Outcome.created] * 3
        assert [r.outcome for r in again] == [Outcome.duplicate] * 3
        assert await count(session, OrderTransition) == 3
        assert await session.scalar(select(Order.status)) == "refunded"

    async def test_an_event_id_reused_for_another_event_is_refused(self, session: AsyncSession) -> None:
        await import_orders(session, csv_file(ORDERS, order_row("o-1")))
        await import_events(session, csv_file(EVENTS, "o-1,paid,,2026-11-21T10:00:00Z,ev-1"))

        results = await import_events(session, csv_file(EVENTS, "o-1,fulfilled,,2026-11-21T10:00:00Z,ev-1"))

        assert summary(results) == [(2, "o-1", "refused", "order_conflict")]

    async def test_a_header_of_the_orders_file_is_refused(self, session: AsyncSession) -> None:
        with pytest.raises(MalformedCsv, match="unknown columns 'external_id'"):
            await import_events(session, csv_file(ORDERS, order_row()))

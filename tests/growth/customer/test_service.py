from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.customer import service as customer_service
from growth.customer.errors import CustomerDeleted, CustomerNotFound, InvalidCustomer
from growth.customer.models import Customer

NOW = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Customer)) or 0


class TestUpsertCustomer:
    async def test_email_is_trimmed_before_it_is_checked(self, session: AsyncSession) -> None:
        result = await customer_service.upsert_customer(
            session, external_id="trim-1", email="  Mei@Example.com \t"
        )

        assert result.customer.email == "Mei@Example.com"
        assert result.customer.email_key == "mei@example.com"

    async def test_creates_then_updates(self, session: AsyncSession) -> None:
        created = await customer_service.upsert_customer(
            session, external_id="shop-42", email="Li.Wei@Example.com", name="  Li Wei ", locale="zh-CN"
        )
        updated = await customer_service.upsert_customer(
            session, external_id="shop-42", email="wei@example.com"
        )

        assert created.created is True and updated.created is False
        assert updated.customer.id == created.customer.id
        customer = updated.customer
        assert (customer.email, customer.email_key) == ("wei@example.com", "wei@example.com")
        assert (customer.name, customer.locale) == ("Li Wei", "zh-CN")  # fields not given are kept
        assert await _count(session) == 1

    async def test_email_key_folds_case_and_gmail_aliases(self, session: AsyncSession) -> None:
        result = await customer_service.upsert_customer(
            session, external_id="c1", email="Ming.Zhang+promo@GoogleMail.com"
        )

        assert result.customer.email == "Ming.Zhang+promo@GoogleMail.com"
        assert result.customer.email_key == "mingzhang@gmail.com"

    async def test_retries_converge_on_one_row(self, session: AsyncSession) -> None:
        for _ in range(3):
            await customer_service.upsert_customer(session, external_id="retry-1", email="a@example.com")
            await session.commit()

        assert await _count(session) == 1

    async def test_concurrent_upserts_converge_on_one_row(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        async def upsert(n: int) -> tuple[object, bool]:
            async with session_maker() as own:
                result = await customer_service.upsert_customer(
                    own, external_id="race-1", email=f"r{n}@example.com", name=f"Racer {n}"
                )
                await own.commit()
                return result.customer.id, result.created

        results = await asyncio.gather(*[upsert(n) for n in range(8)])

        assert len({customer_id for customer_id, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        assert await _count(session) == 1

    @pytest.mark.parametrize(
        "email",
        [
            "not-an-email",
            "a@b",
            "two@@example.com",
            "spa ce@example.com",
            "@example.com",
            "x" * 65 + "@example.com",
        ],
    )
    async def test_invalid_email_is_refused(self, session: AsyncSession, email: str) -> None:
        with pytest.raises(InvalidCustomer) as excinfo:
            await customer_service.upsert_customer(session, external_id="c1", email=email)

        assert excinfo.value.status_code == 422
        assert await _count(session) == 0

    @pytest.mark.parametrize("external_id", ["", "has space", "x" * 101, "tab\tid", "斜杠", "a/b", "a\nb"])
    async def test_invalid_external_id_is_refused(self, session: AsyncSession, external_id: str) -> None:
        with pytest.raises(InvalidCustomer):
            await customer_service.upsert_customer(session, external_id=external_id, email="a@example.com")

        assert await _count(session) == 0

    @pytest.mark.parametrize("external_id", ["x" * 100, "a.b_c:d@e+f-g", "1"])
    async def test_valid_external_ids(self, session: AsyncSession, external_id: str) -> None:
        result = await customer_service.upsert_customer(session, external_id=external_id)

        assert result.customer.external_id == external_id

    async def test_deleted_customer_cannot_be_upserted_again(self, session: AsyncSession) -> None:
        await customer_service.upsert_customer(session, external_id="gone", email="gone@example.com")
        await customer_service.delete_customer(session, "gone", now=NOW)
        await session.commit()

        with pytest.raises(CustomerDeleted) as excinfo:
            await customer_service.upsert_customer(session, external_id="gone", email="back@example.com")

        assert excinfo.value.status_code == 409


class TestDeleteCustomer:
    async def test_erases_personal_data(self, session: AsyncSession) -> None:
        await customer_service.upsert_customer(
            session, external_id="erase-me", email="erase@example.com", name="Erase Me"
        )
        await customer_service.delete_customer(session, "erase-me", now=NOW)
        await session.commit()
        session.expunge_all()

        customer = await session.scalar(select(Customer).where(Customer.external_id == "erase-me"))
        assert customer is not None
        assert (customer.email, customer.email_key, customer.name) == (None, None, None)
        assert customer.deleted_at == NOW and customer.is_deleted

    async def test_deleted_customer_is_not_found(self, session: AsyncSession) -> None:
        await customer_service.upsert_customer(session, external_id="gone")
        await customer_service.delete_customer(session, "gone", now=NOW)

        with pytest.raises(CustomerNotFound):
            await customer_service.get_customer(session, "gone")
        with pytest.raises(CustomerNotFound):
            await customer_service.delete_customer(session, "gone", now=NOW)

    async def test_unknown_customer_is_not_found(self, session: AsyncSession) -> None:
        with pytest.raises(CustomerNotFound) as excinfo:
            await customer_service.delete_customer(session, "nobody", now=NOW)

        assert excinfo.value.status_code == 404

"""Customer use cases: upsert by the shop's id, read, delete (erasing personal data)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.cache import CUSTOMER_CHANGED, invalidate_after_commit
from growth.customer import repository
from growth.customer.errors import CustomerDeleted, CustomerNotFound, InvalidCustomer
from growth.customer.models import Customer
from growth.customer.rules import is_valid_email, is_valid_external_id, normalize_email


@dataclass(frozen=True)
class Upserted:
    customer: Customer
    created: bool


def _check(external_id: str, email: str | None) -> None:
    if not is_valid_external_id(external_id):
        raise InvalidCustomer("external_id must be 1-100 letters, digits or . _ : @ + -")
    if email is not None and not is_valid_email(email):
        raise InvalidCustomer(f"not an e-mail address: {email[:80]!r}")


def _fields(email: str | None, name: str | None, locale: str | None) -> dict[str, str | None]:
    """The columns the given fields set (None: keep)."""
    fields: dict[str, str | None] = {}
    if email is not None:
        fields |= {"email": email, "email_key": normalize_email(email)}
    if name is not None:
        fields["name"] = name.strip()
    if locale is not None:
        fields["locale"] = locale
    return fields


async def upsert_customer(
    session: AsyncSession,
    *,
    external_id: str,
    email: str | None = None,
    name: str | None = None,
    locale: str | None = None,
) -> Upserted:
    """Create the customer, or update the fields given; retried calls converge on one row."""
    email = email.strip() if email is not None else None
    _check(external_id, email)
    fields = _fields(email, name, locale)
    customer = await repository.get_by_external_id(session, external_id, for_update=True)
    created = False
    if customer is None:
        customer = await repository.insert_new(session, external_id=external_id, **fields)
        created = customer is not None
    if customer is None:
        # A concurrent upsert created it first: update that row instead.
        customer = await repository.get_by_external_id(session, external_id, for_update=True)
        assert customer is not None
    if customer.is_deleted:
        raise CustomerDeleted(f"customer {external_id!r} was deleted and cannot be reused")
    for column, value in fields.items():
        setattr(customer, column, value)
    await session.flush()
    return Upserted(customer, created)


async def get_customer(session: AsyncSession, external_id: str, *, for_update: bool = False) -> Customer:
    """An active customer by the shop's id (its row locked until commit with ``for_update``)."""
    customer = await repository.get_by_external_id(session, external_id, for_update=for_update)
    if customer is None or customer.is_deleted:
        raise CustomerNotFound(f"customer {external_id!r} not found")
    return customer


async def customers_by_id(session: AsyncSession, customer_ids: Collection[UUID]) -> dict[UUID, Customer]:
    """Customers by id, deleted ones included (their name and e-mail are erased)."""
    return {c.id: c for c in await repository.get_many(session, list(customer_ids))}


async def is_customer_email(session: AsyncSession, email: str) -> bool:
    """Does an active customer use this mailbox (any spelling ``normalize_email`` folds together)?"""
    return await repository.has_email_key(session, normalize_email(email))


async def delete_customer(session: AsyncSession, external_id: str, *, now: datetime) -> None:
    """Delete a customer: erase name and e-mail; their codes stop working."""
    customer = await get_customer(session, external_id)
    customer.deleted_at = now
    customer.email = customer.email_key = customer.name = None
    invalidate_after_commit(session, CUSTOMER_CHANGED, str(customer.id))

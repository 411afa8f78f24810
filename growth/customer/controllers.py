from __future__ import annotations

from litestar import Controller, Response, delete, get, put
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from growth.customer import service as customer_service
from growth.customer.models import Customer
from growth.customer.schemas import CustomerRead, CustomerUpsert


def to_read(c: Customer) -> CustomerRead:
    return CustomerRead(
        id=c.id,
        external_id=c.external_id,
        email=c.email,
        name=c.name,
        locale=c.locale,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


class CustomerController(Controller):
    """Customers, keyed by the shop's external id."""

    path = "/api/customers"
    tags = ["Customers"]
    guards = [api_key_guard]
    opt = roles(Role.marketing, Role.shop)
    security = [{"ApiKey": []}]

    @put(
        "/{external_id:str}",
        summary="Create or update a customer by the shop's id (201 created, 200 updated)",
        responses={201: ResponseSpec(data_container=CustomerRead, description="Created")},
    )
    async def upsert_customer(
        self, db_session: AsyncSession, external_id: str, data: CustomerUpsert
    ) -> Response[CustomerRead]:
        result = await customer_service.upsert_customer(
            db_session, external_id=external_id, email=data.email, name=data.name, locale=data.locale
        )
        return Response(to_read(result.customer), status_code=201 if result.created else 200)

    @get("/{external_id:str}", summary="Read a customer")
    async def get_customer(self, db_session: AsyncSession, external_id: str) -> CustomerRead:
        return to_read(await customer_service.get_customer(db_session, external_id))

    @delete("/{external_id:str}", summary="Delete a customer and erase their personal data")
    async def delete_customer(self, db_session: AsyncSession, external_id: str) -> None:
        await customer_service.delete_customer(db_session, external_id, now=utc_now())

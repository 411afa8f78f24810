from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from growth.ledger import service as ledger_service
from growth.ledger.schemas import BalanceRead, RedemptionCreate, RedemptionRead


def _balances(balances: list[ledger_service.Balance]) -> list[BalanceRead]:
    return [BalanceRead(b.bucket, b.amount.amount, b.amount.currency) for b in balances]


class CustomerBalanceController(Controller):
    """What the merchant owes a customer (store credit, cash rewards), summed from the ledger."""

    path = "/api/customers/{external_id:str}"
    tags = ["Customers"]
    guards = [api_key_guard]
    opt = roles(Role.shop, Role.marketing, Role.finance)
    security = [{"ApiKey": []}]

    @get("/balances", summary="A customer's store credit and cash balances")
    async def balances(self, db_session: AsyncSession, external_id: str) -> list[BalanceRead]:
        return _balances(await ledger_service.customer_balances(db_session, external_id))

    @post("/store-credit/redemptions", summary="Take store credit as payment (409 when the balance is short)")
    async def redeem(
        self, db_session: AsyncSession, external_id: str, data: RedemptionCreate
    ) -> RedemptionRead:
        entry = await ledger_service.redeem_store_credit(
            db_session,
            external_id=external_id,
            amount=data.amount,
            currency=data.currency,
            reference=data.reference,
            now=utc_now(),
        )
        balances = await ledger_service.customer_balances(db_session, external_id)
        return RedemptionRead(entry.id, data.reference, entry.occurred_at, _balances(balances))

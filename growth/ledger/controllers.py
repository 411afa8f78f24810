from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from growth.ledger import service as ledger_service
from growth.ledger.schemas import BalanceRead, RedemptionCreate, RedemptionRead


def _balances(balances: list[ledger_service.Balance]) -> list[BalanceRead]:
    return [BalanceRead(b.bucket, b.amount.amount, b.amount.currency) for b in balances]


def _store_credit(balances: list[ledger_service.Balance], currency: str) -> int:
    """The customer's store credit in ``currency``, minor units."""
    return sum(
        b.amount.amount for b in balances if b.bucket == "store_credit" and b.amount.currency == currency
    )


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
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        external_id: str,
        data: RedemptionCreate,
    ) -> RedemptionRead:
        before = _store_credit(await ledger_service.customer_balances(db_session, external_id), data.currency)
        entry = await ledger_service.redeem_store_credit(
            db_session,
            external_id=external_id,
            amount=data.amount,
            currency=data.currency,
            reference=data.reference,
            now=utc_now(),
        )
        balances = await ledger_service.customer_balances(db_session, external_id)
        after = _store_credit(balances, data.currency)
        if after != before:  # a retried reference spends nothing again, and is not recorded again
            await audit_service.record(
                db_session,
                action="store_credit.redeemed",
                subject_type="customer",
                subject_id=external_id,
                before={"balance": before, "currency": data.currency},
                after={"balance": after, "currency": data.currency, "amount": data.amount}
                | {"reference": data.reference, "entry_id": str(entry.id)},
                actor=audit_service.actor_from_request(request),
            )
        return RedemptionRead(entry.id, data.reference, entry.occurred_at, _balances(balances))

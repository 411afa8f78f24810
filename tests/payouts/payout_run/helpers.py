"""Factories for payout-run tests: partners with payout accounts and a payable balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.ledger import service as ledger_service
from payouts.partner.rules import PartnerStatus
from payouts.provider import service as provider_service
from payouts.provider.rules import Destination, ProviderName
from tests.factories import create_partner, verify_for_payouts

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=60)
MINIMUMS = {"CNY": 10_000, "USD": 5_000}


async def make_payable(session: AsyncSession, partner_id: UUID, amount: int, currency: str = "CNY") -> None:
    """Approved commission of ``amount`` owed to the partner (as the commission flow posts it)."""
    await ledger_service.post_entry(
        session,
        reference=f"test:{uuid4()}",
        kind="commission_approved",
        lines=[
            ledger_service.Line(ledger_service.COMMISSION_EXPENSE, amount, currency),
            ledger_service.Line(ledger_service.partner_account(partner_id, "payable"), -amount, currency),
        ],
        occurred_at=LONG_AGO,
    )


async def partner_with(
    session: AsyncSession,
    *,
    payable: int = 20_000,
    currency: str = "CNY",
    provider: ProviderName | None = ProviderName.stripe,
    acct: str | None = None,
    status: PartnerStatus = PartnerStatus.approved,
    tax_form: bool = True,
    changed_at: datetime = LONG_AGO,
) -> UUID:
    partner = await create_partner(session, status=status)
    if provider is ProviderName.stripe:
        destination = Destination(provider, acct or f"acct_{partner.id.hex[:16]}")
    elif provider is ProviderName.bank:
        destination = Destination(provider, None, "Li Wei", "ICBC", "6222 0212 3456 7890")
    if provider is not None:
        await provider_service.set_account(
            session,
            partner.id,
            destination=destination,
            tax_form_type="W-8BEN" if tax_form else None,
            tax_form_on=LONG_AGO.date() if tax_form else None,
            now=changed_at,
        )
    await verify_for_payouts(session, partner.id, now=changed_at, has_account=provider is not None)
    if payable:
        await make_payable(session, partner.id, payable, currency)
    return partner.id


async def owed(session_maker: SessionMaker, partner_id: UUID, bucket: str, currency: str = "CNY") -> int:
    async with session_maker() as s:
        return await ledger_service.liability(s, ledger_service.partner_account(partner_id, bucket), currency)


async def assert_ledger_sound(session_maker: SessionMaker) -> None:
    async with session_maker() as s:
        assert await ledger_service.unbalanced_entries(s) == []

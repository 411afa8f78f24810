"""Payout accounts (finance keeps them; reads are masked) and the providers that pay out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.provider import repository
from payouts.provider.errors import InvalidPayoutAccount, PayoutAccountNotFound
from payouts.provider.errors import ProviderUnavailable as ProviderUnavailable
from payouts.provider.errors import StripeNotConfigured as StripeNotConfigured
from payouts.provider.errors import TransferDeclined as TransferDeclined
from payouts.provider.models import PayoutAccount
from payouts.provider.rules import (
    Destination,
    ProviderName,
    TransferRequest,
    destination_problem,
    is_same_destination,
    normalize_account_number,
)
from payouts.provider.stripe_gateway import StripeProvider

__all__ = [
    "ProviderName",
    "ProviderUnavailable",
    "StripeNotConfigured",
    "TransferDeclined",
    "TransferRequest",
]

log = structlog.get_logger()


def _destination(account: PayoutAccount) -> Destination:
    return Destination(
        provider=ProviderName(account.provider),
        stripe_account_id=account.stripe_account_id,
        bank_holder_name=account.bank_holder_name,
        bank_name=account.bank_name,
        bank_account_number=account.bank_account_number,
    )


async def set_account(
    session: AsyncSession,
    partner_id: UUID,
    *,
    destination: Destination,
    tax_form_type: str | None,
    tax_form_on: date | None,
    now: datetime,
) -> PayoutAccount:
    """Create or replace a partner's payout account; a new destination restarts the cooling-off."""
    await partner_service.get_partner(session, partner_id)
    if destination.bank_account_number is not None:
        number = normalize_account_number(destination.bank_account_number)
        destination = Destination(
            destination.provider, None, destination.bank_holder_name, destination.bank_name, number
        )
    if problem := destination_problem(destination):
        raise InvalidPayoutAccount(problem)
    if destination.provider is ProviderName.stripe:
        destination = Destination(ProviderName.stripe, destination.stripe_account_id)
    account = await repository.get_by_partner(session, partner_id, for_update=True)
    if account is None:
        account = PayoutAccount(partner_id=partner_id, changed_at=now)
        session.add(account)
    elif not is_same_destination(_destination(account), destination):
        account.changed_at = now
    account.provider = destination.provider.value
    account.stripe_account_id = destination.stripe_account_id
    account.bank_holder_name = (destination.bank_holder_name or "").strip() or None
    account.bank_name = (destination.bank_name or "").strip() or None
    account.bank_account_number = destination.bank_account_number
    account.tax_form_type, account.tax_form_on = tax_form_type, tax_form_on
    await session.flush()
    log.info("payouts.provider.account_set", partner_id=str(partner_id), provider=account.provider)
    return account


async def find_account(session: AsyncSession, partner_id: UUID) -> PayoutAccount | None:
    """A partner's payout account, if it has one."""
    return await repository.get_by_partner(session, partner_id)


async def get_account(session: AsyncSession, partner_id: UUID) -> PayoutAccount:
    """A partner's payout account, or ``PayoutAccountNotFound``."""
    account = await repository.get_by_partner(session, partner_id)
    if account is None:
        raise PayoutAccountNotFound(f"partner {partner_id} has no payout account")
    return account


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What a payout run needs to know about a partner's account."""

    provider: ProviderName
    destination: str | None
    """``acct_...`` for Stripe; None for bank (the bank file reads the account itself)."""
    has_tax_form: bool
    changed_at: datetime


async def account_facts(session: AsyncSession, partner_ids: Iterable[UUID]) -> dict[UUID, AccountFacts]:
    """Payout facts of the partners that have an account."""
    return {
        a.partner_id: AccountFacts(
            ProviderName(a.provider),
            a.stripe_account_id,
            a.tax_form_type is not None and a.tax_form_on is not None,
            a.changed_at,
        )
        for a in await repository.by_partners(session, partner_ids)
    }


async def accounts_of(session: AsyncSession, partner_ids: Iterable[UUID]) -> dict[UUID, PayoutAccount]:
    """The full accounts (for the bank file only)."""
    return {a.partner_id: a for a in await repository.by_partners(session, partner_ids)}


class PayoutProvider(Protocol):
    name: str

    async def transfer(self, request: TransferRequest) -> str:
        """Send the money; return the provider's reference. Raise ``TransferDeclined`` or
        ``ProviderUnavailable``."""
        ...


class BankProvider:
    """Bank payouts are 'sent' when they go into the run's bank file; finance confirms them paid."""

    name = "bank"

    async def transfer(self, request: TransferRequest) -> str:
        return f"bank-file:run-{request.run_id}"


def providers(settings: Settings) -> Mapping[str, PayoutProvider]:
    """The configured providers by name."""
    return {
        ProviderName.stripe.value: StripeProvider(settings.stripe_api_key, settings.stripe_api_base),
        ProviderName.bank.value: BankProvider(),
    }

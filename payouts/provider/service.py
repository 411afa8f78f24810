"""Payout accounts (finance keeps them; reads are masked) and the providers that pay out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID

import structlog
from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core import mail
from growth.core.events.service import DomainEvent, Handler, publish
from growth.core.i18n import translations
from growth.core.time import to_local
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.partner.models import Partner
from payouts.partner.rules import Gate
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
    destination_tail,
    is_same_destination,
    mail_locale,
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

ACCOUNT_CHANGED = "payout_account.changed"
"""Published when a partner's payout destination is set or changed; the partner is e-mailed."""


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
    is_first = account is None
    if account is None:
        account = PayoutAccount(partner_id=partner_id, changed_at=now)
        session.add(account)
    is_changed = is_first or not is_same_destination(_destination(account), destination)
    if is_changed:
        # Money goes somewhere new: nobody has checked it yet, and the partner hears about it.
        account.changed_at, account.is_verified, account.verified_at, account.verified_by = (
            now,
            False,
            None,
            None,
        )
        payload = {
            "partner_id": str(partner_id),
            "provider": destination.provider.value,
            "destination_last4": destination_tail(destination),
            "changed_at": now.isoformat(),
            "is_first": is_first,
        }
        await publish(session, ACCOUNT_CHANGED, payload, now=now)
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
    is_verified: bool = False
    """Finance checked the destination since it last changed."""


def _facts(a: PayoutAccount) -> AccountFacts:
    return AccountFacts(
        ProviderName(a.provider),
        a.stripe_account_id,
        a.tax_form_type is not None and a.tax_form_on is not None,
        a.changed_at,
        a.is_verified,
    )


async def account_facts(session: AsyncSession, partner_ids: Iterable[UUID]) -> dict[UUID, AccountFacts]:
    """Payout facts of the partners that have an account."""
    return {a.partner_id: _facts(a) for a in await repository.by_partners(session, partner_ids)}


async def set_account_verified(
    session: AsyncSession, partner_id: UUID, *, is_verified: bool, actor: audit_service.Actor, now: datetime
) -> PayoutAccount:
    """Finance records that it checked the partner's current destination (or takes that back); audited.
    The same state again is no change."""
    account = await repository.get_by_partner(session, partner_id, for_update=True)
    if account is None:
        await partner_service.get_partner(session, partner_id)  # 404 for an unknown partner first
        raise PayoutAccountNotFound(f"partner {partner_id} has no payout account")
    if account.is_verified is is_verified:
        return account
    before = audit_service.snapshot(account, "is_verified", "verified_at", "verified_by")
    account.is_verified = is_verified
    account.verified_at, account.verified_by = (now, actor.name[:200]) if is_verified else (None, None)
    await session.flush()
    await audit_service.record(
        session,
        action="payout_account.verified",
        subject_type="partner",
        subject_id=str(partner_id),
        before=before,
        after=audit_service.snapshot(account, "is_verified", "verified_at", "verified_by"),
        actor=actor,
        now=now,
    )
    return account


@dataclass(frozen=True, slots=True)
class Compliance:
    """Where a partner stands against the payout gates."""

    partner: Partner
    account: PayoutAccount | None
    is_country_blocked: bool
    failing: tuple[Gate, ...]


async def compliance_of(session: AsyncSession, partner_id: UUID, *, blocked: frozenset[str]) -> Compliance:
    """The partner's compliance facts and the gates it fails now (those a payout run would hold it for)."""
    partner = await partner_service.get_partner(session, partner_id)
    account = await repository.get_by_partner(session, partner_id)
    facts = _facts(account) if account else None
    failing = partner_service.compliance_gates(
        partner,
        has_account=facts is not None,
        has_tax_form=facts is not None and facts.has_tax_form,
        is_account_verified=facts is not None and facts.is_verified,
        blocked=blocked,
    )
    return Compliance(partner, account, Gate.country_allowed in failing, failing)


def account_change_mail(
    partner: Partner, payload: dict[str, object], *, cooling_off_days: int, tz: str, locale: str
) -> mail.Mail:
    """The partner's notice that its payout destination changed: the last four characters only."""
    _ = translations(locale).gettext
    changed_at = datetime.fromisoformat(str(payload["changed_at"]))
    ends = format_datetime(to_local(changed_at + timedelta(days=cooling_off_days), tz), locale=locale)
    where = (
        _("the bank account ending in %(last4)s")
        if payload["provider"] == ProviderName.bank.value
        else _("the Stripe account ending in %(last4)s")
    ) % {"last4": payload["destination_last4"]}
    text = "\n\n".join(
        [
            _("Hello %(name)s,") % {"name": partner.name},
            _("Your payouts will now be sent to %(where)s.") % {"where": where},
            _("For your safety, no payout is sent to a new account before %(ends)s.") % {"ends": ends},
            _("If you did not ask for this change, reply to this e-mail or contact us at once."),
        ]
    )
    return mail.Mail(
        to=partner.email, to_name=partner.name, subject=_("Your payout account was changed"), text=text
    )


def make_account_change_mail_handler(settings: Settings) -> Handler:
    """The outbox subscriber of ``payout_account.changed``: e-mails the partner (retried until sent)."""

    async def notify(session: AsyncSession, event: DomainEvent) -> None:
        partner = await partner_service.get_partner(session, UUID(event.payload["partner_id"]))
        message = account_change_mail(
            partner,
            event.payload,
            cooling_off_days=settings.payout_cooling_off_days,
            tz=settings.timezone,
            locale=mail_locale(partner.country, settings.default_locale),
        )
        # A refused mail raises MailNotSent: the outbox rolls this back and tries again later.
        await mail.send(message, smtp_url=settings.smtp_url, sender=settings.mail_from)
        log.info("payouts.provider.account_change_mailed", partner_id=str(partner.id))

    return notify


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

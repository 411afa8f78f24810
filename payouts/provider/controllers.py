"""Payout accounts (finance)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.time import utc_now
from payouts.provider import service as provider_service
from payouts.provider.models import PayoutAccount
from payouts.provider.rules import Destination, ProviderName, mask
from payouts.provider.schemas import PayoutAccountRead, PayoutAccountUpdate, PayoutAccountVerification


def to_read(a: PayoutAccount) -> PayoutAccountRead:
    return PayoutAccountRead(
        partner_id=a.partner_id,
        provider=ProviderName(a.provider),
        stripe_account_id=a.stripe_account_id,
        bank_holder_name=a.bank_holder_name,
        bank_name=a.bank_name,
        bank_account_number_masked=mask(a.bank_account_number),
        tax_form_type=a.tax_form_type,
        tax_form_on=a.tax_form_on,
        changed_at=a.changed_at,
        is_verified=a.is_verified,
        verified_at=a.verified_at,
        verified_by=a.verified_by,
    )


class PayoutAccountController(Controller):
    """Where a partner is paid (finance); account numbers are shown masked."""

    path = "/api/partners/{partner_id:uuid}/payout-account"
    tags = ["Payouts"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @put(
        "/",
        summary="Set the partner's payout account (a new destination restarts the cooling-off, clears the "
        "verification and e-mails the partner)",
    )
    async def set_account(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        partner_id: UUID,
        data: PayoutAccountUpdate,
    ) -> PayoutAccountRead:
        previous = await provider_service.find_account(db_session, partner_id)
        before = to_read(previous) if previous else None  # masked, as the API shows it
        destination = Destination(
            data.provider,
            data.stripe_account_id,
            data.bank_holder_name,
            data.bank_name,
            data.bank_account_number,
        )
        account = await provider_service.set_account(
            db_session,
            partner_id,
            destination=destination,
            tax_form_type=data.tax_form_type,
            tax_form_on=data.tax_form_on,
            now=utc_now(),
        )
        after = to_read(account)
        await audit_service.record(
            db_session,
            action="payout_account.set",
            subject_type="partner",
            subject_id=str(partner_id),
            before=msgspec.to_builtins(before) if before else None,
            after=msgspec.to_builtins(after),
            actor=audit_service.actor_from_request(request),
        )
        return after

    @get("/", summary="The partner's payout account (masked)")
    async def get_account(self, db_session: AsyncSession, partner_id: UUID) -> PayoutAccountRead:
        return to_read(await provider_service.get_account(db_session, partner_id))

    @post(
        "/verification",
        summary="Record that finance verified the payout destination (or takes it back; audited)",
        status_code=200,
    )
    async def set_verified(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        partner_id: UUID,
        data: PayoutAccountVerification,
    ) -> PayoutAccountRead:
        account = await provider_service.set_account_verified(
            db_session,
            partner_id,
            is_verified=data.is_verified,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
        )
        return to_read(account)

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.lead.models import Lead
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus


def _matching(email_key: str | None, company_key: str | None) -> ColumnElement[bool]:
    # Only the keys given: comparing with None would match every lead without that key.
    conditions = []
    if email_key is not None:
        conditions.append(Lead.email_key == email_key)
    if company_key is not None:
        conditions.append(Lead.company_key == company_key)
    return or_(*conditions)


async def lock_held(session: AsyncSession, *, email_key: str | None, company_key: str | None) -> list[Lead]:
    """The leads holding either key, locked in id order (expired ones are released under this lock)."""
    query = (
        select(Lead)
        .where(Lead.released_at.is_(None), _matching(email_key, company_key))
        .order_by(Lead.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def lock_held_by_partner(session: AsyncSession, partner_id: UUID) -> list[Lead]:
    query = (
        select(Lead)
        .where(Lead.partner_id == partner_id, Lead.released_at.is_(None))
        .order_by(Lead.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def get(session: AsyncSession, lead_id: UUID) -> Lead | None:
    return await session.get(Lead, lead_id)


async def list_for_partner(session: AsyncSession, partner_id: UUID, *, limit: int, offset: int) -> list[Lead]:
    query = (
        select(Lead)
        .where(Lead.partner_id == partner_id)
        .order_by(Lead.registered_at.desc(), Lead.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(query))


async def attributable_by_reference(session: AsyncSession, reference: str) -> Lead | None:
    query = (
        select(Lead)
        .join(Partner, Partner.id == Lead.partner_id)
        .where(Lead.reference == reference, Partner.status == PartnerStatus.approved.value)
    )
    return await session.scalar(query)


async def attributable_by_email_key(session: AsyncSession, email_key: str) -> Lead | None:
    query = (
        select(Lead)
        .join(Partner, Partner.id == Lead.partner_id)
        .where(Lead.email_key == email_key, Partner.status == PartnerStatus.approved.value)
        .order_by(Lead.registered_at.desc(), Lead.id.desc())
        .limit(1)
    )
    return await session.scalar(query)

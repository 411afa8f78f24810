"""Partner use cases on a real database: applications, the lifecycle, and what it does to codes and leads."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from growth.referral_code.errors import ReferralCodeNotFound
from payouts.lead import service as lead_service
from payouts.lead.rules import LeadStatus
from payouts.partner import service as partner_service
from payouts.partner.errors import (
    InvalidPartner,
    PartnerNotApproved,
    PartnerNotFound,
    PartnerStatusChangeRefused,
)
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus
from tests.factories import create_campaign, create_partner

UNKNOWN_ID = UUID("0191b7a2-0000-7000-8000-000000000000")


async def _issue(session: AsyncSession, partner: Partner, campaign: Campaign) -> str:
    issued = await partner_service.issue_partner_code(
        session, partner_id=partner.id, campaign_id=campaign.id, terms_lookup=campaign_service.get_terms
    )
    return issued.referral_code.code


async def _works(session: AsyncSession, code: str) -> bool:
    try:
        await referral_code_service.resolve_code(session, code, terms_lookup=campaign_service.get_terms)
    except ReferralCodeNotFound:
        return False
    return True


async def _move(
    session: AsyncSession, partner: Partner, status: PartnerStatus, reason: str | None = "why"
) -> Partner:
    return await partner_service.change_status(
        session, partner.id, status=status, reason=reason, now=utc_now()
    )


class TestCreatePartner:
    async def test_stores_the_profile(self, session: AsyncSession) -> None:
        now = utc_now()
        partner = await partner_service.create_partner(
            session,
            name=" Northwind ",
            email=" Ops.Team+x@GMail.com ",
            company=" Northwind Consulting Ltd ",
            website="https://northwind.example",
            country="cn",
            now=now,
        )

        assert (partner.name, partner.email, partner.email_key) == (
            "Northwind",
            "Ops.Team+x@GMail.com",
            "opsteam@gmail.com",
        )
        assert (partner.company, partner.website, partner.country) == (
            "Northwind Consulting Ltd",
            "https://northwind.example",
            "CN",
        )
        assert (partner.status, partner.approved_at, partner.status_changed_at) == ("approved", now, now)

    async def test_an_applicant_is_not_approved_yet(self, session: AsyncSession) -> None:
        partner = await create_partner(session, status=PartnerStatus.applied)

        assert partner.approved_at is None

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"country": "ZZ"}, "country must be an ISO 3166-1 alpha-2 code"),
            ({"website": "northwind.example"}, "website must be an http:// or https:// address"),
            ({"email": "nope"}, "not an e-mail address"),
        ],
    )
    async def test_invalid_profile(self, session: AsyncSession, fields: dict[str, str], message: str) -> None:
        with pytest.raises(InvalidPartner, match=message):
            await partner_service.create_partner(session, **{"name": "N", "email": "a@example.com", **fields})


class TestApply:
    async def test_creates_an_applicant(self, session: AsyncSession) -> None:
        applied = await partner_service.apply(
            session,
            name="Jane Consulting",
            email="jane@consult.example",
            company="Jane Consulting GmbH",
            website="https://consult.example",
            message="We advise 40 retailers.",
            now=utc_now(),
        )

        assert applied.created
        p = applied.partner
        assert (p.status, p.application_message, p.approved_at) == (
            "applied",
            "We advise 40 retailers.",
            None,
        )

    @pytest.mark.parametrize(
        "status", [PartnerStatus.applied, PartnerStatus.approved, PartnerStatus.suspended]
    )
    async def test_an_open_partnership_gets_no_second_application(
        self, session: AsyncSession, status: PartnerStatus
    ) -> None:
        first = await create_partner(session, email="jane.doe@gmail.com", status=status)

        again = await partner_service.apply(session, name="Jane", email="Jane.Doe+2@GMail.com", now=utc_now())

        assert (again.created, again.partner.id) == (False, first.id)
        assert await session.scalar(select(func.count()).select_from(Partner)) == 1

    async def test_a_closed_partner_may_apply_again(self, session: AsyncSession) -> None:
        closed = await create_partner(session, email="jane@consult.example", status=PartnerStatus.closed)

        again = await partner_service.apply(session, name="Jane", email="jane@consult.example", now=utc_now())

        assert again.created and again.partner.id != closed.id

    async def test_invalid_email(self, session: AsyncSession) -> None:
        with pytest.raises(InvalidPartner):
            await partner_service.apply(session, name="Jane", email="jane", now=utc_now())


class TestChangeStatus:
    async def test_approve_an_applicant(self, session: AsyncSession) -> None:
        partner = await create_partner(session, status=PartnerStatus.applied)
        now = utc_now()

        moved = await partner_service.change_status(
            session, partner.id, status=PartnerStatus.approved, reason=" looks good ", now=now
        )

        assert (moved.status, moved.status_reason, moved.approved_at, moved.status_changed_at) == (
            "approved",
            "looks good",
            now,
            now,
        )

    async def test_reapproval_keeps_the_first_approval(self, session: AsyncSession) -> None:
        partner = await create_partner(session)
        first_approved = partner.approved_at
        await _move(session, partner, PartnerStatus.suspended)

        moved = await _move(session, partner, PartnerStatus.approved, None)

        assert moved.approved_at == first_approved and moved.status_reason is None

    @pytest.mark.parametrize(
        ("start", "target"),
        [
            (PartnerStatus.closed, PartnerStatus.approved),
            (PartnerStatus.closed, PartnerStatus.applied),
            (PartnerStatus.applied, PartnerStatus.suspended),
            (PartnerStatus.approved, PartnerStatus.applied),
        ],
    )
    async def test_illegal_moves_name_the_current_status(
        self, session: AsyncSession, start: PartnerStatus, target: PartnerStatus
    ) -> None:
        partner = await create_partner(session, status=start)

        with pytest.raises(PartnerStatusChangeRefused) as refused:
            await _move(session, partner, target)

        assert refused.value.details == {"current_status": start.value}
        assert partner.status == start.value

    async def test_the_same_status_again_changes_nothing(self, session: AsyncSession) -> None:
        partner = await create_partner(session, status=PartnerStatus.suspended)
        before = (partner.status_reason, partner.status_changed_at)

        moved = await _move(session, partner, PartnerStatus.suspended, "another reason")

        assert (moved.status_reason, moved.status_changed_at) == before

    @pytest.mark.parametrize("target", [PartnerStatus.suspended, PartnerStatus.closed])
    async def test_suspending_or_closing_needs_a_reason(
        self, session: AsyncSession, target: PartnerStatus
    ) -> None:
        partner = await create_partner(session)

        with pytest.raises(InvalidPartner, match="reason"):
            await _move(session, partner, target, "  ")

    async def test_unknown_partner(self, session: AsyncSession) -> None:
        with pytest.raises(PartnerNotFound):
            await partner_service.change_status(
                session, UNKNOWN_ID, status=PartnerStatus.approved, reason=None, now=utc_now()
            )


class TestCodesFollowTheStatus:
    async def test_suspension_stops_codes_and_reapproval_gives_them_back(self, session: AsyncSession) -> None:
        partner = await create_partner(session)
        spring, autumn = await create_campaign(session), await create_campaign(session)
        code, other = await _issue(session, partner, spring), await _issue(session, partner, autumn)

        await _move(session, partner, PartnerStatus.suspended, "chargebacks")
        assert not await _works(session, code) and not await _works(session, other)
        with pytest.raises(PartnerNotApproved):
            await _issue(session, partner, spring)

        await _move(session, partner, PartnerStatus.approved, None)
        assert await _works(session, code) and await _works(session, other)
        assert await _issue(session, partner, spring) == code  # the same code, not a new one

    async def test_a_code_revoked_before_the_suspension_stays_revoked(self, session: AsyncSession) -> None:
        partner = await create_partner(session)
        campaign = await create_campaign(session)
        revoked, kept = (
            await _issue(session, partner, campaign),
            await _issue(session, partner, await create_campaign(session)),
        )
        await referral_code_service.revoke_code(
            session, revoked, terms_lookup=campaign_service.get_terms, now=utc_now() - timedelta(days=1)
        )

        await _move(session, partner, PartnerStatus.suspended)
        await _move(session, partner, PartnerStatus.approved, None)

        assert not await _works(session, revoked) and await _works(session, kept)

    @pytest.mark.parametrize("via_suspension", [False, True])
    async def test_closing_stops_codes_for_good(self, session: AsyncSession, via_suspension: bool) -> None:
        partner = await create_partner(session)
        code = await _issue(session, partner, await create_campaign(session))
        if via_suspension:
            await _move(session, partner, PartnerStatus.suspended)

        await _move(session, partner, PartnerStatus.closed, "contract ended")

        assert not await _works(session, code)
        with pytest.raises(PartnerStatusChangeRefused):
            await _move(session, partner, PartnerStatus.approved, None)

    async def test_other_partners_codes_are_untouched(self, session: AsyncSession) -> None:
        partner, other = await create_partner(session), await create_partner(session)
        campaign = await create_campaign(session)
        await _issue(session, partner, campaign)
        others = await _issue(session, other, campaign)

        await _move(session, partner, PartnerStatus.suspended)

        assert await _works(session, others)


class TestLeadsFollowTheStatus:
    async def test_closing_releases_leads_and_suspending_keeps_them(self, session: AsyncSession) -> None:
        partner = await create_partner(session)
        now = utc_now()
        lead = (
            await lead_service.register_lead(
                session,
                partner_id=partner.id,
                email="p@prospect.example",
                company=None,
                valid_days=90,
                now=now,
            )
        ).lead

        await _move(session, partner, PartnerStatus.suspended)
        assert lead_service.status_of(lead, now=utc_now()) is LeadStatus.active

        await _move(session, partner, PartnerStatus.closed)
        assert lead_service.status_of(lead, now=utc_now()) is LeadStatus.released


class TestListPartners:
    async def test_filter_by_status_newest_first(self, session: AsyncSession) -> None:
        a = await create_partner(session, status=PartnerStatus.applied)
        await create_partner(session)
        b = await create_partner(session, status=PartnerStatus.applied)

        listed = await partner_service.list_partners(session, status=PartnerStatus.applied)

        assert [p.id for p in listed] == [b.id, a.id]
        assert len(await partner_service.list_partners(session)) == 3
        assert len(await partner_service.list_partners(session, limit=1, offset=2)) == 1

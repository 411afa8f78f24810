"""Lead use cases on a real database: first partner wins, re-registration, customers, the lookup."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.core.email import normalize_email
from growth.core.time import utc_now
from growth.customer import service as customer_service
from payouts.lead import service as lead_service
from payouts.lead.errors import InvalidLead, LeadAlreadyRegistered, LeadNotFound, ProspectIsCustomer
from payouts.lead.models import Lead
from payouts.lead.rules import LeadStatus
from payouts.partner import service as partner_service
from payouts.partner.errors import PartnerNotApproved, PartnerNotFound
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus
from tests.factories import create_customer, create_partner

UNKNOWN_ID = UUID("0191b7a2-0000-7000-8000-000000000000")
PROSPECT = "prospect@example.com"


async def register(
    session: AsyncSession,
    partner: Partner,
    *,
    email: str | None = PROSPECT,
    company: str | None = None,
    now: datetime | None = None,
    valid_days: int = 90,
) -> lead_service.Registered:
    return await lead_service.register_lead(
        session,
        partner_id=partner.id,
        email=email,
        company=company,
        valid_days=valid_days,
        now=now or utc_now(),
    )


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Lead)) or 0


class TestRegisterLead:
    async def test_registers_a_prospect(self, session: AsyncSession) -> None:
        partner = await create_partner(session)
        now = utc_now()

        registered = await lead_service.register_lead(
            session,
            partner_id=partner.id,
            email=" Jane.Doe+work@GMail.com ",
            company="Acme Trading Co., Ltd.",
            contact_name=" Jane Doe ",
            note="met at the fair",
            valid_days=30,
            now=now,
        )

        lead = registered.lead
        assert registered.created
        assert (lead.email, lead.email_key, lead.company, lead.company_key) == (
            "Jane.Doe+work@GMail.com",
            "janedoe@gmail.com",
            "Acme Trading Co., Ltd.",
            "acme trading",
        )
        assert (lead.contact_name, lead.note) == ("Jane Doe", "met at the fair")
        assert (lead.registered_at, lead.expires_at) == (now, now + timedelta(days=30))
        assert lead.reference.startswith("L-") and len(lead.reference) == 8
        assert lead_service.status_of(lead, now=now) is LeadStatus.active

    @pytest.mark.parametrize(
        ("first", "again"),
        [
            ({"email": "jane.doe@gmail.com"}, {"email": "Jane.Doe+x@googlemail.com"}),
            ({"email": None, "company": "Acme Ltd"}, {"email": None, "company": "ACME, Inc."}),
            ({"email": PROSPECT, "company": "Acme"}, {"email": None, "company": "acme gmbh"}),
            ({"email": PROSPECT}, {"email": PROSPECT, "company": "A company nobody holds"}),
        ],
        ids=["email-variant", "company-variant", "company-of-an-email-lead", "plus-a-new-company"],
    )
    async def test_the_same_partner_again_gets_its_lead(
        self, session: AsyncSession, first: dict[str, str | None], again: dict[str, str | None]
    ) -> None:
        partner = await create_partner(session)
        original = await register(session, partner, **first)  # type: ignore[arg-type]

        repeated = await register(session, partner, **again)  # type: ignore[arg-type]

        assert (repeated.created, repeated.lead.id) == (False, original.lead.id)
        assert await _count(session) == 1

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ({"email": "jane.doe@gmail.com"}, {"email": "JaneDoe@gmail.com"}),
            (
                {"email": None, "company": "北京字节跳动科技有限公司"},
                {"email": None, "company": "北京字节跳动科技"},
            ),
            ({"email": PROSPECT}, {"email": PROSPECT, "company": "Acme"}),
            (
                {"email": None, "company": "Acme"},
                {"email": "someone.else@example.com", "company": "ACME LTD"},
            ),
        ],
        ids=["email", "company", "email-with-a-new-company", "company-with-a-new-email"],
    )
    async def test_first_partner_wins(
        self, session: AsyncSession, first: dict[str, str | None], second: dict[str, str | None]
    ) -> None:
        winner, other = await create_partner(session), await create_partner(session)
        await register(session, winner, **first)  # type: ignore[arg-type]

        with pytest.raises(LeadAlreadyRegistered) as refused:
            await register(session, other, **second)  # type: ignore[arg-type]

        assert refused.value.message == "this prospect is already registered by another partner"
        assert str(winner.id) not in refused.value.message and winner.name not in refused.value.message
        assert await _count(session) == 1

    async def test_holding_email_and_company_of_two_partners_is_refused(self, session: AsyncSession) -> None:
        a, b, me = await create_partner(session), await create_partner(session), await create_partner(session)
        await register(session, a, email=PROSPECT)
        await register(session, b, email=None, company="Acme")
        await register(session, me, email="mine@example.com")

        with pytest.raises(LeadAlreadyRegistered):
            await register(session, me, email="mine@example.com", company="Acme")

    async def test_after_expiry_another_partner_may_register(self, session: AsyncSession) -> None:
        first, second = await create_partner(session), await create_partner(session)
        now = utc_now()
        old = (await register(session, first, now=now - timedelta(days=91))).lead

        new = await register(session, second, now=now)

        assert new.created and new.lead.partner_id == second.id
        assert old.released_at == old.expires_at
        assert lead_service.status_of(old, now=now) is LeadStatus.expired

    async def test_after_expiry_the_same_partner_registers_anew(self, session: AsyncSession) -> None:
        partner = await create_partner(session)
        now = utc_now()
        old = (await register(session, partner, now=now - timedelta(days=91))).lead

        new = await register(session, partner, now=now)

        assert new.created and new.lead.id != old.id and new.lead.reference != old.reference
        assert new.lead.expires_at == now + timedelta(days=90)

    @pytest.mark.parametrize("email", ["Customer.One@Example.com", "customer.one@example.com"])
    async def test_a_customer_is_not_a_prospect(self, session: AsyncSession, email: str) -> None:
        await create_customer(session, email="customer.one@example.com")
        partner = await create_partner(session)

        with pytest.raises(ProspectIsCustomer):
            await register(session, partner, email=email)

        assert await _count(session) == 0

    async def test_a_gmail_customer_under_another_spelling(self, session: AsyncSession) -> None:
        await create_customer(session, email="jane.doe@gmail.com")

        with pytest.raises(ProspectIsCustomer):
            await register(session, await create_partner(session), email="JaneDoe+spring@googlemail.com")

    async def test_a_deleted_customer_may_be_a_prospect_again(self, session: AsyncSession) -> None:
        customer = await create_customer(session, email=PROSPECT)
        await customer_service.delete_customer(session, customer.external_id, now=utc_now())

        assert (await register(session, await create_partner(session))).created

    async def test_a_partner_cannot_register_itself(self, session: AsyncSession) -> None:
        partner = await create_partner(session, email="ops@northwind.example")

        with pytest.raises(InvalidLead, match="itself"):
            await register(session, partner, email="OPS@northwind.example")

    @pytest.mark.parametrize("status", [PartnerStatus.applied, PartnerStatus.suspended, PartnerStatus.closed])
    async def test_only_approved_partners_register(
        self, session: AsyncSession, status: PartnerStatus
    ) -> None:
        partner = await create_partner(session, status=status)

        with pytest.raises(PartnerNotApproved):
            await register(session, partner)

    async def test_unknown_partner(self, session: AsyncSession) -> None:
        with pytest.raises(PartnerNotFound):
            await lead_service.register_lead(
                session, partner_id=UNKNOWN_ID, email=PROSPECT, company=None, valid_days=90, now=utc_now()
            )

    @pytest.mark.parametrize(
        ("email", "company", "days"),
        [(None, None, 90), ("nope", None, 90), (None, "!!", 90), (PROSPECT, None, 0)],
        ids=["nothing", "bad-email", "no-letters", "zero-days"],
    )
    async def test_invalid(
        self, session: AsyncSession, email: str | None, company: str | None, days: int
    ) -> None:
        with pytest.raises(InvalidLead):
            await register(
                session, await create_partner(session), email=email, company=company, valid_days=days
            )

    async def test_a_closed_partners_prospects_are_free_again(self, session: AsyncSession) -> None:
        closed, other = await create_partner(session), await create_partner(session)
        await register(session, closed, company="Acme")
        await partner_service.change_status(
            session, closed.id, status=PartnerStatus.closed, reason="left", now=utc_now()
        )

        assert (await register(session, other, company="Acme")).created


class TestReferences:
    async def test_a_taken_reference_is_drawn_again(
        self, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        drawn = iter(["L-AAAAAA", "L-AAAAAA", "L-BBBBBB"])
        monkeypatch.setattr(lead_service, "generate_reference", lambda: next(drawn))
        partner = await create_partner(session)

        first = await register(session, partner, email="a@example.com")
        second = await register(session, partner, email="b@example.com")

        assert (first.lead.reference, second.lead.reference) == ("L-AAAAAA", "L-BBBBBB")
        assert second.created and await _count(session) == 2


class TestConcurrentRegistrations:
    async def test_the_database_refuses_the_second_of_two_overlapping_registrations(
        self, session_maker: SessionMaker, postgres_only: None
    ) -> None:
        async with session_maker() as setup, setup.begin():
            first_partner, second_partner = await create_partner(setup), await create_partner(setup)

        async with session_maker() as first, session_maker() as second, session_maker() as watcher:
            await first.begin()
            won = await register(first, first_partner)  # inserted, not yet committed

            async def second_registers() -> lead_service.Registered:
                async with second.begin():
                    return await register(second, second_partner)

            racing = asyncio.create_task(second_registers())
            # The second saw no lead (the first is uncommitted) and now waits on the unique index.
            for _ in range(200):
                waiting = await watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
                await watcher.rollback()
                if waiting:
                    break
                await asyncio.sleep(0.02)
            assert waiting, "the second registration never waited for the first"
            await first.commit()

            with pytest.raises(LeadAlreadyRegistered):
                await racing

        async with session_maker() as check:
            leads = list(await check.scalars(select(Lead)))
        assert [(x.id, x.partner_id) for x in leads] == [(won.lead.id, first_partner.id)]

    @pytest.mark.parametrize("same_partner", [False, True])
    async def test_many_at_once_one_lead(self, session_maker: SessionMaker, same_partner: bool) -> None:
        async with session_maker() as setup, setup.begin():
            partners = [await create_partner(setup) for _ in range(1 if same_partner else 5)]

        async def attempt(partner: Partner) -> lead_service.Registered | str:
            async with session_maker() as s, s.begin():
                try:
                    return await register(s, partner, company="Acme Ltd")
                except LeadAlreadyRegistered as exc:
                    return exc.code()

        outcomes = await asyncio.gather(*(attempt(p) for p in partners * (5 if same_partner else 1)))

        created = [o for o in outcomes if isinstance(o, lead_service.Registered) and o.created]
        assert len(created) == 1
        if same_partner:
            assert {o.lead.id for o in outcomes if isinstance(o, lead_service.Registered)} == {
                created[0].lead.id
            }
        else:
            assert sorted(o for o in outcomes if isinstance(o, str)) == ["lead_already_registered"] * 4
        async with session_maker() as check:
            assert await _count(check) == 1


class TestReadLeads:
    async def test_a_partner_reads_only_its_own(self, session: AsyncSession) -> None:
        mine, theirs = await create_partner(session), await create_partner(session)
        first = (await register(session, mine, email="a@example.com")).lead
        second = (await register(session, mine, email="b@example.com")).lead
        other = (await register(session, theirs, email="c@example.com")).lead

        assert [x.id for x in await lead_service.list_leads(session, mine.id)] == [second.id, first.id]
        assert (await lead_service.get_lead(session, first.id, partner_id=mine.id)).id == first.id
        with pytest.raises(LeadNotFound):
            await lead_service.get_lead(session, other.id, partner_id=mine.id)
        with pytest.raises(PartnerNotFound):
            await lead_service.list_leads(session, UNKNOWN_ID)


class TestFindLead:
    async def test_by_reference_as_typed(self, session: AsyncSession) -> None:
        lead = (await register(session, await create_partner(session))).lead

        found = await lead_service.find_lead(session, f"  {lead.reference.lower()} ", None)

        assert found is not None
        assert (found.id, found.partner_id, found.reference) == (lead.id, lead.partner_id, lead.reference)
        assert (found.registered_at, found.expires_at) == (lead.registered_at, lead.expires_at)

    async def test_by_the_customers_email_key(self, session: AsyncSession) -> None:
        lead = (await register(session, await create_partner(session), email="Jane.Doe@gmail.com")).lead

        found = await lead_service.find_lead(session, None, normalize_email("janedoe+shop@gmail.com"))

        assert found is not None and found.id == lead.id

    async def test_the_reference_comes_first(self, session: AsyncSession) -> None:
        by_email = (await register(session, await create_partner(session), email=PROSPECT)).lead
        by_reference = (await register(session, await create_partner(session), email="x@example.com")).lead

        found = await lead_service.find_lead(session, by_reference.reference, PROSPECT)

        assert found is not None and found.id == by_reference.id
        unknown_reference = await lead_service.find_lead(session, "L-000000", PROSPECT)
        assert unknown_reference is not None and unknown_reference.id == by_email.id

    async def test_the_newest_lead_on_an_email(self, session: AsyncSession) -> None:
        now = utc_now()
        await register(session, await create_partner(session), now=now - timedelta(days=100))
        newer = (await register(session, await create_partner(session), now=now)).lead

        found = await lead_service.find_lead(session, None, PROSPECT)

        assert found is not None and found.id == newer.id

    async def test_an_expired_lead_is_found_for_attribution_to_refuse(self, session: AsyncSession) -> None:
        old = (
            await register(session, await create_partner(session), now=utc_now() - timedelta(days=100))
        ).lead

        found = await lead_service.find_lead(session, None, PROSPECT)

        assert found is not None and found.id == old.id and found.expires_at < utc_now()

    @pytest.mark.parametrize("status", [PartnerStatus.suspended, PartnerStatus.closed])
    async def test_leads_of_a_partner_that_is_not_approved_are_not_found(
        self, session: AsyncSession, status: PartnerStatus
    ) -> None:
        partner = await create_partner(session)
        lead = (await register(session, partner)).lead
        await partner_service.change_status(session, partner.id, status=status, reason="why", now=utc_now())

        assert await lead_service.find_lead(session, lead.reference, PROSPECT) is None

    @pytest.mark.parametrize(
        ("reference", "email_key"),
        [(None, None), ("", ""), ("not a reference", None), (None, "nobody@example.com"), ("L-ZZZZZZ", None)],
    )
    async def test_nothing_found(
        self, session: AsyncSession, reference: str | None, email_key: str | None
    ) -> None:
        await register(session, await create_partner(session))

        assert await lead_service.find_lead(session, reference, email_key) is None

    async def test_a_company_only_lead_is_not_found_by_email(self, session: AsyncSession) -> None:
        await register(session, await create_partner(session), email=None, company="Acme")

        assert await lead_service.find_lead(session, None, "buyer@acme.example") is None

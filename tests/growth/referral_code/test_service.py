from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.rules import CampaignStatus
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.customer import service as customer_service
from growth.customer.errors import CustomerNotFound
from growth.referral_code import service as referral_code_service
from growth.referral_code.errors import (
    CampaignEnded,
    CampaignUnavailable,
    InvalidVanityCode,
    ReferralCodeNotFound,
    ReferrerHasCode,
    VanityCodeTaken,
)
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import ALPHABET
from growth.referral_code.service import Referrer
from tests.factories import create_campaign, create_customer, create_partner

NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
UNKNOWN_ID = UUID("0191b7a2-0000-7000-8000-000000000000")


async def _count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def _issue(
    session: AsyncSession, campaign_id: UUID, customer_id: UUID, vanity: str | None = None
) -> referral_code_service.Issued:
    return await referral_code_service.issue_code(
        session,
        campaign_id=campaign_id,
        referrer=Referrer(customer_id=customer_id),
        terms_lookup=campaign_service.get_terms,
        vanity_code=vanity,
    )


async def _resolve(session: AsyncSession, code: str) -> referral_code_service.ResolvedCode:
    return await referral_code_service.resolve_code(session, code, terms_lookup=campaign_service.get_terms)


class TestIssueCode:
    async def test_generated_code_is_8_crockford_characters(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)

        issued = await _issue(session, campaign.id, customer.id)

        code = issued.referral_code
        assert issued.created is True
        assert len(code.code) == 8 and set(code.code) <= set(ALPHABET)
        assert not set(code.code) & set("ILOU")
        assert code.code_key == code.code and code.is_vanity is False
        assert (code.campaign_id, code.customer_id, code.partner_id) == (campaign.id, customer.id, None)

    async def test_issuing_twice_returns_the_same_code(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)

        first = await _issue(session, campaign.id, customer.id)
        await session.commit()
        second = await _issue(session, campaign.id, customer.id)

        assert (first.created, second.created) == (True, False)
        assert second.referral_code.id == first.referral_code.id
        assert await _count(session, ReferralCode) == 1
        assert await _count(session, OutboxEvent) == 1  # no second event for the same code

    async def test_each_referrer_and_campaign_gets_its_own_code(self, session: AsyncSession) -> None:
        spring, autumn = await create_campaign(session), await create_campaign(session)
        alice, bob = await create_customer(session), await create_customer(session)

        codes = {
            (await _issue(session, campaign.id, customer.id)).referral_code.code
            for campaign in (spring, autumn)
            for customer in (alice, bob)
        }

        assert len(codes) == 4

    async def test_vanity_code_keeps_its_case(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)

        issued = await _issue(session, campaign.id, customer.id, "Mei_Spring-25")

        assert issued.referral_code.code == "Mei_Spring-25"
        assert issued.referral_code.code_key == "MEI_SPRING-25"
        assert issued.referral_code.is_vanity is True

    async def test_asking_again_for_the_same_vanity_code_returns_it(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        first = await _issue(session, campaign.id, customer.id, "MeiMei")

        again = await _issue(session, campaign.id, customer.id, "meimei")

        assert again.created is False and again.referral_code.id == first.referral_code.id

    async def test_vanity_code_taken_case_insensitively(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        alice, bob = await create_customer(session), await create_customer(session)
        await _issue(session, campaign.id, alice.id, "SpringSale")
        await session.commit()

        with pytest.raises(VanityCodeTaken) as excinfo:
            await _issue(session, campaign.id, bob.id, "springsale")

        assert excinfo.value.status_code == 409 and excinfo.value.code() == "vanity_code_taken"
        assert await _count(session, ReferralCode) == 1
        # Bob may still get a code of his own: the failed attempt left nothing behind.
        assert (await _issue(session, campaign.id, bob.id)).created is True

    async def test_vanity_code_taken_in_another_campaign(self, session: AsyncSession) -> None:
        spring, autumn = await create_campaign(session), await create_campaign(session)
        alice, bob = await create_customer(session), await create_customer(session)
        await _issue(session, spring.id, alice.id, "Lucky-7")

        with pytest.raises(VanityCodeTaken):
            await _issue(session, autumn.id, bob.id, "LUCKY-7")

    async def test_referrer_with_a_different_code_is_a_conflict(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await _issue(session, campaign.id, customer.id)

        with pytest.raises(ReferrerHasCode) as excinfo:
            await _issue(session, campaign.id, customer.id, "MyOwnCode")

        assert excinfo.value.status_code == 409

    @pytest.mark.parametrize("vanity", ["admin", "API", "Share", "health", "partners"])
    async def test_reserved_word_is_refused(self, session: AsyncSession, vanity: str) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)

        with pytest.raises(InvalidVanityCode) as excinfo:
            await _issue(session, campaign.id, customer.id, vanity)

        assert excinfo.value.status_code == 422
        assert await _count(session, ReferralCode) == 0

    @pytest.mark.parametrize("vanity", ["ab", "x" * 33, "has space", "emoji😀", "dot.ted", "美妆"])
    async def test_malformed_vanity_code_is_refused(self, session: AsyncSession, vanity: str) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)

        with pytest.raises(InvalidVanityCode):
            await _issue(session, campaign.id, customer.id, vanity)

    async def test_ended_campaign_issues_no_new_codes(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session, status=CampaignStatus.ended)
        customer = await create_customer(session)

        with pytest.raises(CampaignEnded) as excinfo:
            await _issue(session, campaign.id, customer.id)

        assert excinfo.value.status_code == 409

    async def test_ended_campaign_still_returns_an_existing_code(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        first = await _issue(session, campaign.id, customer.id)
        await campaign_service.update_campaign(session, campaign.id, status=CampaignStatus.ended)

        again = await _issue(session, campaign.id, customer.id)

        assert again.created is False and again.referral_code.id == first.referral_code.id

    @pytest.mark.parametrize("status", [CampaignStatus.draft, CampaignStatus.paused])
    async def test_draft_and_paused_campaigns_issue_codes(
        self, session: AsyncSession, status: CampaignStatus
    ) -> None:
        campaign = await create_campaign(
            session, status=CampaignStatus.active if status is CampaignStatus.paused else status
        )
        if status is CampaignStatus.paused:
            await campaign_service.update_campaign(session, campaign.id, status=status)

        assert (await _issue(session, campaign.id, (await create_customer(session)).id)).created

    async def test_unknown_campaign_is_not_found(self, session: AsyncSession) -> None:
        customer = await create_customer(session)

        with pytest.raises(CampaignUnavailable) as excinfo:
            await _issue(session, UNKNOWN_ID, customer.id)

        assert excinfo.value.status_code == 404

    async def test_unknown_customer_is_not_found(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)

        with pytest.raises(CustomerNotFound):
            await referral_code_service.issue_customer_code(
                session,
                customer_external_id="nobody",
                campaign_id=campaign.id,
                terms_lookup=campaign_service.get_terms,
            )

    async def test_deleted_customer_gets_no_code(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await customer_service.delete_customer(session, customer.external_id, now=NOW)

        with pytest.raises(CustomerNotFound):
            await referral_code_service.issue_customer_code(
                session,
                customer_external_id=customer.external_id,
                campaign_id=campaign.id,
                terms_lookup=campaign_service.get_terms,
            )

    async def test_partner_code(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        partner = await create_partner(session)

        issued = await referral_code_service.issue_code(
            session,
            campaign_id=campaign.id,
            referrer=Referrer(partner_id=partner.id),
            terms_lookup=campaign_service.get_terms,
        )

        assert (issued.referral_code.partner_id, issued.referral_code.customer_id) == (partner.id, None)

    def test_a_referrer_is_a_customer_or_a_partner(self) -> None:
        with pytest.raises(ValueError):
            Referrer()
        with pytest.raises(ValueError):
            Referrer(customer_id=UNKNOWN_ID, partner_id=UNKNOWN_ID)


class TestOutbox:
    async def test_issued_event_is_written_in_the_same_transaction(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await session.commit()

        issued = await _issue(session, campaign.id, customer.id)

        event = await session.scalar(select(OutboxEvent))
        assert event is not None and event.name == "referral_code.issued"
        assert event.processed_at is None
        assert event.payload == {
            "referral_code_id": str(issued.referral_code.id),
            "code": issued.referral_code.code,
            "campaign_id": str(campaign.id),
            "customer_id": str(customer.id),
            "partner_id": None,
        }
        await session.commit()
        async with session_maker() as other:
            assert await _count(other, ReferralCode) == 1
            assert await _count(other, OutboxEvent) == 1

    async def test_rollback_discards_the_code_and_its_event(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await session.commit()
        await _issue(session, campaign.id, customer.id)
        assert await _count(session, OutboxEvent) == 1

        await session.rollback()

        assert await _count(session, ReferralCode) == 0
        assert await _count(session, OutboxEvent) == 0
        await session.rollback()
        async with session_maker() as other:
            assert await _count(other, ReferralCode) == 0
            assert await _count(other, OutboxEvent) == 0

    async def test_refused_vanity_code_publishes_nothing(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        alice, bob = await create_customer(session), await create_customer(session)
        await _issue(session, campaign.id, alice.id, "Taken")

        with pytest.raises(VanityCodeTaken):
            await _issue(session, campaign.id, bob.id, "TAKEN")

        assert await _count(session, OutboxEvent) == 1


class TestConcurrentIssue:
    async def test_concurrent_calls_make_one_code(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await session.commit()

        async def issue() -> tuple[str, bool]:
            async with session_maker() as own:
                issued = await _issue(own, campaign.id, customer.id)
                await own.commit()
                return issued.referral_code.code, issued.created

        results = await asyncio.gather(*[issue() for _ in range(10)])

        assert len({code for code, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        assert await _count(session, ReferralCode) == 1
        assert await _count(session, OutboxEvent) == 1

    async def test_concurrent_calls_with_one_vanity_code_make_one_code(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await session.commit()

        async def issue() -> str:
            async with session_maker() as own:
                issued = await _issue(own, campaign.id, customer.id, "Hot-Deal")
                await own.commit()
                return issued.referral_code.code

        assert set(await asyncio.gather(*[issue() for _ in range(10)])) == {"Hot-Deal"}
        assert await _count(session, ReferralCode) == 1


class TestResolveCode:
    async def test_resolves_case_insensitively(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        code = (await _issue(session, campaign.id, customer.id)).referral_code

        for typed in (code.code, code.code.lower(), code.code.swapcase()):
            resolved = await _resolve(session, typed)
            assert resolved.referral_code.id == code.id
            assert resolved.customer is not None and resolved.customer.id == customer.id
            assert resolved.terms.id == campaign.id

    @pytest.mark.parametrize("typed", ["7KOM1QZ1", "7k0mIqz1", "7KOMLQZL", "7kom-iqzl", "7K0M1QZ1"])
    async def test_accepts_crockford_look_alikes(self, session: AsyncSession, typed: str) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        code = (await _issue(session, campaign.id, customer.id, "7K0M1QZ1")).referral_code

        assert (await _resolve(session, typed)).referral_code.id == code.id

    async def test_exact_code_wins_over_a_look_alike(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        alice, bob = await create_customer(session), await create_customer(session)
        digits = (await _issue(session, campaign.id, alice.id, "AB0CD1EF")).referral_code
        letters = (await _issue(session, campaign.id, bob.id, "ABOCDIEF")).referral_code

        assert (await _resolve(session, "abocdief")).referral_code.id == letters.id
        assert (await _resolve(session, "ab0cd1ef")).referral_code.id == digits.id

    @pytest.mark.parametrize("typed", ["ZZZZ9999", "ab", "x" * 40, "bad code", "a.b", ""])
    async def test_unknown_or_malformed_is_not_found(self, session: AsyncSession, typed: str) -> None:
        await _issue(session, (await create_campaign(session)).id, (await create_customer(session)).id)

        with pytest.raises(ReferralCodeNotFound):
            await _resolve(session, typed)

    async def test_revoked_code_is_not_found(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        code = (await _issue(session, campaign.id, customer.id)).referral_code

        revoked = await referral_code_service.revoke_code(
            session, code.code.lower(), terms_lookup=campaign_service.get_terms, now=NOW
        )

        assert revoked.id == code.id and revoked.revoked_at == NOW
        with pytest.raises(ReferralCodeNotFound):
            await _resolve(session, code.code)

    async def test_revoked_vanity_code_stays_reserved(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        alice, bob = await create_customer(session), await create_customer(session)
        await _issue(session, campaign.id, alice.id, "Keep-Me")
        await referral_code_service.revoke_code(
            session, "Keep-Me", terms_lookup=campaign_service.get_terms, now=NOW
        )

        with pytest.raises(VanityCodeTaken):
            await _issue(session, campaign.id, bob.id, "keep-me")

    async def test_code_of_a_deleted_customer_is_not_found(self, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        code = (await _issue(session, campaign.id, customer.id)).referral_code
        await customer_service.delete_customer(session, customer.external_id, now=NOW)

        with pytest.raises(ReferralCodeNotFound):
            await _resolve(session, code.code)


class TestLinks:
    def test_links_live_under_the_base_url(self) -> None:
        links = referral_code_service.links_for(
            "Mei_Spring", base_url="https://growth.test/", secret="s3cret"
        )

        assert links.link == "https://growth.test/r/Mei_Spring"
        assert links.qr_png_url == "https://growth.test/r/Mei_Spring/qr.png"
        assert links.qr_svg_url == "https://growth.test/r/Mei_Spring/qr.svg"
        assert links.share_url.startswith("https://growth.test/share/Mei_Spring.")

    def test_share_url_depends_on_the_secret(self) -> None:
        one = referral_code_service.links_for("ABCDEFGH", base_url="https://g.test", secret="one")
        two = referral_code_service.links_for("ABCDEFGH", base_url="https://g.test", secret="two")

        assert one.link == two.link and one.share_url != two.share_url

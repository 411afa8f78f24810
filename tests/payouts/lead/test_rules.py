"""Lead rules: the prospect's keys, references, validity, and first partner wins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from payouts.lead.rules import (
    MAX_VALID_DAYS,
    Claim,
    LeadStatus,
    Prospect,
    claim,
    company_key,
    expires_at,
    generate_reference,
    lead_status,
    prospect,
    reference_key,
    valid_days_problem,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class TestCompanyKey:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("Acme", "acme"),
            ("  ACME   Trading  ", "acme trading"),
            ("Acme Ltd", "acme"),
            ("Acme Ltd.", "acme"),
            ("Acme, Inc.", "acme"),
            ("ACME CO., LTD.", "acme"),
            ("Acme Pty Ltd", "acme"),
            ("Acme Holdings LLC", "acme holdings"),
            ("Müller GmbH", "müller"),
            ("MÜLLER GMBH", "müller"),
            ("Straße AG", "strasse"),
            ("\uff21\uff43\uff4d\uff45\u3000\uff2c\uff54\uff44", "acme"),  # full-width "Acme Ltd"
            ("北京字节跳动科技有限公司", "北京字节跳动科技"),
            ("阿里巴巴（中国）有限公司", "阿里巴巴 中国"),
            ("华为技术有限责任公司", "华为技术"),
            ("平安银行股份有限公司", "平安银行"),
            ("トヨタ株式会社", "トヨタ"),
            ("Ernst & Young", "ernst young"),
            # A name that is only a legal form keeps it rather than becoming nothing.
            ("Company", "company"),
            ("有限公司", "有限公司"),
            ("Limited Ltd", "limited"),
        ],
    )
    def test_key(self, name: str, expected: str) -> None:
        assert company_key(name) == expected

    @pytest.mark.parametrize("name", ["", "   ", "...", "&"])
    def test_no_letters_no_key(self, name: str) -> None:
        assert company_key(name) is None

    @pytest.mark.parametrize(
        "variants",
        [
            ["Acme", "ACME Ltd", "acme, inc.", "Acme Limited", "  acme  corp "],
            ["字节跳动有限公司", "字节跳动"],
        ],
    )
    def test_variants_share_one_key(self, variants: list[str]) -> None:
        assert len({company_key(v) for v in variants}) == 1


class TestProspect:
    def test_email_and_company(self) -> None:
        assert prospect(" Jane.Doe+x@GMail.com ", " Acme   Ltd ") == Prospect(
            "Jane.Doe+x@GMail.com", "janedoe@gmail.com", "Acme Ltd", "acme"
        )

    def test_email_only(self) -> None:
        assert prospect("Bob@Example.com", None) == Prospect("Bob@Example.com", "bob@example.com", None, None)

    def test_company_only(self) -> None:
        assert prospect(None, "Acme GmbH") == Prospect(None, None, "Acme GmbH", "acme")

    @pytest.mark.parametrize(
        ("email", "company", "expected"),
        [
            (None, None, "a lead needs the prospect's e-mail or company name"),
            ("  ", " ", "a lead needs the prospect's e-mail or company name"),
            ("not-an-email", None, "not an e-mail address: 'not-an-email'"),
            ("a b@example.com", "Acme", "not an e-mail address: 'a b@example.com'"),
            (None, "--", "the company name has no letters or digits"),
        ],
    )
    def test_problems(self, email: str | None, company: str | None, expected: str) -> None:
        assert prospect(email, company) == expected


class TestClaim:
    def test_free(self) -> None:
        assert claim(uuid4(), []) is Claim.free

    def test_own(self) -> None:
        me = uuid4()
        assert claim(me, [me, me]) is Claim.own

    @pytest.mark.parametrize("mine_too", [False, True])
    def test_taken_when_any_holder_is_another_partner(self, mine_too: bool) -> None:
        me = uuid4()
        assert claim(me, [uuid4(), *([me] if mine_too else [])]) is Claim.taken


class TestReference:
    def test_generated_references_look_alike_and_differ(self) -> None:
        refs = {generate_reference() for _ in range(200)}
        assert len(refs) == 200
        assert all(re.fullmatch(r"L-[0-9A-HJKMNP-TV-Z]{6}", r) for r in refs)

    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("L-7K3M9Q", "L-7K3M9Q"),
            ("l-7k3m9q", "L-7K3M9Q"),
            (" L-7K3M9Q ", "L-7K3M9Q"),
            ("7K3M9Q", "L-7K3M9Q"),
            ("L7K3M9Q", "L-7K3M9Q"),
            ("L-7K3M9O", "L-7K3M90"),  # O typed for zero
            ("L-1I1L00", "L-111100"),  # I and L typed for one
        ],
    )
    def test_typed_references(self, typed: str, expected: str) -> None:
        assert reference_key(typed) == expected

    @pytest.mark.parametrize("typed", ["", "L-", "L-7K3M9", "L-7K3M9QQ", "L-7K3M9U", "L-7K3M9!", "SPRING24"])
    def test_not_references(self, typed: str) -> None:
        assert reference_key(typed) is None


class TestValidity:
    @pytest.mark.parametrize("days", [1, 90, MAX_VALID_DAYS])
    def test_valid_days(self, days: int) -> None:
        assert valid_days_problem(days) is None

    @pytest.mark.parametrize("days", [0, -1, MAX_VALID_DAYS + 1])
    def test_invalid_days(self, days: int) -> None:
        assert valid_days_problem(days) is not None

    def test_expires_after_the_days(self) -> None:
        assert expires_at(NOW, 90) == NOW + timedelta(days=90)

    @pytest.mark.parametrize(
        ("now", "released_at", "expected"),
        [
            (NOW - timedelta(seconds=1), None, LeadStatus.active),
            (NOW, None, LeadStatus.expired),  # the end is exclusive
            (NOW + timedelta(days=1), None, LeadStatus.expired),
            (NOW + timedelta(days=1), NOW, LeadStatus.expired),  # released at its expiry
            (NOW - timedelta(days=5), NOW - timedelta(days=10), LeadStatus.released),  # its partner closed
            (NOW + timedelta(days=5), NOW - timedelta(days=10), LeadStatus.released),
        ],
    )
    def test_status(self, now: datetime, released_at: datetime | None, expected: LeadStatus) -> None:
        assert lead_status(expires_at=NOW, released_at=released_at, now=now) is expected

"""Customers: one key per mailbox, and checks of the e-mail and the shop's external id."""

from __future__ import annotations

import pytest

from growth.customer.rules import is_valid_email, is_valid_external_id, normalize_email


class TestNormalizeEmail:
    @pytest.mark.parametrize(
        ("email", "expected"),
        [
            ("alice@example.com", "alice@example.com"),
            ("Alice@Example.COM", "alice@example.com"),
            ("  bob@example.com \n", "bob@example.com"),
            # Gmail ignores dots and +tags, and googlemail.com is the same mailbox.
            ("J.O.H.N+promo@GMail.com", "john@gmail.com"),
            ("john.smith@gmail.com", "johnsmith@gmail.com"),
            ("johnsmith+a+b@gmail.com", "johnsmith@gmail.com"),
            ("John.Smith+Spring@googlemail.com", "johnsmith@gmail.com"),
            ("johnsmith@googlemail.com", "johnsmith@gmail.com"),
            # Elsewhere dots and +tags may be different mailboxes: kept.
            ("john+tag@example.com", "john+tag@example.com"),
            ("j.ohn@example.com", "j.ohn@example.com"),
            ("John.Smith+Tag@Outlook.com", "john.smith+tag@outlook.com"),
            ("john@gmail.com.evil.example", "john@gmail.com.evil.example"),
            ("j.ohn+x@mail.gmail.com", "j.ohn+x@mail.gmail.com"),
        ],
    )
    def test_normalize(self, email: str, expected: str) -> None:
        assert normalize_email(email) == expected

    @pytest.mark.parametrize(
        "variants",
        [
            [
                "john.smith@gmail.com",
                "JohnSmith@gmail.com",
                "john.smith+shop@googlemail.com",
                "j.o.h.n.s.m.i.t.h@GMAIL.COM",
            ],
            ["Mei@Example.cn", "mei@example.cn", " MEI@EXAMPLE.CN"],
        ],
    )
    def test_one_key_per_mailbox(self, variants: list[str]) -> None:
        assert len({normalize_email(email) for email in variants}) == 1

    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ("john+a@example.com", "john+b@example.com"),
            ("john.smith@example.com", "johnsmith@example.com"),
            ("john@gmail.com", "john@example.com"),
        ],
    )
    def test_different_mailboxes_stay_different(self, left: str, right: str) -> None:
        assert normalize_email(left) != normalize_email(right)


class TestIsValidEmail:
    @pytest.mark.parametrize(
        "email",
        [
            "a@b.co",
            "alice@example.com",
            "first.last+tag@sub.example.com",
            "x" * 64 + "@example.com",
            "李雷@例子.中国",
            "o'brien@example.ie",
        ],
    )
    def test_accepts(self, email: str) -> None:
        assert is_valid_email(email)

    @pytest.mark.parametrize(
        "email",
        [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "alice@bob@example.com",
            "alice smith@example.com",
            "alice@exa mple.com",
            " alice@example.com",
            "alice@example.com ",
            "alice\t@example.com",
            "x" * 65 + "@example.com",  # local part over 64
            "a@" + "b" * 315 + ".com",  # over 320 in all
        ],
    )
    def test_refuses(self, email: str) -> None:
        assert not is_valid_email(email)

    def test_refuses_trailing_newline(self) -> None:
        assert not is_valid_email("alice@example.com\n")


class TestIsValidExternalId:
    @pytest.mark.parametrize(
        "external_id",
        [
            "1",
            "cus_123",
            "shopify:gid-42",
            "user@shop.example",
            "a.b_c:d@e+f-g",
            "x" * 100,
        ],
    )
    def test_accepts(self, external_id: str) -> None:
        assert is_valid_external_id(external_id)

    @pytest.mark.parametrize(
        "external_id",
        [
            "",
            "x" * 101,
            "has space",
            " leading",
            "trailing ",
            "a/b",
            "a\\b",
            "../etc/passwd",
            "a\x00b",
            "a\tb",
            "a\rb",
            "a\nb",
            "a\x1bb",
            "a\x7fb",
            "ümlaut",
            "客户1",
            "a#b",
            "a?b",
            "a%2Fb",
        ],
    )
    def test_refuses(self, external_id: str) -> None:
        assert not is_valid_external_id(external_id)

    @pytest.mark.parametrize("external_id", ["cus_123\n", "x" * 100 + "\n"], ids=["short", "100-chars"])
    def test_refuses_trailing_newline(self, external_id: str) -> None:
        assert not is_valid_external_id(external_id)

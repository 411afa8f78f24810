"""Referral codes: generation, case-insensitive keys, hand-typed look-alikes, vanity codes, share tokens."""

from __future__ import annotations

import string

import pytest

from growth.referral_code.rules import (
    ALPHABET,
    GENERATED_LENGTH,
    RESERVED_WORDS,
    code_key,
    generate_code,
    is_well_formed,
    share_token,
    typed_code_key,
    vanity_problem,
    verify_share_token,
)

SECRET = "test-secret-not-for-production"
OTHER_SECRET = "another-secret"


class TestAlphabet:
    def test_is_crockford_base32(self) -> None:
        assert len(ALPHABET) == len(set(ALPHABET)) == 32
        assert set(ALPHABET) <= set(string.digits + string.ascii_uppercase)
        assert not set(ALPHABET) & set("ILOU")


class TestGenerateCode:
    def test_shape(self) -> None:
        for _ in range(1_000):
            code = generate_code()
            assert len(code) == GENERATED_LENGTH == 8
            assert set(code) <= set(ALPHABET)
            assert not set(code) & set("ILOU")

    def test_draws_are_distinct(self) -> None:
        codes = [generate_code() for _ in range(10_000)]
        # 40 bits: a single collision among 10,000 draws has a probability of about 5e-5.
        assert len(set(codes)) >= 9_999

    def test_uses_the_whole_alphabet(self) -> None:
        seen = set("".join(generate_code() for _ in range(2_000)))
        assert seen == set(ALPHABET)

    def test_generated_codes_are_their_own_keys(self) -> None:
        for _ in range(200):
            code = generate_code()
            assert code_key(code) == code
            assert typed_code_key(code) == code
            assert is_well_formed(code)


class TestCodeKey:
    @pytest.mark.parametrize(
        ("code", "key"),
        [
            ("abcd2345", "ABCD2345"),
            ("ABCD2345", "ABCD2345"),
            ("AbCd2345", "ABCD2345"),
            ("spring-Sale_1", "SPRING-SALE_1"),
        ],
    )
    def test_upper_case_key(self, code: str, key: str) -> None:
        assert code_key(code) == key

    @pytest.mark.parametrize(
        ("left", "right"), [("summer", "SUMMER"), ("Summer", "sUMMER"), ("k7mq2xp9", "K7MQ2XP9")]
    )
    def test_case_insensitive(self, left: str, right: str) -> None:
        assert code_key(left) == code_key(right)

    def test_different_codes_have_different_keys(self) -> None:
        assert code_key("summer") != code_key("winter")


class TestTypedCodeKey:
    @pytest.mark.parametrize(
        ("typed", "key"),
        [
            ("K7MQ2XP9", "K7MQ2XP9"),
            ("k7mq2xp9", "K7MQ2XP9"),
            ("OOOOOOOO", "00000000"),
            ("oil23456", "01123456"),
            ("OIL23456", "01123456"),
            ("ABCDEFGI", "ABCDEFG1"),
            ("ABCDEFGL", "ABCDEFG1"),
            ("ABCD-EFGH", "ABCDEFGH"),  # a hyphen typed for readability
            ("abcd-efgo", "ABCDEFG0"),
        ],
    )
    def test_fixes_look_alikes(self, typed: str, key: str) -> None:
        assert typed_code_key(typed) == key

    @pytest.mark.parametrize(
        "typed",
        [
            "",
            "ABCDEFG",  # 7
            "ABCDEFGHJ",  # 9
            "ABCDEFGU",  # U is not in the alphabet
            "ABCD EFG",
            "ABCD_EFG",
            "ABCDEFG!",
            "ABCDEFG１",  # a full-width digit  # noqa: RUF001
            "summer",
            "spring-sale-2026",
        ],
    )
    def test_none_for_anything_else(self, typed: str) -> None:
        assert typed_code_key(typed) is None


class TestVanityProblem:
    @pytest.mark.parametrize(
        "code", ["abc", "ABC", "a" * 32, "Spring-Sale_2026", "anna_li", "007", "ANNA2026", "admins"]
    )
    def test_accepts(self, code: str) -> None:
        assert vanity_problem(code) is None
        assert is_well_formed(code)

    @pytest.mark.parametrize(
        "code",
        [
            "",
            "ab",  # 2 characters
            "a" * 33,  # 33 characters
            "has space",
            " abc",
            "abc ",
            "café",
            "美妆新品",
            "ＡＢＣ",  # full-width letters  # noqa: RUF001
            "abc\u0661\u0662\u0663",  # Arabic-Indic digits
            "a.b.c",
            "a/b/c",
            "a\\bc",
            "abc?x=1",
            "abc#top",
            "abc%20",
            "abc\tdef",
            "abc\x00",
            "a+bc",
            "😀😀😀",
        ],
    )
    def test_refuses_malformed(self, code: str) -> None:
        assert vanity_problem(code) is not None
        assert not is_well_formed(code)

    @pytest.mark.parametrize("code", ["summer\n", "ABCD2345\n"])
    def test_refuses_trailing_newline(self, code: str) -> None:
        assert vanity_problem(code) is not None
        assert not is_well_formed(code)

    @pytest.mark.parametrize("word", sorted(RESERVED_WORDS))
    @pytest.mark.parametrize("case", [str.lower, str.upper, str.title, str.swapcase])
    def test_refuses_reserved_words_in_any_case(self, word: str, case: object) -> None:
        code = case(word)  # type: ignore[operator]
        assert vanity_problem(code) is not None

    @pytest.mark.parametrize("code", ["admin", "API", "Static", "SHARE", "favicon", "Partners", "null"])
    def test_reserved_message(self, code: str) -> None:
        problem = vanity_problem(code)
        assert problem is not None and "reserved" in problem

    @pytest.mark.parametrize("word", ["admin", "api", "r", "s", "static", "share", "login", "webhooks"])
    def test_route_prefixes_are_reserved(self, word: str) -> None:
        assert word in RESERVED_WORDS


class TestIsWellFormed:
    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            ("K7MQ2XP9", True),
            ("k7mq2xp9", True),
            ("summer", True),
            ("admin", True),  # well-formed; only vanity_problem refuses reserved words
            ("abc", True),
            ("a" * 32, True),
            ("ab", False),
            ("a" * 33, False),
            ("", False),
            ("abc.def", False),
            ("abc/def", False),
            ("../etc", False),
            ("abc def", False),
            ("é" * 5, False),
        ],
    )
    def test_well_formed(self, code: str, expected: bool) -> None:
        assert is_well_formed(code) is expected


class TestShareToken:
    @pytest.mark.parametrize("code", ["K7MQ2XP9", "summer", "Spring-Sale_2026", "a" * 32, "a-b_c"])
    def test_round_trip(self, code: str) -> None:
        token = share_token(SECRET, code)
        assert token.startswith(f"{code}.")
        assert verify_share_token(SECRET, token) == code

    def test_signature_is_url_safe_and_unpadded(self) -> None:
        _, _, signature = share_token(SECRET, "K7MQ2XP9").rpartition(".")
        assert len(signature) >= 20
        assert set(signature) <= set(string.ascii_letters + string.digits + "-_")

    def test_stable(self) -> None:
        assert share_token(SECRET, "K7MQ2XP9") == share_token(SECRET, "K7MQ2XP9")

    def test_signature_depends_on_the_code_and_the_secret(self) -> None:
        signatures = {
            share_token(SECRET, "K7MQ2XP9").rpartition(".")[2],
            share_token(SECRET, "K7MQ2XP8").rpartition(".")[2],
            share_token(OTHER_SECRET, "K7MQ2XP9").rpartition(".")[2],
        }
        assert len(signatures) == 3

    def test_code_case_does_not_matter(self) -> None:
        # The signature covers the code's key, so the link works however the code is cased.
        token = share_token(SECRET, "summer")
        signature = token.rpartition(".")[2]
        assert share_token(SECRET, "SUMMER").rpartition(".")[2] == signature
        assert verify_share_token(SECRET, f"SUMMER.{signature}") == "SUMMER"

    @pytest.mark.parametrize(
        "make_token",
        [
            pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="last-char-changed"),
            pytest.param(lambda t: t[:-1], id="truncated"),
            pytest.param(lambda t: t + "A", id="extended"),
            pytest.param(lambda t: t + "=", id="padded"),
            pytest.param(lambda t: t.rpartition(".")[0] + ".", id="empty-signature"),
            pytest.param(lambda t: t.replace(".", ""), id="missing-dot"),
            pytest.param(lambda t: t.rpartition(".")[0], id="code-only"),
            pytest.param(lambda t: "." + t.rpartition(".")[2], id="signature-only"),
            pytest.param(lambda t: "OTHERCOD." + t.rpartition(".")[2], id="another-code"),
            pytest.param(lambda t: "K7MQ2XP8." + t.rpartition(".")[2], id="neighbouring-code"),
            pytest.param(lambda t: "admin/../K7MQ2XP9." + t.rpartition(".")[2], id="malformed-code"),
            pytest.param(lambda t: "", id="empty"),
            pytest.param(lambda t: ".", id="dot"),
        ],
    )
    def test_tampered_tokens_are_refused(self, make_token: object) -> None:
        genuine = share_token(SECRET, "K7MQ2XP9")
        tampered = make_token(genuine)  # type: ignore[operator]
        assert tampered != genuine
        assert verify_share_token(SECRET, tampered) is None

    def test_another_secret_is_refused(self) -> None:
        assert verify_share_token(OTHER_SECRET, share_token(SECRET, "K7MQ2XP9")) is None
        assert verify_share_token(SECRET, share_token(OTHER_SECRET, "K7MQ2XP9")) is None

    def test_token_for_a_different_code_is_refused(self) -> None:
        mine = share_token(SECRET, "summer")
        theirs = share_token(SECRET, "winter")
        assert verify_share_token(SECRET, "winter." + mine.rpartition(".")[2]) is None
        assert verify_share_token(SECRET, "summer." + theirs.rpartition(".")[2]) is None

    @pytest.mark.parametrize("signature", ["é", "签名" * 11], ids=["accented", "chinese"])
    def test_non_ascii_signature_is_refused(self, signature: str) -> None:
        assert verify_share_token(SECRET, f"K7MQ2XP9.{signature}") is None

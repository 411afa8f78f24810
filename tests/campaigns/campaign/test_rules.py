"""Campaign rules: the status machine, landing URLs and hashtags."""

from __future__ import annotations

import itertools

import pytest

from campaigns.campaign.rules import (
    TRANSITIONS,
    CampaignStatus,
    can_move,
    hashtag_problem,
    landing_url_problem,
    normalize_hashtag,
)

S = CampaignStatus
# Every (current, target) pair and whether the move is legal.
TRANSITION_TABLE: dict[tuple[CampaignStatus, CampaignStatus], bool] = {
    (S.draft, S.draft): True,
    (S.draft, S.active): True,
    (S.draft, S.paused): False,  # a campaign that never ran cannot be paused
    (S.draft, S.ended): True,
    (S.active, S.draft): False,
    (S.active, S.active): True,
    (S.active, S.paused): True,
    (S.active, S.ended): True,
    (S.paused, S.draft): False,
    (S.paused, S.active): True,
    (S.paused, S.paused): True,
    (S.paused, S.ended): True,
    (S.ended, S.draft): False,
    (S.ended, S.active): False,
    (S.ended, S.paused): False,
    (S.ended, S.ended): True,
}


class TestCanMove:
    def test_table_covers_every_pair(self) -> None:
        assert set(TRANSITION_TABLE) == set(itertools.product(CampaignStatus, repeat=2))
        assert set(TRANSITIONS) == set(CampaignStatus)

    @pytest.mark.parametrize(
        ("current", "target", "legal"),
        [(current, target, legal) for (current, target), legal in TRANSITION_TABLE.items()],
        ids=[f"{current}->{target}" for current, target in TRANSITION_TABLE],
    )
    def test_transition(self, current: CampaignStatus, target: CampaignStatus, legal: bool) -> None:
        assert can_move(current, target) is legal

    @pytest.mark.parametrize("status", list(CampaignStatus))
    def test_staying_put_is_legal(self, status: CampaignStatus) -> None:
        assert can_move(status, status)

    @pytest.mark.parametrize("target", [S.draft, S.active, S.paused])
    def test_ended_is_final(self, target: CampaignStatus) -> None:
        assert not can_move(S.ended, target)

    @pytest.mark.parametrize("status", [S.draft, S.active, S.paused])
    def test_every_live_status_can_end(self, status: CampaignStatus) -> None:
        assert can_move(status, S.ended)

    @pytest.mark.parametrize(("current", "target"), [("active", "paused"), ("paused", "active")])
    def test_plain_strings_work(self, current: str, target: str) -> None:
        assert can_move(CampaignStatus(current), CampaignStatus(target))


class TestLandingUrlPort:
    @pytest.mark.parametrize(
        "url", ["http://[::1]:99999/", "https://shop.example:0x50/", "https://shop.example:-1/"]
    )
    def test_invalid_port_is_a_problem(self, url: str) -> None:
        assert landing_url_problem(url) is not None

    def test_valid_port(self) -> None:
        assert landing_url_problem("https://shop.example:8443/spring") is None


class TestLandingUrlProblem:
    @pytest.mark.parametrize(
        "url",
        [
            "https://shop.example",
            "https://shop.example/",
            "http://shop.example/spring",
            "https://shop.example/spring?utm_source=x&ref=1#top",
            "HTTPS://Shop.Example/Spring",
            "https://shop.example:8443/p",
            "https://店铺.中国/春季",
            "https://192.0.2.1/p",
            "https://[2001:db8::1]/p",
            "https://shop.example/" + "a" * (2000 - len("https://shop.example/")),  # exactly 2000
        ],
    )
    def test_accepts(self, url: str) -> None:
        assert landing_url_problem(url) is None

    @pytest.mark.parametrize(
        "url",
        [
            "",
            "ftp://shop.example/file",
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "mailto:shop@example.com",
            "/spring",
            "spring",
            "shop.example/spring",
            "//shop.example/spring",  # scheme-relative
            "https://",
            "https:///spring",
            "https:spring",
            "http:/shop.example",
        ],
    )
    def test_refuses_non_absolute_http(self, url: str) -> None:
        problem = landing_url_problem(url)
        assert problem is not None and "http" in problem

    @pytest.mark.parametrize(
        "url",
        [
            "https://user:secret@shop.example/",
            "https://user@shop.example/",
            "https://:secret@shop.example/",
            "https://shop.example@evil.example/",
        ],
    )
    def test_refuses_credentials(self, url: str) -> None:
        problem = landing_url_problem(url)
        assert problem is not None and "credentials" in problem

    @pytest.mark.parametrize("length", [2001, 5000])
    def test_refuses_too_long(self, length: int) -> None:
        url = "https://shop.example/" + "a" * (length - len("https://shop.example/"))
        assert len(url) == length
        problem = landing_url_problem(url)
        assert problem is not None and "2000" in problem

    @pytest.mark.parametrize(
        "url",
        [
            " https://shop.example/",
            "https://shop.example/ ",
            "https://shop.example/a b",
            "https://shop.example/\tspring",
            "https://shop.example/\nspring",
            "https://shop.example/spring\n",
            "https://shop.example/\rspring",
            "https://shop.example/\x00",
            "https://shop.example/\x7f",
            "https://shop.example/\x85",  # C1 next line
            "https://shop.example/\u00a0",  # no-break space
            "https://shop.example/\u3000",  # ideographic space
            "java\nscript:alert(1)",
        ],
    )
    def test_refuses_whitespace_and_control_characters(self, url: str) -> None:
        problem = landing_url_problem(url)
        assert problem is not None and "whitespace" in problem

    @pytest.mark.parametrize("url", ["https://[::1/spring", "https://[not-an-ip]/"])
    def test_malformed_host_is_a_problem_not_an_exception(self, url: str) -> None:
        assert landing_url_problem(url) is not None


class TestNormalizeHashtag:
    @pytest.mark.parametrize(
        ("tag", "expected"),
        [
            ("美妆新品", "#美妆新品"),
            ("#美妆新品", "#美妆新品"),
            ("  春日好物 ", "#春日好物"),
            (" #Summer_2026 ", "#Summer_2026"),
            ("e\u0301te\u0301", "#\u00e9t\u00e9"),  # decomposed -> NFC
            ("#e\u0301te\u0301", "#\u00e9t\u00e9"),
        ],
    )
    def test_normalize(self, tag: str, expected: str) -> None:
        assert normalize_hashtag(tag) == expected

    @pytest.mark.parametrize("tag", ["美妆新品", "#Summer_2026", "e\u0301te\u0301"])
    def test_idempotent(self, tag: str) -> None:
        once = normalize_hashtag(tag)
        assert normalize_hashtag(once) == once


class TestHashtagProblem:
    @pytest.mark.parametrize(
        "tag",
        [
            "#美妆新品",
            "春日好物",
            "#Summer_2026",
            "summer",
            "#2026",
            "#_",
            "#été",
            "#e\u0301te\u0301",  # decomposed accents: marks are allowed
            "#한국어",
            "#العربية",
            "#Ｓｕｍｍｅｒ",  # noqa: RUF001 - full-width letters are letters
            "#" + "a" * 100,
            "#" + "好" * 100,
            " #美妆新品 ",
        ],
    )
    def test_accepts(self, tag: str) -> None:
        assert hashtag_problem(tag) is None

    @pytest.mark.parametrize(
        "tag",
        [
            "#美妆\u200b新品",  # zero-width space
            "#美妆\u200d新品",  # zero-width joiner
            "#美妆\u200c新品",  # zero-width non-joiner
            "#a\ufeffb",  # zero-width no-break space (BOM)
            "#a\u202eb",  # right-to-left override
            "#a\x00b",
            "#a\x07b",
            "#a\nb",
            "#a\tb",
            "#a b",
            "#a\u3000b",  # ideographic space
            "#🎉",
            "🎉🎉🎉",
            "#👍🏽",
            "#!!!",
            "#a-b",
            "#a.b",
            "#a#b",
            "##ab",
            "#a/b",
            "#春日\uff0c好物",  # full-width comma
            "#<script>",
        ],
    )
    def test_refuses_characters(self, tag: str) -> None:
        problem = hashtag_problem(tag)
        assert problem is not None and "U+" in problem

    @pytest.mark.parametrize("tag", ["", "#", "   ", " # ", "#" + "a" * 101, "好" * 101])
    def test_refuses_length(self, tag: str) -> None:
        problem = hashtag_problem(tag)
        assert problem is not None and "1-100" in problem


class TestHashtagInvisibleCharacters:
    """Characters that draw nothing would make two different tags look alike."""

    @pytest.mark.parametrize(
        "char",
        [
            "\u200b",  # zero-width space
            "\u200c",  # zero-width non-joiner
            "\u200d",  # zero-width joiner
            "\u200e",  # left-to-right mark
            "\u200f",  # right-to-left mark
            "\u2060",  # word joiner
            "\ufeff",  # zero-width no-break space (BOM)
            "\u00ad",  # soft hyphen
            "\u061c",  # Arabic letter mark
            "\u180e",  # Mongolian vowel separator
            "\u202a",  # left-to-right embedding
            "\u202b",  # right-to-left embedding
            "\u202c",  # pop directional formatting
            "\u202d",  # left-to-right override
            "\u202e",  # right-to-left override
            "\u2066",  # left-to-right isolate
            "\u2067",  # right-to-left isolate
            "\u2068",  # first strong isolate
            "\u2069",  # pop directional isolate
            # Default-ignorable code points filed as letters or marks:
            "\u034f",  # combining grapheme joiner
            "\u115f",  # Hangul choseong filler
            "\u1160",  # Hangul jungseong filler
            "\u3164",  # Hangul filler
            "\uffa0",  # half-width Hangul filler
            "\u17b4",  # Khmer vowel inherent AQ
            "\u180b",  # Mongolian free variation selector one
            "\ufe00",  # variation selector-1
            "\ufe0f",  # variation selector-16
            "\U000e0100",  # variation selector-17
            "\U000e01ef",  # variation selector-256
        ],
        ids=lambda char: f"U+{ord(char):04X}",
    )
    def test_refuses_zero_width_and_bidi_characters(self, char: str) -> None:
        for tag in (f"#美妆{char}新品", f"#{char}美妆新品", f"#美妆新品{char}"):
            problem = hashtag_problem(tag)
            assert problem is not None and f"U+{ord(char):04X}" in problem

    @pytest.mark.parametrize("code_point", [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])
    def test_refuses_every_control_character(self, code_point: int) -> None:
        problem = hashtag_problem(f"#a{chr(code_point)}b")
        assert problem is not None and "U+" in problem

    @pytest.mark.parametrize("tag", ["#\u3164", "#\u115f\u1160", "#\ufe0f"])
    def test_a_tag_of_invisible_letters_only_is_refused(self, tag: str) -> None:
        assert hashtag_problem(tag) is not None

    @pytest.mark.parametrize("tag", ["#한국어", "#各", "#e\u0301te\u0301", "#नमस्ते"])
    def test_visible_marks_and_hangul_still_pass(self, tag: str) -> None:
        assert hashtag_problem(tag) is None

"""Locale negotiation from Accept-Language / ?lang=, and the Simplified Chinese catalog."""

from __future__ import annotations

import re
from typing import Any

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from growth.core.i18n import (
    LOCALE_DIR,
    SUPPORTED,
    chosen_language,
    negotiate_locale,
    remember_language,
    translations,
)

ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po"
# A named printf placeholder: %(name)s, %(count)d, %(rate).2f ...
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _zh_messages() -> list[Message]:
    with ZH_PO.open("rb") as po_file:
        catalog = read_po(po_file, locale="zh_Hans")
    return [message for message in catalog if message.id]


def _texts(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _id(message: Message) -> str:
    return _texts(message.id)[0][:40]


ZH_MESSAGES = _zh_messages()


class TestNegotiateLocale:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
            ("en-US,en;q=0.9", "en"),
            ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
            ("zh", "zh_Hans"),
            ("zh-Hans-CN", "zh_Hans"),
            ("zh_CN", "zh_Hans"),
            ("ZH-cn", "zh_Hans"),
            ("EN-GB", "en"),
            ("en", "en"),
            (" en-US , zh ; q=0.5", "en"),  # whitespace around tags and parameters
            ("fr-FR,de;q=0.9,zh;q=0.5", "zh_Hans"),  # the first supported one by weight
            ("fr-FR,en;q=0.3", "en"),
        ],
    )
    def test_picks_a_supported_locale(self, header: str, expected: str) -> None:
        assert negotiate_locale(header) == expected

    @pytest.mark.parametrize(
        "header",
        [None, "", "fr-FR", "fr-FR,de;q=0.9", "*", ",,,", "eng", "english", "enx-US", ";q=0.9"],
    )
    def test_falls_back_to_the_default(self, header: str | None) -> None:
        assert negotiate_locale(header) == "en"
        assert negotiate_locale(header, default="zh_Hans") == "zh_Hans"

    @pytest.mark.parametrize("default", ["fr", "de_DE", ""])
    def test_unsupported_default_falls_back_to_english(self, default: str) -> None:
        assert negotiate_locale("fr-FR", default=default) == "en"

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("zh;q=0,en;q=0.1", "en"),
            ("en;q=0,zh;q=0.1", "zh_Hans"),
            ("zh;q=0.0,fr", "en"),
            ("zh;q=0.000", "en"),
            ("zh-CN;q=0,zh;q=0", "en"),
        ],
    )
    def test_zero_weight_is_excluded(self, header: str, expected: str) -> None:
        assert negotiate_locale(header) == expected

    def test_zero_weight_excludes_even_the_only_supported_tag(self) -> None:
        # With a default of zh_Hans, "en;q=0" must not pick English.
        assert negotiate_locale("en;q=0", default="zh_Hans") == "zh_Hans"

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("en;q=0.5,zh;q=0.9", "zh_Hans"),
            ("zh;q=0.5,en", "en"),  # no q means 1
            ("en;q=0.1,fr;q=1,zh-CN;q=0.2", "zh_Hans"),
            ("zh;q=0.8,en;q=0.81", "en"),
            ("en,zh", "en"),  # equal weights keep the header's order
            ("zh,en", "zh_Hans"),
        ],
    )
    def test_weights_beat_order(self, header: str, expected: str) -> None:
        assert negotiate_locale(header) == expected

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("zh;q=abc,en;q=0.5", "en"),
            ("zh;q=,en;q=0.5", "en"),
            ("zh;q=0.9x,en;q=0.5", "en"),
            ("en;q=high,zh;q=0.1", "zh_Hans"),
            ("zh;q=abc", "en"),
        ],
    )
    def test_malformed_weights_are_ignored(self, header: str, expected: str) -> None:
        assert negotiate_locale(header) == expected

    @pytest.mark.parametrize(
        ("header", "override", "expected"),
        [
            ("en-US,en;q=0.9", "zh", "zh_Hans"),
            ("en-US,en;q=0.9", "zh_Hans", "zh_Hans"),
            ("en-US,en;q=0.9", "zh-Hans", "zh_Hans"),
            ("zh-CN,zh;q=0.9", "en", "en"),
            ("zh-CN,zh;q=0.9", "EN", "en"),
            (None, "zh", "zh_Hans"),
            ("zh-CN,zh;q=0.9", "fr", "zh_Hans"),  # unsupported override: the header decides
            ("en-US", "xx", "en"),
            ("zh-CN", "", "zh_Hans"),
            ("zh-CN", None, "zh_Hans"),
            (None, "fr", "en"),
        ],
    )
    def test_lang_override(self, header: str | None, override: str | None, expected: str) -> None:
        assert negotiate_locale(header, override=override) == expected

    def test_result_is_always_supported(self) -> None:
        headers = ["zh-CN", "en-US", "fr", None, "zh;q=0", "en;q=abc"]
        assert {negotiate_locale(header) for header in headers} <= set(SUPPORTED)


class TestTranslations:
    @pytest.mark.parametrize(
        ("locale", "message", "expected"),
        [
            ("zh_Hans", "Copy", "复制"),
            ("zh_Hans", "Weibo", "微博"),
            ("zh_Hans", "Download QR code", "下载二维码"),
            ("zh_Hans", "A message that is not in the catalog", "A message that is not in the catalog"),
            ("en", "Copy", "Copy"),
            ("en", "Weibo", "Weibo"),
            ("fr", "Copy", "Copy"),  # no catalog: messages unchanged
        ],
    )
    def test_gettext(self, locale: str, message: str, expected: str) -> None:
        assert translations(locale).gettext(message) == expected

    @pytest.mark.parametrize(("n", "expected"), [(1, "one item"), (2, "many items")])
    def test_english_ngettext(self, n: int, expected: str) -> None:
        assert translations("en").ngettext("one item", "many items", n) == expected

    def test_interpolation_after_translation(self) -> None:
        translated = translations("zh_Hans").gettext("Share %(campaign)s")
        assert translated % {"campaign": "春季活动"} == "分享春季活动"


class TestZhHansCatalog:
    def test_catalog_is_not_empty(self) -> None:
        assert len(ZH_MESSAGES) >= 10
        assert any(message.id == "Copy" for message in ZH_MESSAGES)

    @pytest.mark.parametrize("message", ZH_MESSAGES, ids=_id)
    def test_translated(self, message: Message) -> None:
        strings = _texts(message.string)
        assert strings, f"no translation for {message.id!r}"
        assert all(string.strip() for string in strings), f"empty translation for {message.id!r}"
        assert not message.fuzzy, f"fuzzy translations are not compiled: {message.id!r}"

    @pytest.mark.parametrize("message", ZH_MESSAGES, ids=_id)
    def test_keeps_placeholders(self, message: Message) -> None:
        expected = {match.group(0) for text in _texts(message.id) for match in PLACEHOLDER.finditer(text)}
        for string in _texts(message.string):
            assert {match.group(0) for match in PLACEHOLDER.finditer(string)} == expected, string

    @pytest.mark.parametrize(
        "message", [m for m in ZH_MESSAGES if isinstance(m.id, str) and not m.fuzzy], ids=_id
    )
    def test_compiled_catalog_serves_the_translation(self, message: Message) -> None:
        assert isinstance(message.id, str)
        assert translations("zh_Hans").gettext(message.id) == message.string


def _extracted() -> list[tuple[str, str]]:
    """Every message the code and templates mark for translation: ``(msgid, file)``."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[3]
    found = []
    for folder in ("templates", "growth", "campaigns", "payouts"):
        for filename, _, message, _, _ in extract_from_dir(
            root / folder,
            [("**.j2", "jinja2"), ("**.py", "python")],
            options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}},
        ):
            found.append((message if isinstance(message, str) else message[0], f"{folder}/{filename}"))
    return found


def test_every_marked_message_has_a_simplified_chinese_translation() -> None:
    catalog = {message.id if isinstance(message.id, str) else message.id[0] for message in ZH_MESSAGES}
    missing = sorted({(msgid, where) for msgid, where in _extracted() if msgid not in catalog})
    assert missing == []


@pytest.mark.parametrize(
    ("query", "cookie"),
    [
        (b"lang=zh", "growth_lang=zh_Hans"),
        (b"page=2&lang=en-US", "growth_lang=en"),
        (b"lang=fr", None),  # not a supported language: nothing remembered
        (b"page=2", None),
    ],
)
async def test_a_chosen_language_is_remembered_in_a_cookie(query: bytes, cookie: str | None) -> None:
    message: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": []}
    scope: dict[str, Any] = {"type": "http", "method": "GET", "query_string": query, "scheme": "http"}
    await remember_language(message, scope)  # type: ignore[arg-type]
    set_cookie = [v.decode() for k, v in message["headers"] if k == b"set-cookie"]
    if cookie is None:
        assert set_cookie == []
    else:
        [value] = set_cookie
        assert value.startswith(cookie + ";") and "HttpOnly" in value and "SameSite=Lax" in value


def test_the_query_wins_over_the_remembered_language() -> None:
    assert chosen_language("en", {"growth_lang": "zh_Hans"}) == "en"
    assert chosen_language(None, {"growth_lang": "zh_Hans"}) == "zh_Hans"
    assert chosen_language(None, {}) is None

"""Referral links: landing URLs with the code attached, QR codes (PNG/SVG) and share buttons."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from growth.link.rules import (
    QR_BORDER,
    QR_DEFAULT_SIZE,
    QR_MAX_SIZE,
    QR_MIN_SIZE,
    attribution_cookie_header,
    code_query,
    cookie_value,
    followed_code,
    landing_parts,
    landing_url_with_code,
    percent_label,
    personal_hashtag,
    post_form_notice,
    qr_etag,
    qr_png,
    qr_svg,
    referral_link,
    share_targets,
)

LINK = "https://growth.test/r/K7MQ2XP9"
URLS = [
    LINK,
    "https://growth.test/r/Spring-Sale_2026",
    "https://growth.example.com/r/" + "a" * 32,  # the longest vanity code
]
SIZES = [QR_MIN_SIZE, 100, QR_DEFAULT_SIZE, 300, QR_MAX_SIZE]


class TestLandingUrlWithCode:
    @pytest.mark.parametrize(
        ("landing", "params", "path", "query", "fragment"),
        [
            ("https://shop.example/spring", {"ref": "K7MQ2XP9"}, "/spring", [("ref", "K7MQ2XP9")], ""),
            (
                "https://shop.example/spring?utm_source=newsletter&color=red#top",
                {"ref": "K7MQ2XP9"},
                "/spring",
                [("utm_source", "newsletter"), ("color", "red"), ("ref", "K7MQ2XP9")],
                "top",
            ),
            (
                "https://shop.example/p?ref=OLD&x=1",
                {"ref": "K7MQ2XP9"},
                "/p",
                [("x", "1"), ("ref", "K7MQ2XP9")],
                "",
            ),
            (
                "https://shop.example/p?ref=OLD&ref=OLDER&x=1",
                {"ref": "NEW", "ref_click": "c1"},
                "/p",
                [("x", "1"), ("ref", "NEW"), ("ref_click", "c1")],
                "",
            ),
            (
                "https://shop.example/p?tag=a&tag=b&empty=",
                {"ref": "K7MQ2XP9"},
                "/p",
                [("tag", "a"), ("tag", "b"), ("empty", ""), ("ref", "K7MQ2XP9")],
                "",
            ),
            (
                "https://shop.example/p?q=a+b&path=%2Fx%26y#frag?not=query",
                {"utm_source": "ref"},
                "/p",
                [("q", "a b"), ("path", "/x&y"), ("utm_source", "ref")],
                "frag?not=query",
            ),
            ("https://shop.example/p", {}, "/p", [], ""),
        ],
    )
    def test_keeps_the_landing_url(
        self, landing: str, params: dict[str, str], path: str, query: list[tuple[str, str]], fragment: str
    ) -> None:
        result = urlsplit(landing_url_with_code(landing, params))
        assert (result.scheme, result.netloc, result.path, result.fragment) == (
            "https",
            "shop.example",
            path,
            fragment,
        )
        assert parse_qsl(result.query, keep_blank_values=True) == query

    @pytest.mark.parametrize(
        "value",
        ["a b", "a&b=c", "50%", "#frag", "a+b", "美妆", "x/y?z", "'\"<>"],
    )
    def test_encodes_special_characters(self, value: str) -> None:
        result = urlsplit(landing_url_with_code("https://shop.example/p?x=1#top", {"ref": value}))
        assert parse_qs(result.query) == {"x": ["1"], "ref": [value]}
        assert result.fragment == "top"
        assert " " not in result.query and "#" not in result.query

    def test_keeps_scheme_port_and_path(self) -> None:
        result = urlsplit(landing_url_with_code("http://shop.example:8080/a/b/", {"ref": "X"}))
        assert (result.scheme, result.netloc, result.path) == ("http", "shop.example:8080", "/a/b/")


class TestReferralLink:
    @pytest.mark.parametrize(
        ("base_url", "code", "expected"),
        [
            ("https://growth.test", "K7MQ2XP9", "https://growth.test/r/K7MQ2XP9"),
            ("https://growth.test/", "K7MQ2XP9", "https://growth.test/r/K7MQ2XP9"),
            ("https://growth.test/shop/", "summer", "https://growth.test/shop/r/summer"),
            ("https://growth.test", "a b", "https://growth.test/r/a%20b"),
            ("https://growth.test", "a/b", "https://growth.test/r/a%2Fb"),
            ("https://growth.test", "a?b#c", "https://growth.test/r/a%3Fb%23c"),
            ("https://growth.test", "美妆", "https://growth.test/r/%E7%BE%8E%E5%A6%86"),
            ("https://growth.test", "Spring-Sale_2026", "https://growth.test/r/Spring-Sale_2026"),
        ],
    )
    def test_link(self, base_url: str, code: str, expected: str) -> None:
        assert referral_link(base_url, code) == expected


def _expected_matrix(url: str) -> list[list[bool]]:
    """The modules of ``url``'s QR code, quiet zone included, computed by the qrcode library itself."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QR_BORDER, box_size=1)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


class TestQrPng:
    @pytest.mark.parametrize("url", URLS)
    @pytest.mark.parametrize("size", SIZES)
    def test_is_a_square_png_no_larger_than_asked(self, url: str, size: int) -> None:
        data = qr_png(url, size)
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == "PNG"
            assert image.mode in {"1", "L", "RGB", "RGBA", "P"}
            width, height = image.size
        assert width == height
        assert 0 < width <= size

    @pytest.mark.parametrize("size", [256, QR_MAX_SIZE])
    def test_uses_most_of_the_space(self, size: int) -> None:
        # Whole pixels per module: at most one module's worth of pixels is given up.
        with Image.open(io.BytesIO(qr_png(LINK, size))) as image:
            width = image.size[0]
        modules = len(_expected_matrix(LINK))
        assert width % modules == 0
        assert width > size - modules

    @pytest.mark.parametrize("url", URLS)
    @pytest.mark.parametrize("size", [QR_MIN_SIZE, QR_DEFAULT_SIZE, QR_MAX_SIZE])
    def test_encodes_the_url(self, url: str, size: int) -> None:
        expected = _expected_matrix(url)
        with Image.open(io.BytesIO(qr_png(url, size))) as image:
            pixels = image.convert("L")
            box = pixels.size[0] // len(expected)
            assert box >= 1 and box * len(expected) == pixels.size[0]
            actual = [
                [
                    pixels.getpixel((x * box + box // 2, y * box + box // 2)) < 128
                    for x in range(len(expected))
                ]
                for y in range(len(expected))
            ]
        assert actual == expected
        # A quiet zone of QR_BORDER white modules, then the black corner of the finder pattern.
        assert not any(actual[QR_BORDER - 1]) and actual[QR_BORDER][QR_BORDER]

    def test_default_size(self) -> None:
        with Image.open(io.BytesIO(qr_png(LINK))) as image:
            assert 0 < image.size[0] <= QR_DEFAULT_SIZE

    def test_same_input_same_bytes(self) -> None:
        assert qr_png(LINK, 256) == qr_png(LINK, 256)
        assert qr_png(LINK, 256) != qr_png(LINK + "X", 256)


SVG_NS = "{http://www.w3.org/2000/svg}"


class TestQrSvg:
    @pytest.mark.parametrize("url", URLS)
    @pytest.mark.parametrize("size", SIZES)
    def test_well_formed_with_the_requested_size(self, url: str, size: int) -> None:
        root = ET.fromstring(qr_svg(url, size))
        assert root.tag == f"{SVG_NS}svg"
        assert root.get("width") == str(size)
        assert root.get("height") == str(size)
        view_box = root.get("viewBox")
        assert view_box is not None
        min_x, min_y, width, height = (float(n) for n in view_box.split())
        assert (min_x, min_y) == (0, 0)
        assert width == height > 0

    def test_default_size(self) -> None:
        root = ET.fromstring(qr_svg(LINK))
        assert (root.get("width"), root.get("height")) == (str(QR_DEFAULT_SIZE), str(QR_DEFAULT_SIZE))

    def test_draws_the_modules(self) -> None:
        root = ET.fromstring(qr_svg(LINK, 256))
        paths = [element for element in root.iter(f"{SVG_NS}path") if element.get("d")]
        assert paths, "no path: the SVG is blank"

    def test_depends_on_the_url(self) -> None:
        assert qr_svg(LINK, 256) == qr_svg(LINK, 256)
        assert qr_svg(LINK, 256) != qr_svg(LINK + "X", 256)


class TestQrEtag:
    def test_stable(self) -> None:
        assert qr_etag(LINK, 256, "png") == qr_etag(LINK, 256, "png")

    def test_shape(self) -> None:
        etag = qr_etag(LINK, 256, "png")
        assert len(etag) == 32
        assert set(etag) <= set("0123456789abcdef")

    @pytest.mark.parametrize(
        ("other_url", "other_size", "other_fmt"),
        [
            (LINK, 512, "png"),
            (LINK, 256, "svg"),
            (LINK + "X", 256, "png"),
            ("https://growth.test/r/K7MQ2XP8", 256, "png"),
        ],
    )
    def test_differs_by_url_size_and_format(self, other_url: str, other_size: int, other_fmt: str) -> None:
        assert qr_etag(LINK, 256, "png") != qr_etag(other_url, other_size, other_fmt)

    def test_distinct_over_many_combinations(self) -> None:
        etags = {qr_etag(url, size, fmt) for url in URLS for size in SIZES for fmt in ("png", "svg")}
        assert len(etags) == len(URLS) * len(SIZES) * 2


SHARE_LINK = "https://growth.test/r/K7MQ2XP9?utm_source=share&x=1#frag"
SHARE_TEXT = "我很喜欢春季活动 & more: 50% off + free #gift?"
SHARE_SUBJECT = "A gift for you / 送你一份礼物"


def _targets() -> dict[str, str | None]:
    return {target.network: target.url for target in share_targets(SHARE_LINK, SHARE_TEXT, SHARE_SUBJECT)}


def _query(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


class TestShareTargets:
    def test_networks(self) -> None:
        networks = [target.network for target in share_targets(LINK, "text", "subject")]
        assert networks == ["wechat", "weibo", "x", "facebook", "whatsapp", "email"]

    def test_wechat_shares_by_qr_code(self) -> None:
        assert _targets()["wechat"] is None

    @pytest.mark.parametrize(
        ("network", "scheme_host_path", "params"),
        [
            (
                "weibo",
                ("https", "service.weibo.com", "/share/share.php"),
                {"url": [SHARE_LINK], "title": [SHARE_TEXT]},
            ),
            ("x", ("https", "twitter.com", "/intent/tweet"), {"text": [SHARE_TEXT], "url": [SHARE_LINK]}),
            ("facebook", ("https", "www.facebook.com", "/sharer/sharer.php"), {"u": [SHARE_LINK]}),
            ("whatsapp", ("https", "wa.me", "/"), {"text": [f"{SHARE_TEXT} {SHARE_LINK}"]}),
            (
                "email",
                ("mailto", "", ""),
                {"subject": [SHARE_SUBJECT], "body": [f"{SHARE_TEXT}\n{SHARE_LINK}"]},
            ),
        ],
    )
    def test_link_is_encoded_in_the_query(
        self, network: str, scheme_host_path: tuple[str, str, str], params: dict[str, list[str]]
    ) -> None:
        url = _targets()[network]
        assert url is not None
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == scheme_host_path
        assert parts.fragment == "", "the link's own '#' must be encoded, not end the share URL"
        assert _query(url) == params

    @pytest.mark.parametrize("network", ["weibo", "x", "facebook", "whatsapp", "email"])
    def test_no_raw_special_characters(self, network: str) -> None:
        url = _targets()[network]
        assert url is not None
        query = urlsplit(url).query
        for raw in (" ", "#", "\n", "+", "我"):
            assert raw not in query


class TestPersonalHashtag:
    @pytest.mark.parametrize(
        ("tag", "code", "expected"),
        [("#美妆新品", "7KQ2M9XD", "#美妆新品_7KQ2M9XD"), ("#Summer", "mei_2026", "#Summer_mei_2026")],
    )
    def test_campaign_tag_then_code(self, tag: str, code: str, expected: str) -> None:
        assert personal_hashtag(tag, code) == expected


class TestPostFormNotice:
    @pytest.mark.parametrize(
        ("submitted", "error", "notice"),
        [
            (None, None, None),
            ("1", None, "submitted"),
            ("0", None, None),
            ("yes", None, None),
            (None, "invalid_post_url", "invalid_post_url"),
            (None, "unsupported_platform", "unsupported_platform"),
            (None, "post_already_submitted", "post_already_submitted"),
            (None, "submission_already_open", "submission_already_open"),
            (None, "campaign_not_active", "campaign_not_active"),
            ("1", "post_already_submitted", "post_already_submitted"),  # an error wins
            (None, "validation_error", "error"),  # codes the page has no message for
            (None, "<script>alert(1)</script>", "error"),
            (None, "", "error"),
        ],
    )
    def test_notice(self, submitted: str | None, error: str | None, notice: str | None) -> None:
        assert post_form_notice(submitted, error) == notice


@pytest.mark.parametrize(("bps", "label"), [(1000, "10%"), (1250, "12.5%"), (5, "0.05%"), (10_000, "100%")])
def test_percent_label(bps: int, label: str) -> None:
    assert percent_label(bps) == label


class TestClickLocation:
    """The redirect joins strings split once per campaign: the URL ``landing_url_with_code`` gives."""

    @pytest.mark.parametrize(
        "landing_url",
        [
            "https://shop.example/spring?utm_source=ref&ref=old#top",
            "https://shop.example/",
            "https://shop.example/x?q=1%202&e=",
            "https://shop.example#f",
            "https://shop.example/p?ref_click=9&x=%E4%B8%AD",
        ],
    )
    def test_same_url_as_landing_url_with_code(self, landing_url: str) -> None:
        click_id = "019abcde-f012-7345-8678-9abcdef01234"
        head, fragment = landing_parts(landing_url, code_param="ref", click_param="ref_click")
        joined = head + code_query(code_param="ref", code="Spring Alice", click_param="ref_click")

        assert joined + click_id + fragment == landing_url_with_code(
            landing_url, {"ref": "Spring Alice", "ref_click": click_id}
        )

    @pytest.mark.parametrize(
        ("secure", "expected"),
        [
            (False, "growth_ref=abc; HttpOnly; Max-Age=60; Path=/; SameSite=lax"),
            (True, "growth_ref=abc; HttpOnly; Max-Age=60; Path=/; SameSite=lax; Secure"),
        ],
    )
    def test_attribution_cookie_header(self, secure: bool, expected: str) -> None:
        assert attribution_cookie_header("growth_ref", "abc", max_age=60, secure=secure) == expected


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/r/ABCD2345", "ABCD2345"),
        ("/r/spring-alice", "spring-alice"),
        ("/r/", None),
        ("/r/ABCD2345/", None),
        ("/r/ABCD2345/qr.svg", None),
        ("/share/ABCD2345", None),
        ("/rr/ABCD2345", None),
    ],
)
def test_followed_code(path: str, code: str | None) -> None:
    assert followed_code(path) == code


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("growth_ref=abc", "abc"),
        ("a=1; growth_ref=abc; b=2", "abc"),
        (" growth_ref = abc ", "abc"),
        ('growth_ref="abc"', "abc"),
        ('growth_ref=""', ""),
        ("growth_ref=a%20b", "a b"),
        ("growth_ref=old; growth_ref=new", "new"),
        ("growth_ref=", ""),
        ("growth_ref", None),
        ("x_growth_ref=abc", None),
        ("", None),
    ],
)
def test_cookie_value(header: str, value: str | None) -> None:
    assert cookie_value(header, "growth_ref") == value

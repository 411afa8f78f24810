"""Share rules: personal hashtags, post URLs and their platforms, one open post per customer, moderation."""

from __future__ import annotations

import pytest

from campaigns.campaign.rules import hashtag_problem
from campaigns.share.errors import (
    CampaignNotActive,
    InvalidPostUrl,
    NotASocialShareCampaign,
    PostAlreadySubmitted,
    SharesAreForCustomers,
    SubmissionAlreadyOpen,
    UnsupportedPlatform,
)
from campaigns.share.rules import (
    MAX_URL_LENGTH,
    Decision,
    Move,
    SharePlatform,
    SubmissionStatus,
    decide,
    open_submission_problem,
    parse_platforms,
    personal_hashtag,
    platform_of,
    platform_problem,
    post_url_problem,
    reason_problem,
    url_key,
)
from growth.link import rules as link_rules
from growth.referral_code.rules import generate_code
from growth.settings import Settings

P = SharePlatform
ALL = frozenset(SharePlatform)
St = SubmissionStatus


class TestPersonalHashtag:
    @pytest.mark.parametrize(
        ("tag", "code", "expected"),
        [
            ("#美妆新品", "7KQ2M9XD", "#美妆新品_7KQ2M9XD"),
            ("#Summer_2026", "AB12CD34", "#Summer_2026_AB12CD34"),
            ("#春日好物", "mei_2026", "#春日好物_mei_2026"),
        ],
    )
    def test_campaign_tag_and_code(self, tag: str, code: str, expected: str) -> None:
        assert personal_hashtag(tag, code) == expected

    @pytest.mark.parametrize("code", ["7KQ2M9XD", "mei_2026", "Spring-Sale", "abc"])
    def test_the_share_page_uses_the_same_rule(self, code: str) -> None:
        # growth cannot import campaigns, so the share page has its own copy of the rule.
        assert link_rules.personal_hashtag("#美妆新品", code) == personal_hashtag("#美妆新品", code)

    @pytest.mark.parametrize("_", range(20))
    def test_generated_codes_make_valid_tags(self, _: int) -> None:
        assert hashtag_problem(personal_hashtag("#美妆新品", generate_code())) is None


class TestPlatformOf:
    @pytest.mark.parametrize(
        ("url", "platform"),
        [
            ("https://weibo.com/1234567890/NbCdEfGh", P.weibo),
            ("https://www.weibo.com/1234567890/NbCdEfGh", P.weibo),
            ("https://weibo.cn/status/4950000000000000", P.weibo),
            ("https://m.weibo.cn/status/4950000000000000", P.weibo),
            ("https://m.weibo.cn/detail/4950000000000000", P.weibo),
            ("https://www.xiaohongshu.com/explore/64a1b2c3d4e5f6", P.xiaohongshu),
            ("https://xiaohongshu.com/discovery/item/64a1b2c3d4e5f6", P.xiaohongshu),
            ("http://xhslink.com/a/AbCdEf", P.xiaohongshu),
            ("https://www.douyin.com/video/7300000000000000000", P.douyin),
            ("https://v.douyin.com/iRNBho6u/", P.douyin),
            ("https://channels.weixin.qq.com/web/pages/feed?oid=abc&nid=def", P.wechat_channels),
            ("https://www.instagram.com/p/C1a2B3c4D5e/", P.instagram),
            ("https://instagram.com/reel/C1a2B3c4D5e/", P.instagram),
            ("https://www.tiktok.com/@mei/video/7300000000000000000", P.tiktok),
            ("https://vm.tiktok.com/ZMabcdef/", P.tiktok),
            ("https://m.tiktok.com/v/7300000000000000000.html", P.tiktok),
            ("https://x.com/mei/status/1790000000000000000", P.x),
            ("https://twitter.com/mei/status/1790000000000000000", P.x),
            ("https://mobile.twitter.com/mei/status/1790000000000000000", P.x),
            ("https://www.facebook.com/mei/posts/pfbid0abc", P.facebook),
            ("https://m.facebook.com/story.php?story_fbid=1&id=2", P.facebook),
            ("https://fb.watch/abcDEF123/", P.facebook),
            ("HTTPS://WWW.WEIBO.COM/1234567890/NbCdEfGh", P.weibo),  # hosts are case-insensitive
            ("https://weibo.com./1234567890/NbCdEfGh", P.weibo),  # fully qualified, trailing dot
            ("https://weibo.com:443/1234567890/NbCdEfGh", P.weibo),
        ],
    )
    def test_detected_from_the_host(self, url: str, platform: SharePlatform) -> None:
        assert post_url_problem(url) is None
        assert platform_of(url) is platform
        assert platform_problem(url, ALL) is None

    @pytest.mark.parametrize(
        "url",
        [
            "https://www.youtube.com/watch?v=abc",
            "https://weixin.qq.com/",  # WeChat itself, not Channels
            "https://mp.weixin.qq.com/s/abcdef",  # an official-account article
            "https://qq.com/channels.weixin",
            "https://weibo.com.evil.example/1234567890/NbCdEfGh",  # look-alike: not a subdomain
            "https://evilweibo.com/1234567890/NbCdEfGh",
            "https://notx.com/mei/status/1",
            "https://x.co/abc",
            "https://instagram.com.attacker.io/p/abc",
            "https://shop.example/?u=https://weibo.com/1/abc",  # the platform only in the query
            "https://192.0.2.1/weibo.com",
        ],
    )
    def test_other_sites_are_unsupported(self, url: str) -> None:
        assert post_url_problem(url) is None
        problem = platform_problem(url, ALL)
        assert problem is not None and "unsupported platform" in problem


class TestEnabledPlatforms:
    def test_the_default_setting_enables_every_platform(self) -> None:
        assert parse_platforms(Settings().share_platforms) == ALL

    @pytest.mark.parametrize(
        ("setting", "expected"),
        [
            ("weibo", {P.weibo}),
            ("weibo,douyin", {P.weibo, P.douyin}),
            (" Weibo , XIAOHONGSHU ,, ", {P.weibo, P.xiaohongshu}),
            ("weibo,youtube,mastodon", {P.weibo}),  # unknown names enable nothing
            ("", set()),
            (",", set()),
        ],
    )
    def test_parse(self, setting: str, expected: set[SharePlatform]) -> None:
        assert parse_platforms(setting) == expected

    @pytest.mark.parametrize(
        ("setting", "url", "is_taken"),
        [
            ("weibo,douyin", "https://m.weibo.cn/status/1", True),
            ("weibo,douyin", "https://www.instagram.com/p/abc/", False),
            ("weibo,douyin", "https://x.com/mei/status/1", False),
            ("instagram", "https://x.com/mei/status/1", False),
            ("", "https://weibo.com/1/abc", False),
        ],
    )
    def test_a_disabled_platform_is_unsupported(self, setting: str, url: str, is_taken: bool) -> None:
        problem = platform_problem(url, parse_platforms(setting))
        assert (problem is None) is is_taken
        if problem:
            assert "unsupported platform" in problem

    def test_the_problem_names_the_enabled_platforms(self) -> None:
        problem = platform_problem("https://x.com/a/status/1", parse_platforms("weibo,douyin"))
        assert problem is not None and "douyin, weibo" in problem


class TestPostUrlProblem:
    @pytest.mark.parametrize(
        "url",
        [
            "https://weibo.com/1234567890/NbCdEfGh",
            "http://weibo.com/1234567890/NbCdEfGh",
            "https://weibo.com/" + "a" * (MAX_URL_LENGTH - len("https://weibo.com/")),  # exactly 2000
        ],
    )
    def test_accepts(self, url: str) -> None:
        assert post_url_problem(url) is None

    @pytest.mark.parametrize(
        "url",
        [
            "",
            "javascript:alert(1)",
            "JavaScript://weibo.com/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://weibo.com/1",
            "file:///etc/passwd",
            "weibo.com/1234567890/NbCdEfGh",
            "//weibo.com/1234567890/NbCdEfGh",
            "/1234567890/NbCdEfGh",
            "https://",
            "https:///1234567890",
        ],
    )
    def test_refuses_what_is_not_absolute_http(self, url: str) -> None:
        problem = post_url_problem(url)
        assert problem is not None and "http" in problem

    @pytest.mark.parametrize(
        "url",
        [
            "https://user:secret@weibo.com/1/abc",
            "https://user@weibo.com/1/abc",
            "https://:secret@weibo.com/1/abc",
            "https://@weibo.com/1/abc",
            "https://weibo.com@evil.example/1/abc",
        ],
    )
    def test_refuses_credentials(self, url: str) -> None:
        problem = post_url_problem(url)
        assert problem is not None and "credentials" in problem

    @pytest.mark.parametrize(
        "url",
        [
            "https://weibo.com/1/a b",
            "https://weibo.com/1/abc ",
            "https://weibo.com/1/\tabc",
            "https://weibo.com/1/\nabc",
            "https://weibo.com/1/abc\r",
            "https://weibo.com/1/\x00",
            "https://weibo.com/1/\x1b[31m",
            "https://weibo.com/1/\x7f",
            "https://weibo.com/1/\x85",
            "https://weibo.com/1/\u00a0",
            "https://weibo.com/1/\u3000",
            "https://weibo.com/1/\u200babc",  # zero-width space
            "https://weibo.com/1/\u200dabc",  # zero-width joiner
            "https://weibo.com/1/\ufeffabc",  # BOM
            "https://weibo.com/1/\u202ecba",  # right-to-left override
            "https://wei\u200bbo.com/1/abc",
        ],
    )
    def test_refuses_whitespace_and_control_characters(self, url: str) -> None:
        problem = post_url_problem(url)
        assert problem is not None and "control characters" in problem

    @pytest.mark.parametrize("length", [MAX_URL_LENGTH + 1, 10_000])
    def test_refuses_too_long(self, length: int) -> None:
        url = "https://weibo.com/" + "a" * (length - len("https://weibo.com/"))
        problem = post_url_problem(url)
        assert problem is not None and "2000" in problem

    def test_refuses_a_url_whose_key_would_be_too_long(self) -> None:
        # http:// becomes https:// in the key: a 2000-character http URL has a 2001-character key.
        url = "http://weibo.com/" + "a" * (MAX_URL_LENGTH - len("http://weibo.com/"))
        assert len(url) == MAX_URL_LENGTH
        problem = post_url_problem(url)
        assert problem is not None and "2000" in problem

    @pytest.mark.parametrize(
        "url", ["https://[::1/abc", "https://weibo.com:99999/1", "https://weibo.com:-1/1", "http://[x]/"]
    )
    def test_malformed_is_a_problem_not_an_exception(self, url: str) -> None:
        assert post_url_problem(url) is not None


class TestUrlKey:
    @pytest.mark.parametrize(
        ("url", "key"),
        [
            ("https://weibo.com/1234567890/NbCdEfGh", "https://weibo.com/1234567890/NbCdEfGh"),
            # scheme and host in lower case, www. and the default port dropped, path case kept
            ("HTTPS://WWW.Weibo.COM/1234567890/NbCdEfGh", "https://weibo.com/1234567890/NbCdEfGh"),
            ("http://weibo.com/1234567890/NbCdEfGh", "https://weibo.com/1234567890/NbCdEfGh"),
            ("https://weibo.com:443/1234567890/NbCdEfGh", "https://weibo.com/1234567890/NbCdEfGh"),
            ("https://weibo.com./1234567890/NbCdEfGh", "https://weibo.com/1234567890/NbCdEfGh"),
            # fragments and trailing slashes
            ("https://www.instagram.com/p/C1a2B3c4D5e/#comments", "https://instagram.com/p/C1a2B3c4D5e"),
            ("https://www.instagram.com/p/C1a2B3c4D5e///", "https://instagram.com/p/C1a2B3c4D5e"),
            ("https://fb.watch/", "https://fb.watch"),
            # tracking parameters
            (
                "https://weibo.com/1/AbC?utm_source=wechat&utm_medium=share&UTM_Campaign=x",
                "https://weibo.com/1/AbC",
            ),
            ("https://m.weibo.cn/status/1?from=singlemessage&wm=3333_2001", "https://m.weibo.cn/status/1"),
            ("https://weibo.com/1/AbC?spm=a2c6h.12873639&share_source=copy_link", "https://weibo.com/1/AbC"),
            (
                "https://www.xiaohongshu.com/explore/64a1?xsec_token=AB12&xsec_source=pc_share"
                "&share_from_user_hidden=true&apptime=1700000000",
                "https://xiaohongshu.com/explore/64a1",
            ),
            (
                "https://www.instagram.com/reel/C1a/?igsh=MXZ6&utm_source=ig_web",
                "https://instagram.com/reel/C1a",
            ),
            ("https://x.com/mei/status/179?s=20&t=AbCdEf", "https://x.com/mei/status/179"),
            (
                "https://www.tiktok.com/@mei/video/73?is_from_webapp=1&sender_device=pc&_r=1&_t=8abc",
                "https://tiktok.com/@mei/video/73",
            ),
            (
                "https://www.facebook.com/mei/posts/pfbid0?mibextid=Nif5oz&fbclid=Iw",
                "https://facebook.com/mei/posts/pfbid0",
            ),
            # what names the post stays, sorted
            (
                "https://m.facebook.com/story.php?story_fbid=10&id=20&mibextid=x",
                "https://m.facebook.com/story.php?id=20&story_fbid=10",
            ),
            (
                "https://channels.weixin.qq.com/web/pages/feed?oid=AB&nid=CD&share_from=1",
                "https://channels.weixin.qq.com/web/pages/feed?nid=CD&oid=AB",
            ),
            # ``from``, ``s`` and ``t`` are tracking only where the platform uses them so
            ("https://www.douyin.com/search?t=abc&from=x", "https://douyin.com/search?from=x&t=abc"),
            # kept as written: not decoded and re-encoded
            (
                "https://weibo.com/n/%E7%BE%8E%E5%A6%86?q=a%20b",
                "https://weibo.com/n/%E7%BE%8E%E5%A6%86?q=a%20b",
            ),
        ],
    )
    def test_normalises(self, url: str, key: str) -> None:
        assert post_url_problem(url) is None
        assert url_key(url) == key

    def test_one_post_shared_many_ways_has_one_key(self) -> None:
        urls = [
            "https://www.xiaohongshu.com/explore/64a1b2c3",
            "http://xiaohongshu.com/explore/64a1b2c3/",
            "https://WWW.XIAOHONGSHU.COM/explore/64a1b2c3?xsec_token=AB&xsec_source=app_share#comments",
            "https://www.xiaohongshu.com/explore/64a1b2c3?utm_source=wechat&share_id=9",
        ]
        assert len({url_key(url) for url in urls}) == 1

    def test_different_posts_keep_different_keys(self) -> None:
        urls = [
            "https://www.instagram.com/p/C1a2B3c4D5e/",
            "https://www.instagram.com/p/c1a2b3c4d5e/",  # shortcodes are case-sensitive
            "https://m.facebook.com/story.php?story_fbid=10&id=20",
            "https://m.facebook.com/story.php?story_fbid=11&id=20",
        ]
        assert len({url_key(url) for url in urls}) == len(urls)

    def test_key_is_never_longer_than_the_url_plus_the_s_of_https(self) -> None:
        url = "https://weibo.com/1?" + "&".join(f"q{i}=美妆新品" for i in range(100))
        assert len(url_key(url)) <= len(url)


class TestOpenSubmissionProblem:
    @pytest.mark.parametrize(
        ("statuses", "is_refused"),
        [
            ([], False),
            ([St.rejected], False),
            ([St.rejected, St.rejected], False),
            ([St.pending], True),
            ([St.approved], True),
            ([St.rejected, St.pending], True),
            ([St.rejected, St.approved], True),
        ],
    )
    def test_one_open_submission_per_customer(
        self, statuses: list[SubmissionStatus], is_refused: bool
    ) -> None:
        assert (open_submission_problem(statuses) is not None) is is_refused

    def test_the_problem_says_why(self) -> None:
        assert "reviewed" in (open_submission_problem([St.pending]) or "")
        assert "one sample per customer" in (open_submission_problem([St.approved]) or "")


class TestDecide:
    @pytest.mark.parametrize(
        ("current", "decision", "move"),
        [
            (St.pending, Decision.approve, Move.change),
            (St.pending, Decision.reject, Move.change),
            (St.approved, Decision.approve, Move.unchanged),
            (St.rejected, Decision.reject, Move.unchanged),
            (St.approved, Decision.reject, Move.conflict),
            (St.rejected, Decision.approve, Move.conflict),
        ],
    )
    def test_moves(self, current: SubmissionStatus, decision: Decision, move: Move) -> None:
        assert decide(current, decision) is move

    @pytest.mark.parametrize(
        ("reason", "decision", "is_problem"),
        [
            (None, Decision.approve, False),
            ("", Decision.approve, False),
            ("Lovely photos", Decision.approve, False),
            ("Hashtag missing", Decision.reject, False),
            ("x" * 500, Decision.reject, False),
            (None, Decision.reject, True),
            ("", Decision.reject, True),
            ("   ", Decision.reject, True),
            ("x" * 501, Decision.reject, True),
            ("x" * 501, Decision.approve, True),
        ],
    )
    def test_reason(self, reason: str | None, decision: Decision, is_problem: bool) -> None:
        assert (reason_problem(reason, decision) is not None) is is_problem


def test_the_share_page_has_a_message_for_each_refusal_of_a_post() -> None:
    """The form redirects back with the error's code; the page (growth) must know each code a post can get."""
    refusals = {
        InvalidPostUrl,
        UnsupportedPlatform,
        PostAlreadySubmitted,
        SubmissionAlreadyOpen,
        CampaignNotActive,
        NotASocialShareCampaign,
        SharesAreForCustomers,
    }
    assert {cls.code() for cls in refusals} == link_rules.POST_FORM_ERRORS

"""Pure rules of hashtag sharing: the personal tag, post URLs and their platforms, moderation moves."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from urllib.parse import unquote_plus, urlsplit, urlunsplit

MAX_URL_LENGTH = 2000


class SharePlatform(StrEnum):
    weibo = "weibo"
    xiaohongshu = "xiaohongshu"
    douyin = "douyin"
    wechat_channels = "wechat_channels"
    instagram = "instagram"
    tiktok = "tiktok"
    x = "x"
    facebook = "facebook"


class SubmissionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"


PLATFORM_DOMAINS: dict[str, SharePlatform] = {
    "weibo.com": SharePlatform.weibo,
    "weibo.cn": SharePlatform.weibo,  # m.weibo.cn is its subdomain
    "xiaohongshu.com": SharePlatform.xiaohongshu,
    "xhslink.com": SharePlatform.xiaohongshu,
    "douyin.com": SharePlatform.douyin,  # v.douyin.com: the app's short links
    "channels.weixin.qq.com": SharePlatform.wechat_channels,
    "instagram.com": SharePlatform.instagram,
    "tiktok.com": SharePlatform.tiktok,  # vm.tiktok.com: the app's short links
    "x.com": SharePlatform.x,
    "twitter.com": SharePlatform.x,
    "facebook.com": SharePlatform.facebook,
    "fb.watch": SharePlatform.facebook,
}
"""Registrable domains (and their subdomains) of each platform; only WeChat Channels is a subdomain."""

TRACKING_PARAMS = frozenset(
    {
        "spm",
        "spm_id_from",
        "fbclid",
        "gclid",
        "igsh",
        "igshid",
        "mibextid",
        "rdid",
        "xsec_token",
        "xsec_source",
        "apptime",
        "appuid",
        "app_platform",
        "app_version",
        "author_share",
        "sharered",
        "shareredid",
        "is_from_webapp",
        "is_copy_url",
        "sender_device",
        "web_id",
        "u_code",
        "previous_page",
        "_r",
        "_t",
        "ref_src",
        "ref_url",
        "wm",
        "jumpfrom",
        "sourcetype",
    }
)
"""Query parameters that say how a post was shared, never which post it is (compared in lower case)."""
TRACKING_PREFIXES = ("utm_", "share_")
PLATFORM_TRACKING_PARAMS: dict[SharePlatform, frozenset[str]] = {
    # x.com/.../status/1?s=20&t=...: share-sheet markers; elsewhere ``s`` or ``t`` may name the post.
    SharePlatform.x: frozenset({"s", "t"}),
    SharePlatform.weibo: frozenset({"from"}),
}


def personal_hashtag(campaign_hashtag: str, code: str) -> str:
    """The tag that traces a customer's posts: the campaign's hashtag and the customer's referral code."""
    return f"{campaign_hashtag}_{code}"


def parse_platforms(setting: str) -> frozenset[SharePlatform]:
    """The platforms enabled by a comma-separated setting; unknown names enable nothing."""
    names = {name.strip().lower() for name in setting.split(",")}
    return frozenset(platform for platform in SharePlatform if platform.value in names)


def post_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a public post's address, or None: absolute http(s), a host, no credentials."""
    if len(url) > MAX_URL_LENGTH:
        return f"url is longer than {MAX_URL_LENGTH} characters"
    # Cf covers zero-width and bidi-override characters, which would hide what the link really is.
    if any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"} for ch in url):
        return "url contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port out of range
        return "url is not a valid URL"
    if parts.scheme.lower() not in {"http", "https"} or not host:
        return "url must be an absolute http or https URL"
    if "@" in parts.netloc:
        return "url must not contain credentials"
    if len(url_key(url)) > MAX_URL_LENGTH:  # http:// becomes https:// in the key
        return f"url is longer than {MAX_URL_LENGTH} characters"
    return None


def platform_of(url: str) -> SharePlatform | None:
    """The platform whose site ``url`` is on (``www.``/``m.`` and other subdomains included), or None."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    for domain, platform in PLATFORM_DOMAINS.items():
        if host == domain or host.endswith(f".{domain}"):
            return platform
    return None


def platform_problem(url: str, enabled: frozenset[SharePlatform]) -> str | None:
    """Why posts at ``url`` are not taken (a site that is no platform, or one not enabled), or None."""
    platform = platform_of(url)
    if platform is None or platform not in enabled:
        supported = ", ".join(sorted(p.value for p in enabled)) or "none"
        return f"unsupported platform: posts are taken from {supported}"
    return None


def _is_tracking(name: str, platform: SharePlatform | None) -> bool:
    lowered = name.lower()
    return (
        lowered in TRACKING_PARAMS
        or lowered.startswith(TRACKING_PREFIXES)
        or (platform is not None and lowered in PLATFORM_TRACKING_PARAMS.get(platform, frozenset()))
    )


def url_key(url: str) -> str:
    """The post behind ``url``, as one string: the same post shared twice gives the same key.

    Scheme and host in lower case (``http`` counts as ``https``, ``www.`` and default ports
    dropped), no fragment, no tracking parameters (the rest sorted), no trailing slash.
    Paths keep their case: post ids are case-sensitive on most platforms.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").removeprefix("www.")
    if parts.port is not None and parts.port not in {80, 443}:
        host = f"{host}:{parts.port}"
    platform = platform_of(url)
    # Parameters are kept as written (not decoded and re-encoded), so a key is never longer than its URL.
    query = sorted(
        piece
        for piece in parts.query.split("&")
        if piece and not _is_tracking(unquote_plus(piece.partition("=")[0]), platform)
    )
    return urlunsplit(("https", host, parts.path.rstrip("/"), "&".join(query), ""))


def open_submission_problem(statuses: list[SubmissionStatus]) -> str | None:
    """Why a customer with submissions in ``statuses`` may not submit another post, or None.

    One sample per customer and campaign: a post in review or approved blocks the next one;
    after a rejection the customer may try again with another post.
    """
    if SubmissionStatus.approved in statuses:
        return "your post was already approved in this campaign; one sample per customer"
    if SubmissionStatus.pending in statuses:
        return "your earlier post is still being reviewed"
    return None


class Move(StrEnum):
    """What a moderation decision does to a submission."""

    change = "change"
    unchanged = "unchanged"
    """The same decision again: nothing to do (a retried request)."""
    conflict = "conflict"
    """Already decided the other way."""


DECIDED_AS = {Decision.approve: SubmissionStatus.approved, Decision.reject: SubmissionStatus.rejected}


def decide(current: SubmissionStatus, decision: Decision) -> Move:
    """Pending moves to approved or rejected; the same decision again is no move; a reversal conflicts."""
    if current is SubmissionStatus.pending:
        return Move.change
    return Move.unchanged if current is DECIDED_AS[decision] else Move.conflict


def reason_problem(reason: str | None, decision: Decision) -> str | None:
    """Why a moderator's note cannot go with ``decision``, or None: a rejection needs a reason."""
    text = (reason or "").strip()
    if decision is Decision.reject and not text:
        return "a rejection needs a reason (1-500 characters)"
    if len(text) > 500:
        return "the reason is longer than 500 characters"
    return None

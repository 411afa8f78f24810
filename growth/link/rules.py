"""Pure rules of referral links: landing URLs, QR codes and share buttons."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

from growth.core.forms import percent_text

QR_MIN_SIZE = 64
QR_MAX_SIZE = 1024
QR_DEFAULT_SIZE = 256
QR_BORDER = 4


def referral_link(base_url: str, code: str) -> str:
    """The public link of a code: ``{base_url}/r/{code}``."""
    return f"{base_url.rstrip('/')}/r/{quote(code, safe='')}"


def landing_url_with_code(landing_url: str, params: dict[str, str]) -> str:
    """``landing_url`` with ``params`` added to (or replacing the same names in) its own query."""
    parts = urlsplit(landing_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def landing_parts(landing_url: str, *, code_param: str, click_param: str) -> tuple[str, str]:
    """``(head, fragment)`` of a landing URL, split once per campaign so that a redirect only joins strings.

    ``head + code_query(...) + click_id + fragment`` is the URL ``landing_url_with_code`` gives (click ids
    need no quoting); the page's own ``code_param`` and ``click_param`` are dropped.
    """
    parts = urlsplit(landing_url)
    names = (code_param, click_param)
    own = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names])
    head = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"{head}?{own}&" if own else f"{head}?", f"#{parts.fragment}" if parts.fragment else ""


def code_query(*, code_param: str, code: str, click_param: str) -> str:
    """``ref=CODE&ref_click=``: what goes between a landing URL's head and the click id."""
    return f"{urlencode({code_param: code})}&{urlencode({click_param: ''})}"


def followed_code(path: str) -> str | None:
    """The code of a redirect's path ``/r/{code}``; None for any other path (``/r/{code}/qr.svg``)."""
    if not path.startswith("/r/"):
        return None
    code = path[3:]
    return code if code and "/" not in code else None


def cookie_value(cookie_header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` request header (the last if repeated), unquoted."""
    found = None
    for pair in cookie_header.split(";"):
        key, has_value, value = pair.partition("=")
        if has_value and key.strip() == name:
            found = value
    return None if found is None else unquote(found.strip().strip('"'))


def attribution_cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    """The ``Set-Cookie`` value of the attribution cookie: first-party, HttpOnly, SameSite=Lax."""
    attributes = f"HttpOnly; Max-Age={max_age}; Path=/; SameSite=lax"
    return f"{name}={value}; {attributes}; Secure" if secure else f"{name}={value}; {attributes}"


def _qr(url: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QR_BORDER, box_size=1)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_svg(url: str, size: int = QR_DEFAULT_SIZE) -> bytes:
    """An SVG QR code of ``url``, ``size`` pixels wide and high (vector, scales cleanly)."""
    qr = _qr(url)
    image = qr.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    svg = image.to_string(encoding="unicode")
    # The factory sizes the drawing in millimetres (its viewBox keeps the geometry); state the
    # size asked for in pixels instead.
    head, _, tail = svg.partition(">")
    head = _set_attr(_set_attr(head, "width", str(size)), "height", str(size))
    return (head + ">" + tail).encode()


def _set_attr(tag: str, name: str, value: str) -> str:
    marker = f' {name}="'
    start = tag.find(marker)
    if start < 0:
        return f'{tag} {name}="{value}"'
    end = tag.index('"', start + len(marker))
    return f"{tag[:start]}{marker}{value}{tag[end:]}"


def qr_png(url: str, size: int = QR_DEFAULT_SIZE) -> bytes:
    """A PNG QR code of ``url``, at most ``size`` pixels wide: whole pixels per module keep it sharp."""
    qr = _qr(url)
    modules = qr.modules_count + 2 * QR_BORDER
    qr.box_size = max(1, size // modules)
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def qr_etag(url: str, size: int, fmt: str) -> str:
    """A strong validator for a QR image: the same URL, size and format give the same bytes."""
    return hashlib.sha256(f"{fmt}:{size}:{url}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """A share button: its network, and where clicking it goes (None: show the QR code instead)."""

    network: str
    url: str | None


def share_targets(link: str, text: str, subject: str) -> list[ShareTarget]:
    """Share buttons for a referral link; WeChat shares by scanning the QR code."""
    q = lambda value: quote(value, safe="")  # noqa: E731
    return [
        ShareTarget("wechat", None),
        ShareTarget("weibo", f"https://service.weibo.com/share/share.php?url={q(link)}&title={q(text)}"),
        ShareTarget("x", f"https://twitter.com/intent/tweet?text={q(text)}&url={q(link)}"),
        ShareTarget("facebook", f"https://www.facebook.com/sharer/sharer.php?u={q(link)}"),
        ShareTarget("whatsapp", f"https://wa.me/?text={q(text + ' ' + link)}"),
        ShareTarget("email", f"mailto:?subject={q(subject)}&body={q(text + chr(10) + link)}"),
    ]


def personal_hashtag(campaign_hashtag: str, code: str) -> str:
    """A customer's own tag, so their posts can be traced: ``#春日好物_7KQ2M9XD``.

    The same rule as ``campaigns.share.rules.personal_hashtag`` (growth cannot import it).
    """
    return f"{campaign_hashtag}_{code}"


POST_FORM_ERRORS = frozenset(
    {
        "invalid_post_url",
        "unsupported_platform",
        "post_already_submitted",
        "submission_already_open",
        "campaign_not_active",
        "not_a_social_share_campaign",
        "shares_are_for_customers",
    }
)
"""Error codes the post form redirects back with, each with its own message on the page."""


def post_form_notice(submitted: str | None, error: str | None) -> str | None:
    """What the share page says about the post just submitted: ``submitted``, a known error, or ``error``."""
    if error is not None:
        return error if error in POST_FORM_ERRORS else "error"
    return "submitted" if submitted == "1" else None


def percent_label(rate_bps: int) -> str:
    """Basis points as a percentage without floats: 1000 -> ``10%``, 1250 -> ``12.5%``, 5 -> ``0.05%``."""
    return f"{percent_text(rate_bps)}%"


class ReferralStage(StrEnum):
    """Where a referred friend's order stands, as the referrer's share page shows it."""

    ordered = "ordered"
    order_closed = "order_closed"
    in_review = "in_review"
    """The risk review holds the order: the page says so, never why."""
    reward_approved = "reward_approved"
    reward_issued = "reward_issued"
    reward_delivered = "reward_delivered"
    cancelled = "cancelled"
    """The order was refunded or cancelled, or the reward voided."""
    no_reward = "no_reward"
    """The order earned nothing (budget used up, out of stock, not qualifying)."""


def referral_stage(*, order_status: str, reward_status: str | None, is_in_review: bool) -> ReferralStage:
    """The stage of one referred friend's order: the reward's, once it moves on, else the order's."""
    if order_status in ("refunded", "cancelled") or reward_status == "voided":
        return ReferralStage.cancelled
    if is_in_review:
        return ReferralStage.in_review
    by_reward = {
        "approved": ReferralStage.reward_approved,
        "issued": ReferralStage.reward_issued,
        "fulfilled": ReferralStage.reward_delivered,
        "not_granted": ReferralStage.no_reward,
    }
    if reward_status in by_reward:
        return by_reward[reward_status]
    return ReferralStage.order_closed if order_status == "closed" else ReferralStage.ordered

"""Pure notification rules: which event tells whom what, the e-mail's words in the recipient's language,
webhook bodies, signatures and retry times."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from babel.numbers import format_currency

from growth.core.i18n import date_text
from growth.core.money import Money
from growth.core.signing import webhook_mac

TIMESTAMP_HEADER = "X-Growth-Timestamp"
SIGNATURE_HEADER = "X-Growth-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_URL_LENGTH = 2000
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)


class Kind(StrEnum):
    """What a notification is about; also the event kinds a webhook endpoint subscribes to."""

    friend_ordered = "friend_ordered"
    reward_approved = "reward_approved"
    reward_issued = "reward_issued"
    sample_approved = "sample_approved"
    statement_ready = "statement_ready"
    payout_sent = "payout_sent"
    payout_failed = "payout_failed"
    delay_alert = "delay_alert"


class RecipientType(StrEnum):
    customer = "customer"
    partner = "partner"


class EmailStatus(StrEnum):
    """``sent``: handed to the SMTP server; ``stored``: kept in the outbox (no SMTP server)."""

    sent = "sent"
    stored = "stored"


class DeliveryStatus(StrEnum):
    """``pending`` (due at its next attempt), ``delivered`` (a 2xx) or ``failed`` (out of attempts)."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: its kind, who receives it and the facts its message is made of."""

    kind: Kind
    recipient_type: RecipientType
    recipient_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    emailed: bool = True
    """False when another notice of the same event already e-mails this recipient (webhooks only)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where and in which language a customer or partner is told (filled by the app factory's lookup)."""

    email: str | None
    name: str | None
    locale: str


def _reward_notice(payload: Mapping[str, Any], issued: bool) -> list[Notice]:
    if issued:
        kind = Kind.reward_issued
    else:
        kind = Kind.sample_approved if payload.get("share_submission_id") else Kind.reward_approved
    return [Notice(kind, RecipientType.customer, str(payload["customer_id"]), payload)]


def _friend_ordered(payload: Mapping[str, Any]) -> list[Notice]:
    referrer = payload.get("customer_referrer_id")
    # A rejected order earns nothing: telling the referrer about it would only raise questions.
    if not referrer or payload.get("review") == "rejected":
        return []
    return [Notice(Kind.friend_ordered, RecipientType.customer, str(referrer), payload)]


def _delay(payload: Mapping[str, Any]) -> list[Notice]:
    recipient_type = RecipientType(payload["recipient_type"])
    # ``payout.failed`` already e-mailed the partner with the same options: one e-mail, not two.
    # The alert still reaches marketing's list and the webhooks.
    emailed = payload.get("kind") != "payout_failed"
    return [Notice(Kind.delay_alert, recipient_type, str(payload["recipient_id"]), payload, emailed=emailed)]


EVENTS: dict[str, Callable[[Mapping[str, Any]], list[Notice]]] = {
    "order.attributed": _friend_ordered,
    "reward.approved": lambda p: _reward_notice(p, issued=False),
    "reward.issued": lambda p: _reward_notice(p, issued=True),
    "statement.issued": lambda p: [
        Notice(Kind.statement_ready, RecipientType.partner, str(p["partner_id"]), p)
    ],
    "payout.sent": lambda p: [Notice(Kind.payout_sent, RecipientType.partner, str(p["partner_id"]), p)],
    "payout.failed": lambda p: [Notice(Kind.payout_failed, RecipientType.partner, str(p["partner_id"]), p)],
    "delay.alerted": _delay,
}
"""The outbox events that notify, and the notices each one makes."""


def filter_problem(name: str, value: str | None, known: type[StrEnum]) -> str | None:
    """Why ``value`` cannot filter a list by ``name``, or None (no filter, or a known value)."""
    if value is None or value in known.__members__:
        return None
    return f"unknown {name} {value[:40]!r}; one of: {', '.join(known)}"


def notices_for(event_name: str, payload: Mapping[str, Any]) -> list[Notice]:
    """The notifications an outbox event makes; none for an event that notifies nobody."""
    make = EVENTS.get(event_name)
    return make(payload) if make else []


# --- the e-mail ---------------------------------------------------------------------------------


def money_text(amount: int, currency: str, locale: str) -> str:
    """Minor units for people, in ``locale``: ``¥1,234.50``, ``$20.00``."""
    return format_currency(Money(amount, currency).to_decimal(), currency, locale=Locale.parse(locale))


def _at(data: Mapping[str, Any], *keys: str) -> datetime | None:
    for key in keys:
        if value := data.get(key):
            return datetime.fromisoformat(str(value))
    return None


def render(
    notice: Notice, *, gettext: Callable[[str], str], locale: str, tz: str, name: str | None
) -> tuple[str, str]:
    """The e-mail's subject and text for ``notice`` in ``locale`` (``gettext`` is that locale's)."""
    _ = gettext
    data = notice.data

    def amount(key: str = "amount") -> str:
        currency = data.get("currency")
        return money_text(int(data.get(key) or 0), str(currency), locale) if currency else ""

    def on(*keys: str) -> str:
        at = _at(data, *keys)
        return date_text(at, locale, tz) if at else ""

    greeting = _("Hello %(name)s,") % {"name": name} if name else _("Hello,")
    if notice.kind is Kind.friend_ordered:
        subject = _("A friend ordered with your code")
        line = _("%(friend)s ordered %(amount)s on %(date)s with your referral code.") % {
            "friend": data.get("friend_initials") or _("A friend"),
            "amount": amount(),
            "date": on("placed_at"),
        }
        detail = _("Your reward is approved once the order is paid and its hold period has passed.")
    elif notice.kind is Kind.reward_approved:
        subject = _("Your reward is approved")
        line = _("Your reward of %(amount)s was approved on %(date)s.") % {
            "amount": amount(),
            "date": on("at"),
        }
        detail = _("We will let you know when it is issued.")
    elif notice.kind is Kind.reward_issued:
        subject = _("Your reward is issued")
        line = _("Your reward of %(amount)s was issued on %(date)s.") % {"amount": amount(), "date": on("at")}
        detail = (
            _("Your coupon code: %(code)s") % {"code": data["coupon_code"]}
            if data.get("coupon_code")
            else _("You can see it on your share page.")
        )
    elif notice.kind is Kind.sample_approved:
        subject = _("Your post is approved: a sample is on its way")
        line = _("Your post was approved on %(date)s.") % {"date": on("at")}
        detail = _("Confirm your shipping address on your share page and we send your sample.")
    elif notice.kind is Kind.statement_ready:
        subject = _("Your commission statement for %(period)s is ready") % {"period": data.get("period", "")}
        line = _("Your statement for %(period)s was issued on %(date)s; payable: %(amount)s.") % {
            "period": data.get("period", ""),
            "date": on("issued_at"),
            "amount": amount("closing_payable"),
        }
        detail = _("You can read it in the partner portal.")
    elif notice.kind is Kind.payout_sent:
        subject = _("Your payout was sent")
        line = _("We sent your payout of %(amount)s on %(date)s.") % {"amount": amount(), "date": on("at")}
        detail = _("Depending on your bank, it arrives within a few business days.")
    elif notice.kind is Kind.payout_failed:
        subject = _("Your payout could not be sent")
        line = _("Your payout of %(amount)s could not be sent on %(date)s.") % {
            "amount": amount(),
            "date": on("at"),
        }
        detail = _("Please check your payout account in the partner portal; we try again with the next run.")
    else:
        subject = _("An update on something that is taking longer than expected")
        what = {
            "gift_pack_not_shipped": _("Your gift pack has not shipped yet."),
            "gift_pack_out_of_stock": _("Your gift pack is out of stock."),
            "reward_in_review": _("Your reward is still being checked."),
            "payout_failed": _("Your payout could not be sent."),
        }.get(str(data.get("kind")), _("Something is taking longer than we said."))
        # Chinese sentences follow each other without a space, and list with the full-width semicolon.
        space, semicolon = ("", "；") if locale.startswith("zh") else (" ", "; ")
        line = what + space + _("It was expected by %(date)s.") % {"date": on("expected_at", "detected_at")}
        context = data.get("context") or {}
        credit = context.get("store_credit_amount")
        choices = {
            "take_store_credit_now": _("take %(amount)s in store credit now")
            % {"amount": money_text(int(credit), str(context["currency"]), locale)}
            if credit and context.get("currency")
            else _("take store credit now"),
            "wait_for_restock": _("wait for the restock"),
            "confirm_address": _("confirm your shipping address on your share page"),
            "wait": _("wait: we are on it"),
            "update_payout_account": _("check your payout account in the partner portal"),
            "contact_support": _("reply to this e-mail to reach us"),
        }
        options = [choices.get(str(option), str(option)) for option in data.get("options") or []]
        detail = (
            _("Your options: %(options)s") % {"options": semicolon.join(options)}
            if options
            else _("We are on it and will tell you when it is done.")
        )
        on_page = {"take_store_credit_now", "confirm_address"} & {str(o) for o in data.get("options") or []}
        if data.get("share_url") and on_page:
            detail += "\n\n" + _("Choose on your share page: %(url)s") % {"url": data["share_url"]}
    return subject, "\n\n".join([greeting, line, detail])


# --- webhooks -----------------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"the url is longer than {MAX_URL_LENGTH} characters"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the url must be an absolute http:// or https:// URL"
    return None


def kinds_problem(kinds: list[str]) -> str | None:
    """Why ``kinds`` is not a list of subscribable notification kinds, or None."""
    if not kinds:
        return "subscribe to at least one event kind"
    unknown = sorted(set(kinds) - {k.value for k in Kind})
    if unknown:
        return f"unknown event kind(s): {', '.join(unknown)}; known: {', '.join(k.value for k in Kind)}"
    return None


def webhook_body(*, delivery_id: str, event_id: str, notice: Notice, occurred_at: datetime) -> dict[str, Any]:
    """The JSON a webhook endpoint receives for one notice."""
    return {
        "id": delivery_id,
        "event_id": event_id,
        "kind": notice.kind.value,
        "occurred_at": occurred_at.isoformat(),
        "recipient": {"type": notice.recipient_type.value, "id": notice.recipient_id},
        "data": dict(notice.data),
    }


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """``X-Growth-Timestamp`` and ``X-Growth-Signature: sha256=<hex HMAC of "<timestamp>." + body>``."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: SIGNATURE_PREFIX + webhook_mac(secret, timestamp, body),
    }


def next_retry(attempt: int, *, max_attempts: int, now: datetime) -> datetime | None:
    """When to retry after failed attempt ``attempt``: 30 s, 1 min, 2 min, ... capped; None: give up."""
    if attempt >= max_attempts:
        return None
    return now + min(FIRST_RETRY * 2 ** (attempt - 1), MAX_RETRY)

"""Locales: choosing one from Accept-Language, and Babel catalogs for the templates.

Catalogs are the ``.po`` files under ``growth/locale``; they are compiled in memory when first
needed, so no generated ``.mo`` file is kept in the repository.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_percent
from babel.support import NullTranslations, Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from growth.core.money import Money
from growth.core.time import to_local

SUPPORTED = ("en", "zh_Hans")
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans"}


def _match(tag: str) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    # Only Simplified Chinese is translated: closer than English for every Chinese reader.
    if tag == "zh" or tag.startswith("zh-"):
        return "zh_Hans"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def negotiate_locale(accept_language: str | None, *, override: str | None = None, default: str = "en") -> str:
    """The supported locale a visitor prefers: ``?lang=`` first, then Accept-Language by weight."""
    if override and (chosen := _match(override)):
        return chosen
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.partition(";")
        weight = 1.0
        if params.strip().lower().startswith("q="):
            try:
                weight = min(float(params.strip()[2:]), 1.0)
            except ValueError:
                continue
        weighted.append((-weight, position, tag))
    for negative_weight, _, tag in sorted(weighted):
        if negative_weight < 0 and (chosen := _match(tag)):
            return chosen
    return default if default in SUPPORTED else "en"


@lru_cache(maxsize=len(SUPPORTED))
def translations(locale: str) -> NullTranslations:
    """Gettext translations of ``locale``, compiled from its ``.po`` catalog."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def _locale_of(context: Context) -> str:
    return context.get("locale") or "en"


# Jinja's new-style gettext wraps these: it escapes and interpolates the variables itself.
@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_locale_of(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_locale_of(context)).ngettext(singular, plural, n)


@pass_context
def money_filter(context: Context, value: Money) -> str:
    """``Money`` for people: ``¥20.00``, ``$1,250.00``, in the page's locale."""
    return format_currency(value.to_decimal(), value.currency, locale=Locale.parse(_locale_of(context)))


@pass_context
def percent_filter(context: Context, bps: int | None) -> str:
    """Basis points as a percentage with two decimals (``12.34%``) in the page's locale; a dash for none."""
    if bps is None:
        return "\u2013"
    return format_percent(Decimal(bps) / 10_000, "#,##0.00%", locale=Locale.parse(_locale_of(context)))


@pass_context
def local_dt_filter(context: Context, value: datetime, fmt: str = "medium") -> str:
    """An instant shown in the program's time zone and the page's locale."""
    tz = context.get("timezone") or "UTC"
    return format_datetime(to_local(value, tz), format=fmt, locale=Locale.parse(_locale_of(context)))


@pass_context
def local_date_filter(context: Context, value: date | datetime) -> str:
    """A calendar day for people in the page's locale: ``Nov 26, 2026``, ``2026年11月26日``.

    An instant is first moved into the program's time zone; a date is shown as it is.
    """
    return date_text(value, _locale_of(context), context.get("timezone") or "UTC")


def date_text(at: date | datetime, locale: str, tz: str) -> str:
    """A calendar day for people (pages and e-mails): ``Nov 26, 2026``, ``2026年11月26日``."""
    day = to_local(at, tz).date() if isinstance(at, datetime) else at
    return format_date(
        day, format="long" if locale.startswith("zh") else "medium", locale=Locale.parse(locale)
    )


LANG_COOKIE = "growth_lang"
"""Remembers the language a visitor chose with ``?lang=`` for the pages they open next."""
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def chosen_language(query_lang: str | None, cookies: Mapping[str, str]) -> str | None:
    """The language the visitor asked for: ``?lang=`` on this page, else the one they chose before."""
    return query_lang or cookies.get(LANG_COOKIE) or None


async def remember_language(message: Message, scope: Scope) -> None:
    """``before_send``: a page opened with a supported ``?lang=`` sets the language cookie."""
    if message["type"] != "http.response.start" or scope.get("method") != "GET":
        return
    chosen = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang")
    if not chosen or (locale := _match(chosen[-1])) is None:
        return
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    MutableScopeHeaders.from_message(message).add(
        "set-cookie",
        f"{LANG_COOKIE}={locale}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{secure}",
    )


@pass_context
def lang_href(context: Context, code: str) -> str:
    """This page's address in another language: its query kept, only ``lang`` replaced."""
    request = context.get("request")
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] if request else []
    return "?" + urlencode([*params, ("lang", code)])


def install(env: Environment) -> None:
    """Give a Jinja environment ``_``/``gettext``/``ngettext``, the ``money``/``local_dt`` filters and
    ``money_of`` (minor units and a currency as ``Money``)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = money_filter
    env.filters["local_dt"] = local_dt_filter
    env.filters["local_date"] = local_date_filter
    env.globals["lang_href"] = lang_href
    env.filters["percent"] = percent_filter
    env.globals["money_of"] = Money  # money_of(minor_units, currency) | money

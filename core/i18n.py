"""Languages, translation and locale-aware formatting of money, numbers and dates.

The UI speaks Estonian (``et``) and English (``en``). The language of a request is the
logged-in user's choice, else the language cookie, else the tenant's default. Every plugin
keeps its own gettext catalogues (translation domain = plugin name) in ``locale/``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from pyramid.i18n import Localizer, TranslationStringFactory, make_localizer
from pyramid.interfaces import ITranslationDirectories
from pyramid.registry import Registry
from pyramid.request import Request
from sqlalchemy.exc import SQLAlchemyError

_ = TranslationStringFactory("core")

LANGUAGES: dict[str, str] = {"et": "Eesti keel", "en": "English"}
DEFAULT_LOCALE = "et"
LOCALE_COOKIE = "kh_lang"


def negotiate_locale(request: Request) -> str:
    """The request's language: user's choice, cookie, tenant default, Estonian."""
    try:
        user = request.user if request.tenant is not None else None
    except SQLAlchemyError:  # a failed transaction: fall back to the cookie
        user = None
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    tenant = request.tenant
    if tenant is not None and tenant.locale in LANGUAGES:
        return tenant.locale
    return DEFAULT_LOCALE


def translate(request: Request, message: Any, mapping: dict[str, Any] | None = None) -> str:
    """Translate a translation string (or pass plain text through) for the request."""
    return request.localizer.translate(message, mapping=mapping)


def localizer_for(registry: Registry, locale_name: str) -> Localizer:
    """A localizer for ``locale_name`` with every catalogue of the application (for text in
    a language other than the request's, e.g. an invoice in the client's language)."""
    if locale_name not in LANGUAGES:
        locale_name = DEFAULT_LOCALE
    cache = registry.__dict__.setdefault("_kh_localizers", {})
    localizer = cache.get(locale_name)
    if localizer is None:
        directories = registry.queryUtility(ITranslationDirectories) or []
        localizer = cache[locale_name] = make_localizer(locale_name, directories)
    return localizer


def tenant_zone(request: Request) -> ZoneInfo:
    """The tenant's time zone (Europe/Tallinn by default)."""
    tenant = getattr(request, "tenant", None)
    return ZoneInfo(tenant.timezone if tenant is not None else "Europe/Tallinn")


def local_today(request: Request) -> dt.date:
    """Today in the tenant's time zone (invoice due dates, ageing, "overdue")."""
    return dt.datetime.now(tenant_zone(request)).date()


def format_money(request: Request, amount: Decimal | int | None, currency: str = "EUR") -> str:
    """``1 234,56 €`` in Estonian, ``€1,234.56`` in English; empty for None."""
    if amount is None:
        return ""
    if isinstance(amount, float | bool):
        raise TypeError("money must be Decimal (or int), not float or bool")
    return babel_numbers.format_currency(
        Decimal(amount), currency, locale=request.locale_name
    )


def format_number(request: Request, value: Decimal | int | None, digits: int | None = None) -> str:
    """A number with the locale's grouping and decimal separator."""
    if value is None:
        return ""
    if digits is not None:
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return babel_numbers.format_decimal(value, format=pattern, locale=request.locale_name)
    return babel_numbers.format_decimal(value, locale=request.locale_name)


def format_date(request: Request, value: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
    """A date in the locale's style; datetimes are first moved to the tenant's zone."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _aware(value).astimezone(tenant_zone(request)).date()
    return babel_dates.format_date(value, format=fmt, locale=request.locale_name)


def format_datetime(request: Request, value: dt.datetime | None, fmt: str = "medium") -> str:
    """A timestamp in the tenant's time zone and the locale's style."""
    if value is None:
        return ""
    return babel_dates.format_datetime(
        _aware(value), format=fmt, tzinfo=tenant_zone(request), locale=request.locale_name
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """Refuse naive timestamps: every time in the product is timezone-aware."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given where a timezone-aware one is required")
    return value


def includeme(config: Any) -> None:
    """Install the locale negotiator, the core catalogue and the formatting helpers."""
    config.set_locale_negotiator(negotiate_locale)
    config.add_translation_dirs("core:locale")
    config.add_request_method(translate, "translate")
    config.add_request_method(format_money, "format_money")
    config.add_request_method(format_number, "format_number")
    config.add_request_method(format_date, "format_date")
    config.add_request_method(format_datetime, "format_datetime")

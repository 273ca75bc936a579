"""Language and formats: German first (msgids are German, formal "Sie"), English by catalogue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_datetime as _babel_dt
from babel.numbers import format_currency, format_decimal
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from .timeutil import to_berlin


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    if has_request_context():
        if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
            return current_user.locale
        if session.get("lang") in langs:
            return session["lang"]
        return request.accept_languages.best_match(langs) or "de"
    return "de"


def current_lang() -> str:
    loc = get_locale()
    return loc.language if loc else "de"


def format_dt(value: dt.datetime | None, lang: str | None = None, seconds: bool = False) -> str:
    """31.10.2011, 23:59 Uhr (German) / 31 Oct 2011, 23:59 (English), always in Leipzig time; ``seconds``: to
    the second (a time of receipt: 31.10.2011, 23:59:59 Uhr)."""
    if value is None:
        return "–"
    local = to_berlin(value)
    lang = lang or current_lang()
    if lang == "de":
        return local.strftime("%d.%m.%Y, %H:%M:%S Uhr" if seconds else "%d.%m.%Y, %H:%M Uhr")
    return _babel_dt(local, "d MMM yyyy, HH:mm:ss" if seconds else "d MMM yyyy, HH:mm", locale="en_GB")


def format_date(value: dt.datetime | None, lang: str | None = None) -> str:
    if value is None:
        return "–"
    local = to_berlin(value)
    lang = lang or current_lang()
    return local.strftime("%d.%m.%Y") if lang == "de" else _babel_dt(local, "d MMM yyyy", locale="en_GB")


def format_money(cents: int | None, lang: str | None = None) -> str:
    """1.234,56 € (German) / €1,234.56 (English); money is integer cents everywhere."""
    if cents is None:
        return "–"
    lang = lang or current_lang()
    amount = Decimal(cents) / 100
    return format_currency(amount, "EUR", locale="de_DE" if lang == "de" else "en_GB")


def format_number(
    value: Decimal | float | int | None, digits: int | None = None, lang: str | None = None
) -> str:
    """12,5 (German) / 12.5 (English): as many decimals as the value has, or exactly ``digits`` (86,0 points;
    1.234,57), with the reader's thousands separator."""
    if value is None:
        return "–"
    lang = lang or current_lang()
    locale = "de_DE" if lang == "de" else "en_GB"
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if digits is not None:
        return format_decimal(number, format="#,##0." + "0" * digits if digits else "#,##0", locale=locale)
    # 25.00 from a Numeric column is 25
    return format_decimal(number.normalize(), locale=locale, decimal_quantization=False)


def label(pair: tuple[str, str] | list[str], lang: str | None = None) -> str:
    lang = lang or current_lang()
    return pair[0] if lang == "de" else pair[1]

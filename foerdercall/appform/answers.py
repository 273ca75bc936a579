"""The answers to a call's form, checked against its definition: one rule per question type.

:func:`check_answers` takes what was typed (text as the pages send it) or what was stored (the cleaned values) and
returns the cleaned answers (JSON-able) and a message per question that is wrong. A wrong value never stops the
others: the draft keeps everything that could be read, the page shows the typed text again with its message."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from ..i18n import current_lang
from ..text import one_line, printable
from .definition import (
    MONEY_MAX_CENTS,
    NUMBER_DECIMALS,
    NUMBER_MAX,
    SHORT_TEXT_MAX,
    Column,
    FormDefinition,
    Indicator,
    Question,
)

# Stored answers are read back as English numbers are typed: a decimal is stored as "1.125" (a point, no groups)
STORED = "en"
YES = ("y", "yes", "on", "true", "1", "ja")
NO = ("", "n", "no", "off", "false", "0", "nein")


@dataclass
class Checked:
    answers: dict[str, Any] = field(
        default_factory=dict
    )  # the cleaned answers (only those that could be read)
    errors: dict[str, str] = field(default_factory=dict)  # question key: message
    kept: dict[str, Any] = field(default_factory=dict)  # the typed value of each question with an error

    @property
    def ok(self) -> bool:
        return not self.errors


class Invalid(ValueError):
    """A value that cannot be read; the message is the one shown with the question."""


def check_answers(
    definition: FormDefinition,
    raw: Mapping[str, Any],
    *,
    complete: bool,
    lang: str = "de",
    attachments: Mapping[str, int] | None = None,
) -> Checked:
    """The answers in ``raw`` checked against ``definition``. A draft (``complete=False``) checks types and limits;
    a submission (``complete=True``) also needs every required question (all missing ones are reported).
    ``lang`` is how numbers and amounts were typed ("12.500,00" or "12,500.00"); ``attachments`` counts the files
    uploaded per attachment question (they are files, not answers)."""
    checked = Checked()
    for q in definition.questions():
        if q.type == "attachment":
            count = (attachments or {}).get(q.key, 0)
            if count > q.max_files:
                checked.errors[q.key] = _("Höchstens %(n)s Dateien.", n=q.max_files)
            elif complete and q.required and count == 0:
                checked.errors[q.key] = _("Bitte laden Sie diese Anlage hoch.")
            continue
        value = raw.get(q.key)
        try:
            cleaned = clean_answer(q, value, lang=lang)
            if complete:
                _check_complete(q, cleaned)
        except Invalid as exc:
            checked.errors[q.key] = str(exc)
            if value is not None:
                checked.kept[q.key] = value
            continue
        if not is_empty(cleaned):
            checked.answers[q.key] = cleaned
    _check_indicator_fields(definition, raw, checked, complete, lang)
    return checked


def _check_indicator_fields(
    definition: FormDefinition, raw: Mapping[str, Any], checked: Checked, complete: bool, lang: str
) -> None:
    """Targets only for the indicators of the chosen field of action (and those of every field); a required
    indicator question needs each of those."""
    role = definition.by_role("field_of_action")
    field = checked.answers.get(role.key) if role is not None else None
    for q in definition.questions():
        if q.type != "indicators" or q.key in checked.errors:
            continue
        given = checked.answers.get(q.key) or {}
        wrong = [
            i.label.get(current_lang()) for i in q.indicators if i.key in given and not i.applies_to(field)
        ]
        missing = (
            complete and q.required and any(i.key not in given for i in q.indicators if i.applies_to(field))
        )
        if wrong or missing:
            checked.errors[q.key] = (
                _(
                    "Diese Zielwerte gehören zu einem anderen Handlungsfeld: %(names)s. Bitte lassen Sie sie leer.",
                    names=", ".join(wrong),
                )
                if wrong
                else _("Bitte geben Sie für jeden Indikator einen Zielwert an.")
            )
            checked.answers.pop(q.key, None)
            if raw.get(q.key) is not None:
                checked.kept[q.key] = raw[q.key]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def personal_keys(definition: FormDefinition) -> list[str]:
    """The questions whose answers are personal: hidden in blind review, anonymised at retention."""
    return definition.personal_keys()


def clean_answer(q: Question, value: Any, *, lang: str = "de") -> Any:
    """One answer cleaned (None for none), or :class:`Invalid`."""
    kind = q.type
    if kind in ("short_text", "long_text"):
        return _clean_text(value, q.text_limit, single_line=kind == "short_text")
    if kind == "number":
        number = _number(value, lang, q.integer)
        if number is None:
            return None
        _within(number, q.min, q.max, lambda v: _format_number(v, lang))
        return _number_data(number, q.integer)
    if kind == "money":
        cents = parse_money(value, lang) if not isinstance(value, int) or isinstance(value, bool) else value
        if cents is None:
            return None
        if isinstance(value, int) and not 0 <= value <= MONEY_MAX_CENTS:
            raise Invalid(_("Der Betrag ist zu groß."))
        _within(cents, q.min, q.max, lambda v: format_cents(v, lang))
        return cents
    if kind == "date":
        day = parse_date(value)
        if day is None:
            return None
        _within(day, q.min, q.max, lambda v: v.strftime("%d.%m.%Y") if lang == "de" else v.isoformat())
        return day.isoformat()
    if kind == "single_choice":
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value not in q.choice_keys():
            raise Invalid(_("Bitte wählen Sie eine Antwort aus der Liste."))
        return value
    if kind == "multiple_choice":
        picks = [value] if isinstance(value, str) else value
        if picks is None or picks == "":
            return []
        if not isinstance(picks, list | tuple) or any(not isinstance(p, str) for p in picks):
            raise Invalid(_("Bitte wählen Sie Antworten aus der Liste."))
        picks = [p for p in picks if p]
        offered = q.choice_keys()
        if any(p not in offered for p in picks) or len(set(picks)) != len(picks):
            raise Invalid(_("Bitte wählen Sie Antworten aus der Liste."))
        if q.max_picks is not None and len(picks) > q.max_picks:
            raise Invalid(_("Bitte wählen Sie höchstens %(n)s Antworten.", n=q.max_picks))
        return [k for k in offered if k in picks]  # in the form's order
    if kind == "declaration":
        if isinstance(value, bool):
            return value
        if value is None:
            return None
        if isinstance(value, str) and value.strip().lower() in NO:
            return False
        if isinstance(value, str) and value.strip().lower() in YES:
            return True
        raise Invalid(_("Bitte kreuzen Sie an oder lassen Sie das Feld leer."))
    if kind == "table":
        return _clean_table(q, value, lang)
    if kind == "indicators":
        return _clean_indicators(q, value, lang)
    return None


def _check_complete(q: Question, cleaned: Any) -> None:
    if q.type == "multiple_choice" and q.min_picks and len(cleaned or []) < q.min_picks:
        raise Invalid(_("Bitte wählen Sie mindestens %(n)s Antworten.", n=q.min_picks))
    if q.type == "table":
        rows = cleaned or []
        if len(rows) < max(q.min_rows, 1 if q.required else 0):
            raise Invalid(_("Bitte füllen Sie mindestens %(n)s Zeilen aus.", n=max(q.min_rows, 1)))
        missing = [
            _("Zeile %(n)s, Spalte „%(column)s“", n=n, column=c.label.de)
            for n, row in enumerate(rows, start=1)
            for c in q.columns
            if c.required and is_empty(row.get(c.key))
        ]
        if missing:
            raise Invalid(_("Bitte füllen Sie noch aus: %(fields)s.", fields="; ".join(missing)))
        return
    if q.type == "indicators":
        return  # which targets are needed depends on the field of action: _check_indicator_fields
    if not q.required:
        return
    if q.type == "declaration":
        if cleaned is not True:
            raise Invalid(_("Bitte bestätigen Sie diese Erklärung."))
    elif is_empty(cleaned):
        raise Invalid(_("Bitte füllen Sie dieses Feld aus."))


# --- the types ----------------------------------------------------------------------------------------------------


def _clean_text(value: Any, limit: int, *, single_line: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(_("Bitte geben Sie einen Text ein."))
    text = printable(value)
    if single_line:
        text = one_line(text)
    if not text.strip():
        return None  # only spaces: no answer (else the text is kept as typed)
    if len(text) > limit:
        raise Invalid(
            _("Bitte kürzen Sie den Text auf %(max)s Zeichen (jetzt %(n)s).", max=limit, n=len(text))
        )
    return text


_GROUPED = {"de": (".", ","), "en": (",", ".")}  # (thousands, decimal) as a reader of the language types them


def _plain_decimal(text: str, lang: str) -> str | None:
    """The number typed in ``lang``'s way (or, unambiguously, the other's) as "1234.56", else None."""
    text = text.strip().replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    sign = ""
    if text[:1] in "-−":
        sign, text = "-", text[1:]
    group, point = _GROUPED.get(lang, _GROUPED["de"])
    for g, p in ((group, point), (point, group)):  # the reader's way first
        pattern = rf"[0-9]{{1,3}}(?:{re.escape(g)}[0-9]{{3}})+(?:{re.escape(p)}[0-9]+)?|[0-9]+(?:{re.escape(p)}[0-9]+)?"
        if re.fullmatch(pattern, text):
            # "12.500" in German is twelve thousand five hundred; "12.50" is 12.5 (no group has two digits)
            return sign + text.replace(g, "").replace(p, ".")
    return None


def parse_money(value: Any, lang: str = "de") -> int | None:
    """Euros as typed in ``lang`` ("12.500,00" in German, "12,500.00" in English; "12500" in both) as cents."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(_("Bitte einen Betrag in Euro eingeben, z. B. 1.234,56."))
    text = value.replace("€", "").strip()
    if not text:
        return None
    plain = _plain_decimal(text, lang)
    if plain is None or plain.startswith("-") or len(plain) > 20:
        raise Invalid(_("Bitte einen Betrag in Euro eingeben, z. B. 1.234,56."))
    if "." in plain and len(plain.split(".")[1]) > 2:
        raise Invalid(_("Bitte einen Betrag in Euro eingeben, z. B. 1.234,56."))
    amount = Decimal(plain)
    if amount * 100 > MONEY_MAX_CENTS:
        raise Invalid(_("Der Betrag ist zu groß."))
    return int(amount * 100)


def format_cents(cents: int, lang: str = "de") -> str:
    """12.500,00 (German) / 12,500.00 (English), without the currency sign: as the field shows it again."""
    euros, rest = divmod(int(cents), 100)
    if lang == "en":
        return f"{euros:,}.{rest:02d}"
    return f"{euros:,}".replace(",", ".") + f",{rest:02d}"


def _number(value: Any, lang: str, integer: bool) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise Invalid(_("Bitte geben Sie eine Zahl ein."))
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if not value.strip():
            return None
        plain = _plain_decimal(value, lang) if len(value) <= 40 else None
        if plain is None:
            raise Invalid(
                _("Bitte geben Sie eine Zahl ein, z. B. %(example)s.", example=_example(lang, integer))
            )
        try:
            number = Decimal(plain)
        except InvalidOperation as exc:
            raise Invalid(_("Bitte geben Sie eine Zahl ein.")) from exc
    else:
        raise Invalid(_("Bitte geben Sie eine Zahl ein."))
    if not number.is_finite() or abs(number) > NUMBER_MAX:
        raise Invalid(_("Die Zahl ist zu groß."))
    if integer and number != number.to_integral_value():
        raise Invalid(_("Bitte geben Sie eine ganze Zahl ein."))
    if not integer and -number.as_tuple().exponent > NUMBER_DECIMALS:  # type: ignore[operator]  # finite: an int
        raise Invalid(_("Bitte höchstens %(n)s Nachkommastellen.", n=NUMBER_DECIMALS))
    return number


def _example(lang: str, integer: bool) -> str:
    if integer:
        return "1.250" if lang == "de" else "1,250"
    return "12,5" if lang == "de" else "12.5"


def _number_data(number: Decimal, integer: bool) -> int | str:
    if integer:
        return int(number)
    return format(number.normalize(), "f")


def _format_number(value: Decimal, lang: str) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if lang == "de" else text


def parse_date(value: Any) -> dt.date | None:
    """A date typed as 31.10.2026 or sent by a date input as 2026-10-31; None for none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(_("Bitte geben Sie ein Datum ein, z. B. 31.10.2026."))
    text = value.strip()
    if not text:
        return None
    for pattern, order in (
        (r"([0-9]{4})-([0-9]{2})-([0-9]{2})", (0, 1, 2)),
        (r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})", (2, 1, 0)),
    ):
        m = re.fullmatch(pattern, text)
        if m:
            parts = [int(g) for g in m.groups()]
            try:
                day = dt.date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError as exc:
                raise Invalid(_("Diesen Tag gibt es nicht.")) from exc
            if not 1900 <= day.year <= 2200:
                raise Invalid(_("Bitte geben Sie ein Datum zwischen 1900 und 2200 ein."))
            return day
    raise Invalid(_("Bitte geben Sie ein Datum ein, z. B. 31.10.2026."))


def _within(value: Any, low: Any, high: Any, show) -> None:
    if low is not None and value < low:
        raise Invalid(_("Bitte mindestens %(min)s.", min=show(low)))
    if high is not None and value > high:
        raise Invalid(_("Bitte höchstens %(max)s.", max=show(high)))


def _clean_cell(column: Column, value: Any, lang: str) -> Any:
    if column.type == "short_text":
        return _clean_text(value, SHORT_TEXT_MAX, single_line=True)
    if column.type == "number":
        number = _number(value, lang, integer=False)
        return None if number is None else _number_data(number, number == number.to_integral_value())
    if column.type == "money":
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= MONEY_MAX_CENTS:
                raise Invalid(_("Der Betrag ist zu groß."))
            return value
        return parse_money(value, lang)
    return None if (day := parse_date(value)) is None else day.isoformat()


def _clean_table(q: Question, value: Any, lang: str) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise Invalid(_("Bitte füllen Sie die Tabelle aus."))
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for n, raw_row in enumerate(value, start=1):
        if not isinstance(raw_row, Mapping):
            problems.append(_("Zeile %(n)s ist keine Tabellenzeile.", n=n))
            continue
        row: dict[str, Any] = {}
        for c in q.columns:
            try:
                row[c.key] = _clean_cell(c, raw_row.get(c.key), lang)
            except Invalid as exc:
                problems.append(
                    _("Zeile %(n)s, Spalte „%(column)s“: %(problem)s", n=n, column=c.label.de, problem=exc)
                )
        if any(not is_empty(v) for v in row.values()):
            rows.append({k: v for k, v in row.items() if not is_empty(v)})
    if problems:
        raise Invalid(" ".join(problems))
    if len(rows) > q.max_rows:
        raise Invalid(_("Bitte höchstens %(n)s Zeilen.", n=q.max_rows))
    return rows


def _clean_indicators(q: Question, value: Any, lang: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(_("Bitte geben Sie Zielwerte als Zahlen ein."))
    found: dict[str, Any] = {}
    problems: list[str] = []
    known = {i.key for i in q.indicators}
    if any(k not in known for k in value):
        raise Invalid(_("Bitte geben Sie nur Zielwerte für die genannten Indikatoren ein."))
    for i in q.indicators:
        try:
            number = indicator_value(i, value.get(i.key), lang)
        except Invalid as exc:
            problems.append(f"{i.label.get(current_lang())}: {exc}")
            continue
        if number is not None:
            found[i.key] = _number_data(number, i.integer)
    if problems:
        raise Invalid(" ".join(problems))
    return found


def indicator_value(i: Indicator, value: Any, lang: str) -> Decimal | None:
    """A planned or achieved value of an indicator, as typed or sent: a number of its kind (whole, or with up to
    four decimals) from 0, in its unit (a unit typed with it is not a number: the message names the unit)."""
    try:
        number = _number(value, lang, integer=i.integer)
    except Invalid as exc:
        if i.unit and isinstance(value, str) and re.search(r"[^\d\s.,+-]", value):
            raise Invalid(
                _("Bitte geben Sie nur die Zahl ein, in %(unit)s (ohne Einheit).", unit=i.unit)
            ) from exc
        raise
    if number is not None and number < 0:
        raise Invalid(_("Bitte eine Zahl ab 0."))
    return number

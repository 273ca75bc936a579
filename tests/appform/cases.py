"""Test cases per question type, made from a form definition: valid edge values and hostile ones (too long, wrong
type, control characters, huge numbers, impossible dates, empty). For the unit tests here and the fuzz tests.

``cases(q, lang)`` gives (raw value as a page would post it, True when it must be accepted) pairs;
``valid_answers(definition, lang)`` a complete set of posted answers that a submission accepts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from foerdercall.appform.answers import format_cents
from foerdercall.appform.definition import MONEY_MAX_CENTS, NUMBER_MAX, Column, FormDefinition, Question

CONTROL = "A\x00B\x07C\x1b[31mD\x7f"
HOSTILE_TEXT = [
    "",
    " ",
    "²",
    "٣",
    "\u202eevil",
    "<script>alert(1)</script>",
    "'; DROP TABLE proposals; --",
    "\ud800",
]
NOT_NUMBERS = ["NaN", "inf", "-inf", "1e309", "0x10", "1,2,3", "12..5", "€", "--1", "1 2 3 4 5 6 7 8", "٣"]
NOT_DATES = [
    "31.02.2026",
    "2026-02-31",
    "29.02.2027",
    "00.01.2026",
    "2026-13-01",
    "01.01.10000",
    "heute",
    "1/2/2026",
]


def _number_text(value: Decimal, lang: str) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if lang == "de" else text


def _date_text(day: dt.date, lang: str) -> str:
    return day.strftime("%d.%m.%Y") if lang == "de" else day.isoformat()


def cases(q: Question, lang: str = "de") -> list[tuple[Any, bool]]:
    """(raw, accepted) for a draft save of question ``q``."""
    kind = q.type
    found: list[tuple[Any, bool]] = [(None, True), ("", True)]
    if kind in ("short_text", "long_text"):
        limit = q.text_limit
        found += [("x" * limit, True), ("x" * (limit + 1), False), ("ä" * limit, True), (CONTROL, True)]
        found += [(t, True) for t in HOSTILE_TEXT]
        found += [(12, False), (["a", "b"], False)]
    elif kind == "number":
        low = q.min if q.min is not None else -NUMBER_MAX
        high = q.max if q.max is not None else NUMBER_MAX
        found += [(_number_text(low, lang), True), (_number_text(high, lang), True)]
        found += [(_number_text(high + 1, lang), False), (_number_text(low - 1, lang), False)]
        found += [("9" * 40, False), ("9" * 400, False), (True, False)]
        found += [(t, False) for t in NOT_NUMBERS]
        if q.integer:
            found += [("1,5" if lang == "de" else "1.5", high < 1 or low > 1)]  # not an integer
    elif kind == "money":
        low = q.min if q.min is not None else 0
        high = q.max if q.max is not None else MONEY_MAX_CENTS
        found += [(format_cents(low, lang), True), (format_cents(high, lang), True)]
        found += [
            (format_cents(high + 1, lang), False),
            ("-1", False),
            ("1,234.567" if lang == "en" else "1.234,567", False),
        ]
        found += [("9" * 40, False), (True, False), (1.5, False)]
        found += [(t, t == "€") for t in NOT_NUMBERS]  # the sign alone is no amount: empty
        if low > 0:
            found += [(format_cents(low - 1, lang), False)]
    elif kind == "date":
        low = q.min or dt.date(1900, 1, 1)
        high = q.max or dt.date(2200, 12, 31)
        found += [(_date_text(low, lang), True), (high.isoformat(), True)]
        if q.min:
            found += [(_date_text(low - dt.timedelta(days=1), lang), False)]
        if q.max:
            found += [(_date_text(high + dt.timedelta(days=1), lang), False)]
        found += [(t, False) for t in NOT_DATES] + [(20260101, False)]
    elif kind == "single_choice":
        found += [(c.key, True) for c in q.choices[:3]]
        found += [("x" * 5000, False), ("²", False), (["a"], False), ("no_such_choice_key", False)]
    elif kind == "multiple_choice":
        keys = q.choice_keys()
        found += [(keys[:1], True), ([], True), (keys + keys[:1], False), (["no_such_choice_key"], False)]
        found += [("x" * 5000, False), ([1], False)]
        if q.max_picks is not None and len(keys) > q.max_picks:
            found += [(keys[: q.max_picks + 1], False)]
    elif kind == "declaration":
        found += [
            ("y", True),
            ("on", True),
            (True, True),
            (False, True),
            ("vielleicht", False),
            (["y"], False),
        ]
    elif kind == "table":
        row = valid_row(q.columns, lang)
        found += [([row], True), ([{}], True), ([row] * q.max_rows, True), ([row] * (q.max_rows + 1), False)]
        for c in q.columns:
            bad = "x" * 301 if c.type == "short_text" else "31.02.2026" if c.type == "date" else "1e309"
            found += [([{**row, c.key: bad}], False)]
        found += [("eine Zeile", False), (["eine Zeile"], False)]
    elif kind == "indicators":
        planned = {i.key: "12" for i in q.indicators}
        found += [
            (planned, True),
            ({q.indicators[0].key: "-1"}, False),
            ({q.indicators[0].key: "1e309"}, False),
        ]
        found += [({"no_such_indicator": "1"}, False), ("12", False)]
    return found


def valid_row(columns: tuple[Column, ...], lang: str = "de") -> dict[str, str]:
    values = {
        "short_text": "Auftakt",
        "number": "25",
        "money": format_cents(100_000, lang),
        "date": "2027-03-31",
    }
    return {c.key: values[c.type] for c in columns}


def valid_answer(q: Question, lang: str = "de") -> Any:
    """A value a submission accepts for ``q`` (None for an attachment: that is a file)."""
    kind = q.type
    if kind in ("short_text", "long_text"):
        return f"Antwort auf {q.key}"[: q.text_limit]
    if kind == "number":
        value = q.min if q.min is not None else (q.max if q.max is not None and q.max < 1 else Decimal(1))
        return _number_text(value, lang)
    if kind == "money":
        return format_cents(q.min if q.min is not None else min(q.max or 100_000, 100_000), lang)
    if kind == "date":
        return (q.min or q.max or dt.date(2027, 3, 31)).isoformat()
    if kind == "single_choice":
        return q.choices[0].key
    if kind == "multiple_choice":
        return q.choice_keys()[: max(q.min_picks or 1, 1)]
    if kind == "declaration":
        return "y"
    if kind == "table" and q.role == "milestone_plan":  # one milestone with the whole money (shares: 100 %)
        return [{**valid_row(q.columns, lang), "share": "100"}]
    if kind == "table":
        return [valid_row(q.columns, lang)] * max(q.min_rows, 1)
    if kind == "indicators":
        return {i.key: "10" for i in q.indicators}
    return None


def valid_answers(definition: FormDefinition, lang: str = "de") -> dict[str, Any]:
    return {q.key: valid_answer(q, lang) for q in definition.questions() if q.type != "attachment"}


# A form with a question of every type and every option: the unit tests and the generated form's tests use it.
EVERY_TYPE = {
    "sections": [
        {
            "key": "measure",
            "title": {"de": "Die Maßnahme", "en": "The measure"},
            "questions": [
                {
                    "key": "title",
                    "type": "short_text",
                    "label": {"de": "Titel", "en": "Title"},
                    "required": True,
                    "role": "title",
                    "max_length": 120,
                },
                {
                    "key": "summary",
                    "type": "long_text",
                    "label": {"de": "Kurzbeschreibung"},
                    "required": True,
                    "max_length": 500,
                    "help": {"de": "Zwei, drei Sätze.", "en": "Two or three sentences."},
                },
                {
                    "key": "field",
                    "type": "single_choice",
                    "label": {"de": "Handlungsfeld"},
                    "required": True,
                    "role": "field_of_action",
                },
                {
                    "key": "audience",
                    "type": "multiple_choice",
                    "label": {"de": "Zielgruppen"},
                    "min_picks": 1,
                    "max_picks": 2,
                    "choices": [
                        {"key": "kids", "label": {"de": "Kinder", "en": "Children"}},
                        {"key": "teens", "label": {"de": "Jugendliche", "en": "Teenagers"}},
                        {"key": "adults", "label": {"de": "Erwachsene", "en": "Adults"}},
                    ],
                },
                {
                    "key": "venue",
                    "type": "single_choice",
                    "label": {"de": "Ort"},
                    "required": True,
                    "choices": [
                        {"key": "inside", "label": {"de": "drinnen"}},
                        {"key": "outside", "label": {"de": "draußen"}},
                    ],
                },
                {
                    "key": "participants",
                    "type": "number",
                    "label": {"de": "Teilnehmende"},
                    "min": 1,
                    "max": 5000,
                },
                {
                    "key": "share",
                    "type": "number",
                    "label": {"de": "Eigenanteil (%)"},
                    "integer": False,
                    "min": "0",
                    "max": "100",
                },
                {
                    "key": "start",
                    "type": "date",
                    "label": {"de": "Beginn"},
                    "required": True,
                    "min": "2027-01-01",
                    "max": "2027-12-31",
                },
            ],
        },
        {
            "key": "money",
            "title": {"de": "Geld und Plan"},
            "questions": [
                {
                    "key": "amount",
                    "type": "money",
                    "label": {"de": "Beantragte Summe"},
                    "required": True,
                    "role": "amount",
                    "min": 100000,
                    "max": 2500000,
                },
                {
                    "key": "costs",
                    "type": "table",
                    "label": {"de": "Kostenplan"},
                    "role": "cost_plan",
                    "required": True,
                    "min_rows": 1,
                    "max_rows": 10,
                    "columns": [
                        {"key": "item", "label": {"de": "Posten"}, "type": "short_text", "required": True},
                        {"key": "sum", "label": {"de": "Betrag"}, "type": "money", "required": True},
                    ],
                },
                {
                    "key": "milestones",
                    "type": "table",
                    "label": {"de": "Meilensteine"},
                    "role": "milestone_plan",
                    "max_rows": 6,
                    "columns": [
                        {"key": "title", "label": {"de": "Meilenstein"}, "type": "short_text"},
                        {"key": "due", "label": {"de": "Fällig am"}, "type": "date"},
                        {"key": "share", "label": {"de": "Anteil (%)"}, "type": "number"},
                    ],
                },
                {
                    "key": "targets",
                    "type": "indicators",
                    "label": {"de": "Zielwerte"},
                    "required": True,
                    "indicators": [
                        {
                            "key": "visitors",
                            "label": {"de": "Besucher", "en": "Visitors"},
                            "unit": "Personen",
                        },
                        {"key": "events", "label": {"de": "Veranstaltungen"}, "unit": ""},
                    ],
                },
                {
                    "key": "cv",
                    "type": "attachment",
                    "label": {"de": "Lebenslauf"},
                    "personal": True,
                    "required": True,
                    "max_files": 2,
                },
                {"key": "team", "type": "long_text", "label": {"de": "Team"}, "personal": True},
                {
                    "key": "truth",
                    "type": "declaration",
                    "required": True,
                    "label": {"de": "Ich versichere, dass meine Angaben wahr sind."},
                },
            ],
        },
    ]
}
FIELDS = [{"key": "music", "de": "Musik", "en": "Music"}, {"key": "film", "de": "Film", "en": "Film"}]

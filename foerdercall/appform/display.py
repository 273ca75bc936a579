"""A proposal's answers as a reader sees them: by the sections of its call's form, each answer formatted for the
reader's language (amounts and numbers in the reader's format, dates as dates, the labels of the choices, tables
with their column labels). The proposal page shows them; a reader who may not see personal answers (a reviewer of
a call that hides the applicants) gets those questions marked hidden, not their answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext as _

from ..i18n import format_money
from .answers import is_empty
from .definition import Column, FormDefinition, Question


@dataclass(frozen=True)
class ShownAnswer:
    question: Question
    label: str
    text: str = ""  # the answer as text ("" with ``table``)
    head: tuple[str, ...] = ()  # a table's column labels
    rows: tuple[tuple[str, ...], ...] = ()
    hidden: bool = False  # a personal answer the reader may not see


@dataclass(frozen=True)
class ShownSection:
    title: str
    answers: tuple[ShownAnswer, ...]


def shown_answers(
    definition: FormDefinition, answers: Mapping[str, Any], lang: str, *, personal: bool = True
) -> list[ShownSection]:
    """Every question with an answer (attachment questions are files: the page lists them), by section;
    ``personal=False`` hides the personal answers."""
    sections = []
    for section in definition.sections:
        shown = []
        for q in section.questions:
            if q.type == "attachment":
                continue
            label = q.label.get(lang)
            if q.personal and not personal:
                shown.append(ShownAnswer(q, label, hidden=True))
                continue
            value = answers.get(q.key)
            if q.type == "table" and isinstance(value, list) and value:
                head = tuple(c.label.get(lang) for c in q.columns)
                rows = tuple(
                    tuple(_cell(c, row.get(c.key), lang) for c in q.columns)
                    for row in value
                    if isinstance(row, Mapping)
                )
                shown.append(ShownAnswer(q, label, head=head, rows=rows))
            else:
                shown.append(ShownAnswer(q, label, text=_text(q, value, lang)))
        if shown:
            sections.append(ShownSection(section.title.get(lang), tuple(shown)))
    return sections


def plain(answer: ShownAnswer) -> str:
    """An answer as one text (a cell of an export, a line of a document): a table's rows one per line, each as
    "column: value; …"."""
    if not answer.head:
        return answer.text
    return "\n".join(
        "; ".join(f"{head}: {cell}" for head, cell in zip(answer.head, row, strict=True) if cell)
        for row in answer.rows
    )


def _text(q: Question, value: Any, lang: str) -> str:
    if is_empty(value):
        return "–"
    if q.type == "single_choice":
        return _choice(q, value, lang)
    if q.type == "multiple_choice":
        return ", ".join(_choice(q, v, lang) for v in value) if isinstance(value, list) else str(value)
    if q.type == "declaration":
        return _("bestätigt") if value is True else _("nicht bestätigt")
    if q.type == "indicators" and isinstance(value, Mapping):
        return "; ".join(
            f"{i.label.get(lang)}: {_number(value[i.key], lang)}{' ' + i.unit if i.unit else ''}"
            for i in q.indicators
            if not is_empty(value.get(i.key))
        )
    return _value(q.type, value, lang)


def _cell(column: Column, value: Any, lang: str) -> str:
    return "" if is_empty(value) else _value(column.type, value, lang)


def _value(kind: str, value: Any, lang: str) -> str:
    """A text, a number, an amount or a date (a question's or a table column's)."""
    if kind == "money":
        return format_money(value, lang) if isinstance(value, int) else str(value)
    if kind == "number":
        return _number(value, lang)
    if kind == "date":
        return _date(value, lang)
    return str(value)


def _choice(q: Question, key: Any, lang: str) -> str:
    return next((c.label.get(lang) for c in q.choices if c.key == key), str(key))


def _number(value: Any, lang: str) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(number, locale="de_DE" if lang == "de" else "en_GB", decimal_quantization=False)


def _date(value: Any, lang: str) -> str:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return day.strftime("%d.%m.%Y") if lang == "de" else f"{day.day} {day.strftime('%b %Y')}"

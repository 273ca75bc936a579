"""A call's application form as JSON-able data, read into frozen dataclasses.

``{"sections": [{"key", "title": {"de", "en"}, "questions": [question, …]}]}``; a question is
``{"key", "type", "label": {"de", "en"}, "help": {"de", "en"}, "required", "personal", "role", …options}``.
:func:`parse_definition` refuses a definition that cannot be filled in, naming every section and question that is
wrong (all at once, not only the first)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
# the names the draft page's own fields have (its buttons, the advice wish, the token, the row buttons)
RESERVED_KEYS = frozenset({"action", "advice_requested", "csrf_token", "row_action", "next"})

TYPES = (
    "short_text",
    "long_text",
    "number",
    "money",
    "date",
    "single_choice",
    "multiple_choice",
    "declaration",
    "attachment",
    "table",
    "indicators",
)
COLUMN_TYPES = ("short_text", "number", "money", "date")
ROLES = {  # the answers the engine itself uses, and the type each must have
    "title": "short_text",
    "amount": "money",
    "field_of_action": "single_choice",
    "milestone_plan": "table",
    "cost_plan": "table",
    "place": "single_choice",
}
FILLED_ROLES = ("field_of_action", "place")  # choice questions whose answers come from the call or the city
NEEDED_ROLES = ("title", "amount")  # every proposal has a title and an amount (lists, ranking, budget)
MILESTONE_COLUMNS = ("title", "due", "share")  # the award's milestones are made from these (issue 14, part 3)

# the ceilings of each type: a limit above them is refused, no limit means the ceiling
SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 20000
LONG_TEXT_DEFAULT = 10000
NUMBER_MAX = Decimal(10) ** 12  # absolute value; a planned number, a count, a share
NUMBER_DECIMALS = 4
MONEY_MAX_CENTS = 100_000_000 * 100  # 100 million euros, as forms/fields.py MoneyField
MAX_FILES = 20
MAX_ROWS = 200
MAX_CHOICES = 200
MAX_INDICATORS = 100


@dataclass(frozen=True)
class Text:
    """A text in German and English; English falls back to German."""

    de: str
    en: str = ""

    def get(self, lang: str) -> str:
        return self.en or self.de if lang == "en" else self.de

    def to_data(self) -> dict[str, str]:
        return {"de": self.de, "en": self.en}


@dataclass(frozen=True)
class Choice:
    key: str
    label: Text


@dataclass(frozen=True)
class Column:
    key: str
    label: Text
    type: str = "short_text"
    required: bool = False


AGGREGATES = ("sum", "mean", "count")  # how an indicator adds up over measures (outcomes.report)


@dataclass(frozen=True)
class Indicator:
    """A measurable result a call asks for: planned in the proposal (an ``indicators`` question), reported in the
    interim and final reports, added up per call, field of action and district (issue 15)."""

    key: str
    label: Text
    unit: str = ""
    aggregate: str = (
        "sum"  # sum of the values | mean of the measures that report one | count of measures with > 0
    )
    field: str = ""  # a field of action's key: the indicator belongs to it; "" for every field
    integer: bool = True  # whole numbers (people, events); else up to NUMBER_DECIMALS decimals

    def applies_to(self, field_of_action: str | None) -> bool:
        """Whether a measure of this field of action plans and reports it (none chosen yet: every indicator)."""
        return not self.field or not field_of_action or self.field == field_of_action


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    label: Text
    help: Text = Text("")
    required: bool = False
    personal: bool = False
    role: str | None = None
    max_length: int | None = None  # short_text, long_text (and a table's short_text columns: SHORT_TEXT_MAX)
    min: Any = None  # number: Decimal; money: int cents; date: dt.date
    max: Any = None
    integer: bool = True  # number
    choices: tuple[Choice, ...] = ()
    min_picks: int | None = None  # multiple_choice
    max_picks: int | None = None
    max_files: int = 1  # attachment
    columns: tuple[Column, ...] = ()  # table
    min_rows: int = 0
    max_rows: int = MAX_ROWS
    indicators: tuple[Indicator, ...] = ()

    @property
    def text_limit(self) -> int:
        if self.type == "short_text":
            return self.max_length or SHORT_TEXT_MAX
        return self.max_length or LONG_TEXT_DEFAULT

    def choice_keys(self) -> list[str]:
        return [c.key for c in self.choices]


@dataclass(frozen=True)
class Section:
    key: str
    title: Text
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class FormDefinition:
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def questions(self) -> Iterator[Question]:
        for section in self.sections:
            yield from section.questions

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions() if q.key == key), None)

    def by_role(self, role: str) -> Question | None:
        return next((q for q in self.questions() if q.role == role), None)

    def indicators(self) -> list[tuple[Question, Indicator]]:
        """The call's indicators: those of its ``indicators`` questions, in the form's order (keys are unique
        across the form: a second question may not plan an indicator again, :func:`parse_definition`)."""
        return [(q, i) for q in self.questions() if q.type == "indicators" for i in q.indicators]

    def personal_keys(self) -> list[str]:
        """The answers hidden in blind review and anonymised at retention."""
        return [q.key for q in self.questions() if q.personal]

    def to_data(self) -> dict[str, Any]:
        return {"sections": [_section_data(s) for s in self.sections]}


class DefinitionError(ValueError):
    """A definition that cannot be filled in; ``problems`` names each section and question that is wrong."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def with_role_choices(
    definition: FormDefinition, role: str, rows: Sequence[Mapping[str, str]]
) -> FormDefinition:
    """The definition with ``rows`` ({"key", "de", "en"}) as the choices of its question of ``role``: the call's
    fields of action, the city's places (:mod:`.places`)."""
    target = definition.by_role(role)
    if target is None:
        return definition
    offered = tuple(Choice(r["key"], Text(r["de"], r.get("en") or "")) for r in rows)
    return FormDefinition(
        tuple(
            replace(
                s, questions=tuple(replace(q, choices=offered) if q is target else q for q in s.questions)
            )
            for s in definition.sections
        )
    )


def with_fields_of_action(definition: FormDefinition, rows: Sequence[Mapping[str, str]]) -> FormDefinition:
    return with_role_choices(definition, "field_of_action", rows)


def missing_roles(definition: FormDefinition) -> list[str]:
    """What the engine needs from every form and this one lacks, each named."""
    names = {
        "title": _("den Titel der Maßnahme (kurzer Text)"),
        "amount": _("den beantragten Betrag (Betrag)"),
    }
    return [
        _(
            "Das Formular braucht die Frage nach %(what)s. Sie können sie umbenennen, aber nicht entfernen.",
            what=names[role],
        )
        for role in NEEDED_ROLES
        if definition.by_role(role) is None
    ]


# --- reading ----------------------------------------------------------------------------------------------------


def parse_definition(data: Any) -> FormDefinition:
    """The definition in ``data``, or :class:`DefinitionError` listing every problem."""
    reader = _Reader()
    definition = reader.definition(data)
    if reader.problems:
        raise DefinitionError(reader.problems)
    return definition


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.indicator_keys: set[str] = set()  # across the form: a report asks each indicator once

    def definition(self, data: Any) -> FormDefinition:
        if not isinstance(data, Mapping) or not isinstance(data.get("sections"), list):
            self.problems.append(_("Das Formular braucht eine Liste von Abschnitten („sections“)."))
            return FormDefinition()
        sections = []
        section_keys: set[str] = set()
        question_keys: set[str] = set()
        roles: dict[str, str] = {}
        for n, raw in enumerate(data["sections"], start=1):
            if not isinstance(raw, Mapping):
                self.problems.append(_("Abschnitt %(n)s: ist kein Abschnitt.", n=n))
                continue
            key = raw.get("key")
            title = _text(raw.get("title"))
            where = _(
                "Abschnitt „%(label)s“ (%(key)s)",
                label=_short(title.de) or "–",
                key=_short(str(key)) if key else n,
            )
            if not isinstance(key, str) or not KEY.fullmatch(key):
                self.problems.append(f"{where}: {_key_rule()}")
            elif key in section_keys:
                self.problems.append(f"{where}: " + _("Der Schlüssel kommt zweimal vor."))
            else:
                section_keys.add(key)
            if not title.de.strip():
                self.problems.append(f"{where}: " + _("Der deutsche Titel fehlt."))
            questions = []
            raw_questions = raw.get("questions")
            if not isinstance(raw_questions, list):
                self.problems.append(f"{where}: " + _("Die Liste der Fragen fehlt."))
                raw_questions = []
            for m, raw_q in enumerate(raw_questions, start=1):
                q = self.question(raw_q, f"{n}.{m}", question_keys, roles)
                if q is not None:
                    questions.append(q)
            sections.append(Section(str(key or ""), title, tuple(questions)))
        return FormDefinition(tuple(sections))

    def question(self, raw: Any, number: str, keys: set[str], roles: dict[str, str]) -> Question | None:
        if not isinstance(raw, Mapping):
            self.problems.append(_("Frage %(n)s: ist keine Frage.", n=number))
            return None
        key = raw.get("key")
        label = _text(raw.get("label"))
        where = _(
            "Frage „%(label)s“ (%(key)s)",
            label=_short(label.de) or "–",
            key=_short(str(key)) if key else number,
        )
        problems: list[str] = []
        if not isinstance(key, str) or not KEY.fullmatch(key):
            problems.append(_key_rule())
            key = ""
        elif key in keys:
            problems.append(_("Der Schlüssel kommt im Formular schon vor."))
        elif key in RESERVED_KEYS:
            problems.append(_("Der Schlüssel „%(key)s“ ist für die Seite selbst vergeben.", key=key))
        else:
            keys.add(key)
        if not label.de.strip():
            problems.append(_("Die deutsche Beschriftung fehlt."))
        kind = raw.get("type")
        if kind not in TYPES:
            problems.append(_("Unbekannter Fragetyp „%(type)s“.", type=_short(str(kind))))
            self.problems.extend(f"{where}: {p}" for p in problems)
            return None
        q = Question(
            key=key,
            type=kind,
            label=label,
            help=_text(raw.get("help")),
            required=bool(raw.get("required", False)),
            personal=bool(raw.get("personal", False)),
        )
        role = raw.get("role")
        if role is not None:
            if role not in ROLES:
                problems.append(_("Unbekannte Rolle „%(role)s“.", role=_short(str(role))))
            elif ROLES[role] != kind:
                problems.append(_("Die Rolle „%(role)s“ passt nicht zum Fragetyp.", role=role))
            elif role in roles:
                problems.append(
                    _("Die Rolle „%(role)s“ hat schon die Frage %(other)s.", role=role, other=roles[role])
                )
            else:
                roles[role] = key
                q = replace(q, role=role)
        q = self.options(q, raw, problems)
        self.problems.extend(f"{where}: {p}" for p in problems)
        return q

    def options(self, q: Question, raw: Mapping[str, Any], problems: list[str]) -> Question:
        kind = q.type
        low: Any  # a limit: a Decimal, cents, a date or a count, by the type
        high: Any
        if kind in ("short_text", "long_text"):
            ceiling = SHORT_TEXT_MAX if kind == "short_text" else LONG_TEXT_MAX
            limit = _int(raw.get("max_length"), problems, _("Die Höchstlänge"))
            if limit is not None and not 1 <= limit <= ceiling:
                problems.append(_("Die Höchstlänge muss zwischen 1 und %(max)s Zeichen liegen.", max=ceiling))
                limit = None
            return replace(q, max_length=limit)
        if kind == "number":
            integer = bool(raw.get("integer", True))
            low = _decimal(raw.get("min"), problems, integer)
            high = _decimal(raw.get("max"), problems, integer)
            _check_range(low, high, problems)
            return replace(q, integer=integer, min=low, max=high)
        if kind == "money":
            low = _cents(raw.get("min"), problems)
            high = _cents(raw.get("max"), problems)
            _check_range(low, high, problems)
            return replace(q, min=low, max=high)
        if kind == "date":
            low = _date(raw.get("min"), problems)
            high = _date(raw.get("max"), problems)
            _check_range(low, high, problems)
            return replace(q, min=low, max=high)
        if kind in ("single_choice", "multiple_choice"):
            choices = self.choices(raw.get("choices"), problems)
            # the field_of_action question's choices are the call's fields of action, the place's the city's
            if not choices and q.role not in FILLED_ROLES:
                problems.append(_("Eine Auswahlfrage braucht mindestens eine Antwortmöglichkeit."))
            q = replace(q, choices=tuple(choices))
            if kind == "multiple_choice":
                low = _int(raw.get("min_picks"), problems, _("Die Mindestzahl der Antworten"))
                high = _int(raw.get("max_picks"), problems, _("Die Höchstzahl der Antworten"))
                _check_range(low, high, problems)
                if low is not None and choices and low > len(choices):
                    problems.append(_("Es sollen mehr Antworten gewählt werden, als es Möglichkeiten gibt."))
                q = replace(q, min_picks=low, max_picks=high)
            return q
        if kind == "attachment":
            files = _int(raw.get("max_files", 1), problems, _("Die Höchstzahl der Dateien"))
            if files is not None and not 1 <= files <= MAX_FILES:
                problems.append(
                    _("Die Höchstzahl der Dateien muss zwischen 1 und %(max)s liegen.", max=MAX_FILES)
                )
                files = None
            return replace(q, max_files=files or 1)
        if kind == "table":
            columns = self.columns(raw.get("columns"), problems)
            low = _int(raw.get("min_rows", 0), problems, _("Die Mindestzahl der Zeilen"))
            high = _int(raw.get("max_rows", MAX_ROWS), problems, _("Die Höchstzahl der Zeilen"))
            if high is not None and high > MAX_ROWS:
                problems.append(_("Eine Tabelle hat höchstens %(max)s Zeilen.", max=MAX_ROWS))
                high = None
            if high == 0:
                problems.append(_("Die Höchstzahl der Zeilen muss mindestens 1 sein."))
                high = None
            _check_range(low, high, problems)
            if q.role == "milestone_plan":
                have = {c.key: c.type for c in columns}
                wanted = {"title": "short_text", "due": "date", "share": "number"}
                if any(have.get(k) != t for k, t in wanted.items()):
                    problems.append(
                        _(
                            "Ein Meilensteinplan braucht die Spalten title (Text), due (Datum) und share "
                            "(Zahl, Anteil in Prozent)."
                        )
                    )
            return replace(q, columns=tuple(columns), min_rows=low or 0, max_rows=high or MAX_ROWS)
        if kind == "indicators":
            return replace(q, indicators=tuple(self.indicators(raw.get("indicators"), problems)))
        return q  # declaration: the label is the text declared

    def choices(self, raw: Any, problems: list[str]) -> list[Choice]:
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > MAX_CHOICES:
            problems.append(
                _("Die Antwortmöglichkeiten sind keine Liste (höchstens %(max)s).", max=MAX_CHOICES)
            )
            return []
        found: list[Choice] = []
        for n, item in enumerate(raw, start=1):
            item = item if isinstance(item, Mapping) else {}
            key, label = item.get("key"), _text(item.get("label"))
            if not isinstance(key, str) or not KEY.fullmatch(key):
                problems.append(_("Antwort %(n)s: ", n=n) + _key_rule())
                continue
            if key in {c.key for c in found}:
                problems.append(_("Antwort %(n)s: Der Schlüssel %(key)s kommt zweimal vor.", n=n, key=key))
                continue
            if not label.de.strip():
                problems.append(_("Antwort %(n)s (%(key)s): Die deutsche Beschriftung fehlt.", n=n, key=key))
            found.append(Choice(key, label))
        return found

    def columns(self, raw: Any, problems: list[str]) -> list[Column]:
        if not isinstance(raw, list) or not raw:
            problems.append(_("Eine Tabelle braucht mindestens eine Spalte."))
            return []
        found: list[Column] = []
        for n, item in enumerate(raw, start=1):
            item = item if isinstance(item, Mapping) else {}
            key, label, kind = item.get("key"), _text(item.get("label")), item.get("type", "short_text")
            if not isinstance(key, str) or not KEY.fullmatch(key):
                problems.append(_("Spalte %(n)s: ", n=n) + _key_rule())
                continue
            if key in {c.key for c in found}:
                problems.append(_("Spalte %(n)s: Der Schlüssel %(key)s kommt zweimal vor.", n=n, key=key))
                continue
            if not label.de.strip():
                problems.append(_("Spalte %(n)s (%(key)s): Die deutsche Beschriftung fehlt.", n=n, key=key))
            if kind not in COLUMN_TYPES:
                problems.append(
                    _(
                        "Spalte %(n)s (%(key)s): Unbekannter Spaltentyp „%(type)s“.",
                        n=n,
                        key=key,
                        type=_short(str(kind)),
                    )
                )
                continue
            found.append(Column(key, label, kind, bool(item.get("required", False))))
        return found

    def indicators(self, raw: Any, problems: list[str]) -> list[Indicator]:
        if not isinstance(raw, list) or not raw or len(raw) > MAX_INDICATORS:
            problems.append(_("Eine Frage nach Zielwerten braucht mindestens einen Indikator."))
            return []
        found: list[Indicator] = []
        for n, item in enumerate(raw, start=1):
            item = item if isinstance(item, Mapping) else {}
            key, label = item.get("key"), _text(item.get("label"))
            if not isinstance(key, str) or not KEY.fullmatch(key):
                problems.append(_("Indikator %(n)s: ", n=n) + _key_rule())
                continue
            if key in self.indicator_keys:
                problems.append(_("Indikator %(n)s: Der Schlüssel %(key)s kommt zweimal vor.", n=n, key=key))
                continue
            self.indicator_keys.add(key)
            if not label.de.strip():
                problems.append(
                    _("Indikator %(n)s (%(key)s): Die deutsche Beschriftung fehlt.", n=n, key=key)
                )
            unit = item.get("unit", "")
            aggregate = item.get("aggregate", "sum")
            if aggregate not in AGGREGATES:
                problems.append(
                    _(
                        "Indikator %(n)s (%(key)s): Unbekannte Zusammenfassung „%(how)s“ (sum, mean oder count).",
                        n=n,
                        key=key,
                        how=_short(str(aggregate)),
                    )
                )
                aggregate = "sum"
            field_key = item.get("field") or ""
            if not isinstance(field_key, str) or (field_key and not KEY.fullmatch(field_key)):
                problems.append(
                    _("Indikator %(n)s (%(key)s): Das Handlungsfeld ist kein Schlüssel.", n=n, key=key)
                )
                field_key = ""
            found.append(
                Indicator(
                    key,
                    label,
                    unit[:40] if isinstance(unit, str) else "",
                    aggregate,
                    field_key,
                    bool(item.get("integer", True)),
                )
            )
        return found


def _key_rule() -> str:
    return _(
        "Der Schlüssel muss mit einem Kleinbuchstaben beginnen und darf nur Kleinbuchstaben, Ziffern und _ "
        "enthalten (höchstens 40 Zeichen)."
    )


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _text(raw: Any) -> Text:
    if isinstance(raw, str):
        return Text(raw.strip())
    if not isinstance(raw, Mapping):
        return Text("")
    de, en = raw.get("de"), raw.get("en")
    return Text(de.strip() if isinstance(de, str) else "", en.strip() if isinstance(en, str) else "")


def _int(raw: Any, problems: list[str], what: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        problems.append(_("%(what)s muss eine ganze Zahl ab 0 sein.", what=what))
        return None
    return raw


def _decimal(raw: Any, problems: list[str], integer: bool) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(str(raw)) if isinstance(raw, int | str) and not isinstance(raw, bool) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) > NUMBER_MAX or (integer and value != int(value)):
        problems.append(_("Die Grenze %(value)s ist keine mögliche Zahl.", value=_short(str(raw))))
        return None
    return value


def _cents(raw: Any, problems: list[str]) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MONEY_MAX_CENTS:
        problems.append(_("Die Grenze %(value)s ist kein möglicher Betrag in Cent.", value=_short(str(raw))))
        return None
    return raw


def _date(raw: Any, problems: list[str]) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    problems.append(_("Die Grenze %(value)s ist kein Datum (JJJJ-MM-TT).", value=_short(str(raw))))
    return None


def _check_range(low: Any, high: Any, problems: list[str]) -> None:
    if low is not None and high is not None and low > high:
        problems.append(_("Die Untergrenze liegt über der Obergrenze."))


# --- writing ----------------------------------------------------------------------------------------------------


def _section_data(s: Section) -> dict[str, Any]:
    return {"key": s.key, "title": s.title.to_data(), "questions": [_question_data(q) for q in s.questions]}


def _question_data(q: Question) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": q.key,
        "type": q.type,
        "label": q.label.to_data(),
        "help": q.help.to_data(),
        "required": q.required,
        "personal": q.personal,
    }
    if q.role:
        data["role"] = q.role
    if q.type in ("short_text", "long_text") and q.max_length is not None:
        data["max_length"] = q.max_length
    if q.type in ("number", "money", "date"):
        for name in ("min", "max"):
            value = getattr(q, name)
            if value is None:
                continue
            if q.type == "number":
                data[name] = int(value) if q.integer else str(value)
            else:
                data[name] = value.isoformat() if q.type == "date" else value
        if q.type == "number":
            data["integer"] = q.integer
    if q.type in ("single_choice", "multiple_choice") and q.role not in FILLED_ROLES:
        data["choices"] = [{"key": c.key, "label": c.label.to_data()} for c in q.choices]
    if q.type == "multiple_choice":
        for name in ("min_picks", "max_picks"):
            if getattr(q, name) is not None:
                data[name] = getattr(q, name)
    if q.type == "attachment":
        data["max_files"] = q.max_files
    if q.type == "table":
        data["columns"] = [
            {"key": c.key, "label": c.label.to_data(), "type": c.type, "required": c.required}
            for c in q.columns
        ]
        data["min_rows"] = q.min_rows
        data["max_rows"] = q.max_rows
    if q.type == "indicators":
        data["indicators"] = [
            {
                "key": i.key,
                "label": i.label.to_data(),
                "unit": i.unit,
                "aggregate": i.aggregate,
                "field": i.field,
                "integer": i.integer,
            }
            for i in q.indicators
        ]
    return data

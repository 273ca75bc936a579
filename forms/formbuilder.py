"""The question builder of the call editor: a call's application form as rows an official edits (a section heading
or a question per row), read back into the form's data (foerdercall/appform/definition.py), which decides what a
form may be and names each question that is wrong.

One row has the question's type, its German and English label and help, "required" and "personal", two limits
whose meaning follows the type (``low``/``high``: characters, values, answers, files or table rows) and, for
choices, tables and indicators, one line per answer, column or indicator ("Deutsch | English | …"). What is not
typed here stays as it was: the keys of questions, answers and columns (stored answers refer to them) and the
question's role for the engine (title, amount, field of action, milestone and cost plan)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from foerdercall.appform.answers import Invalid, clean_answer, format_cents
from foerdercall.appform.default import default_form
from foerdercall.appform.definition import (
    FILLED_ROLES,
    KEY,
    RESERVED_KEYS,
    ROLES,
    DefinitionError,
    FormDefinition,
    Question,
    Text,
    missing_roles,
    parse_definition,
)

from . import Form
from .fields import choices
from .rows import RowList, RowsForm

SECTION = "section"
MILESTONE_PLAN = "milestone_plan"  # a table with the role of the same name and its three fixed columns
COST_PLAN = "cost_plan"
KINDS = (
    ("short_text", _l("Kurzer Text")),
    ("long_text", _l("Langer Text")),
    ("number", _l("Zahl")),
    ("money", _l("Betrag in Euro")),
    ("date", _l("Datum")),
    ("single_choice", _l("Auswahl: eine Antwort")),
    ("multiple_choice", _l("Auswahl: mehrere Antworten")),
    ("declaration", _l("Erklärung zum Ankreuzen")),
    ("attachment", _l("Anlage (PDF)")),
    ("table", _l("Tabelle")),
    (COST_PLAN, _l("Kostenplan (Tabelle)")),
    (MILESTONE_PLAN, _l("Meilensteinplan (Tabelle: Titel, fällig am, Anteil in %)")),
    ("indicators", _l("Zielwerte (Indikatoren)")),
    (SECTION, _l("Abschnitt (Überschrift)")),
)
# the kinds each part of a row applies to (the page hides the others with JavaScript)
KINDS_WITH = {
    "help": " ".join(k for k, _label in KINDS if k != SECTION),
    "limits": "short_text long_text number money date multiple_choice attachment table cost_plan milestone_plan",
    "options": "single_choice multiple_choice table cost_plan indicators",
}
COLUMN_WORDS = {  # what an official may write as a column's type, in either language
    "text": "short_text",
    "zahl": "number",
    "number": "number",
    "betrag": "money",
    "amount": "money",
    "datum": "date",
    "date": "date",
}
COLUMN_NAMES = {  # as the builder shows a column's type, by the reader's language
    "de": {"short_text": "Text", "number": "Zahl", "money": "Betrag", "date": "Datum", "required": "Pflicht"},
    "en": {
        "short_text": "text",
        "number": "number",
        "money": "amount",
        "date": "date",
        "required": "required",
    },
}
AGGREGATE_WORDS = {  # how an indicator adds up, in either language
    "summe": "sum",
    "sum": "sum",
    "mittelwert": "mean",
    "durchschnitt": "mean",
    "mean": "mean",
    "average": "mean",
    "anzahl": "count",
    "count": "count",
}
AGGREGATE_NAMES = {
    "de": {"sum": "Summe", "mean": "Mittelwert", "count": "Anzahl"},
    "en": {"sum": "sum", "mean": "mean", "count": "count"},
}
DECIMAL_WORDS = ("dezimal", "decimal", "dezimalzahl")
REQUIRED_WORDS = ("pflicht", "required", "pflichtangabe")
MILESTONE_COLUMNS = [
    {
        "key": "title",
        "label": {"de": "Meilenstein", "en": "Milestone"},
        "type": "short_text",
        "required": True,
    },
    {"key": "due", "label": {"de": "Fällig am", "en": "Due on"}, "type": "date", "required": True},
    {"key": "share", "label": {"de": "Anteil (%)", "en": "Share (%)"}, "type": "number", "required": True},
]
COST_COLUMNS = "Posten | Item | Text | Pflicht\nBetrag | Amount | Betrag | Pflicht"
MAX_LINES = 200


class RowCheckbox(BooleanField):
    """A checkbox in a row list: the rows come back as text ("True"/"False") when a row button is applied."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = "BooleanField"  # shown as a checkbox (macros.html field)

    def process_data(self, value):
        self.data = value not in (None, False, "", "False", "false", "n")


class QuestionRowForm(Form):
    """One row of the builder: a section heading or a question."""

    class Meta:
        csrf = False  # a part of the builder's form, which carries the token

    key = HiddenField(validators=[Optional(), Length(max=40)])
    role = HiddenField(validators=[Optional(), Length(max=40)])
    kind = SelectField(
        _l("Art"),
        choices=choices(KINDS),
        validate_choice=False,
        validators=[
            AnyOf([k for k, _label in KINDS], message=_l("Bitte wählen Sie eine Art aus der Liste."))
        ],
    )
    label_de = StringField(_l("Frage oder Überschrift"), validators=[Length(max=300)])
    label_en = StringField(_l("Auf Englisch (optional)"), validators=[Length(max=300)])
    help_de = TextAreaField(_l("Hilfetext (optional)"), validators=[Length(max=2000)])
    help_en = TextAreaField(_l("Hilfetext auf Englisch (optional)"), validators=[Length(max=2000)])
    required = RowCheckbox(_l("Pflichtangabe"))
    personal = RowCheckbox(
        _l("Persönliche Angabe (in der blinden Begutachtung verborgen, wird anonymisiert)")
    )
    low = StringField(_l("Mindestens (optional)"), validators=[Length(max=40)])
    high = StringField(_l("Höchstens (optional)"), validators=[Length(max=40)])
    options = TextAreaField(
        _l("Antworten, Spalten oder Indikatoren (je Zeile eine)"), validators=[Length(max=20000)]
    )


class FormBuilderForm(RowsForm):
    items = RowList(QuestionRowForm, label=_l("Abschnitte und Fragen"), max_entries=150)
    reason = TextAreaField(_l("Begründung der Berichtigung"), validators=[Length(max=5000)])
    action = StringField(validators=[Optional(), Length(max=20)])  # the button: "preview" saves nothing
    definition_data: dict[str, Any]  # the application form as the call stores it, once validated
    taken: set[str]
    stored_keys: set[str]

    def __init__(self, *args, stored: FormDefinition | None = None, lang: str = "de", **kwargs):
        super().__init__(*args, **kwargs)
        self.stored, self.lang, self.definition_data = stored or default_form(), lang, {}
        if not self.is_submitted():
            self.items.show(rows_of(self.stored, lang))

    def validate_items(self, field):
        sections: list[dict[str, Any]] = []
        stored_keys = {s.key for s in self.stored.sections} | {q.key for q in self.stored.questions()}
        # the keys that stay (stored answers and files refer to them); a new row's key comes from its label
        self.taken = {e.form.key.data for e in field.entries if e.form.key.data in stored_keys}
        self.stored_keys = stored_keys

        def check(row, refuse):
            if row.kind.data == SECTION:
                title = _pair(row.label_de.data, row.label_en.data)
                if not title["de"]:
                    refuse(row.label_de, _l("Bitte geben Sie die Überschrift an."))
                for name in ("low", "high", "options"):
                    if (row[name].data or "").strip():
                        refuse(row[name], _l("Eine Überschrift hat keine Grenzen und keine Antworten."))
                sections.append(
                    {"key": self._key(row.key.data, title["de"]), "title": title, "questions": []}
                )
                return None
            question = self._question(row, refuse)
            if not sections:
                refuse(row.kind, _l("Der erste Eintrag ist die Überschrift eines Abschnitts."))
            else:
                sections[-1]["questions"].append(question)
            return question

        field.check(lambda n, m: _l("Eintrag %(n)s: %(message)s", n=n, message=m), check)
        if field.errors:
            return
        data = {"sections": sections}
        try:
            definition = parse_definition(data)
        except DefinitionError as exc:  # every question that is wrong, named
            field.errors.extend(exc.problems)
            return
        field.errors.extend(missing_roles(definition))
        if not field.errors:
            self.definition_data = definition.to_data()

    def _question(self, row, refuse: Callable) -> dict[str, Any]:
        kind, role = row.kind.data, (row.role.data or None)
        if kind not in dict(KINDS):
            refuse(row.kind, _l("Bitte wählen Sie eine Art aus der Liste."))
            kind = "long_text"
        if kind in (MILESTONE_PLAN, COST_PLAN):
            role, kind = kind, "table"
        elif role in (MILESTONE_PLAN, COST_PLAN):
            role = None  # the table no longer is the plan
        if role is not None and role not in ROLES:
            role = None
        if role is not None and ROLES[role] != kind:
            refuse(
                row.kind,
                _l(
                    "Diese Frage liefert dem Verfahren „%(role)s“; ihre Art bleibt „%(kind)s“.",
                    role=role_label(role),
                    kind=dict(KINDS)[ROLES[role]],
                ),
            )
        key = self._key(row.key.data, row.label_de.data or "")
        old = self.stored.question(key)
        q: dict[str, Any] = {
            "key": key,
            "type": kind,
            "label": _pair(row.label_de.data, row.label_en.data),
            "help": _pair(row.help_de.data, row.help_en.data),
            "required": bool(row.required.data),
            "personal": bool(row.personal.data),
        }
        if role:
            q["role"] = role
        if old is not None and old.type == "number":
            q["integer"] = old.integer
        self._limits(q, row, refuse)
        self._lines(q, row, refuse, old)
        return q

    def _key(self, posted: str | None, label: str) -> str:
        if posted in self.stored_keys:
            return str(posted)
        key = _fresh(label, self.taken)
        self.taken.add(key)
        return key

    def _limits(self, q: dict[str, Any], row, refuse: Callable) -> None:
        kind = q["type"]
        names = {
            "short_text": (None, "max_length"),
            "long_text": (None, "max_length"),
            "number": ("min", "max"),
            "money": ("min", "max"),
            "date": ("min", "max"),
            "multiple_choice": ("min_picks", "max_picks"),
            "attachment": (None, "max_files"),
            "table": ("min_rows", "max_rows"),
        }.get(kind, (None, None))
        for field, name in ((row.low, names[0]), (row.high, names[1])):
            text = (field.data or "").strip()
            if not text:
                continue
            if name is None:
                refuse(field, _l("Für diese Art gibt es hier keine Grenze; bitte lassen Sie das Feld leer."))
                continue
            try:
                if kind in ("number", "money", "date"):
                    probe = Question("limit", kind, Text(""), integer=q.get("integer", True))
                    q[name] = clean_answer(probe, text, lang=self.lang)
                else:
                    q[name] = _count(text)
            except Invalid as exc:
                refuse(field, str(exc))

    def _lines(self, q: dict[str, Any], row, refuse: Callable, old: Question | None) -> None:
        kind, text = q["type"], (row.options.data or "").strip()
        if q.get("role") == MILESTONE_PLAN:
            q["columns"] = MILESTONE_COLUMNS  # fixed: the award's milestones are made from them
            return
        if q.get("role") in FILLED_ROLES:
            return  # its answers are the call's fields of action, or the city's places
        if q.get("role") == COST_PLAN and not text:
            text = COST_COLUMNS
        if kind not in ("single_choice", "multiple_choice", "table", "indicators"):
            if text:
                refuse(row.options, _l("Diese Art hat keine Antworten, Spalten oder Indikatoren."))
            return
        lines = [[part.strip() for part in line.split("|")] for line in text.splitlines() if line.strip()]
        if len(lines) > MAX_LINES:
            refuse(row.options, _l("Bitte höchstens %(n)s Zeilen.", n=MAX_LINES))
            return
        if kind in ("single_choice", "multiple_choice"):
            kept = _keys([line[0] for line in lines], old.choices if old else ())
            q["choices"] = [
                {"key": k, "label": _pair(*line[:2])} for k, line in zip(kept, lines, strict=True)
            ]
        elif kind == "indicators":
            kept = _keys([line[0] for line in lines], old.indicators if old else ())
            q["indicators"] = []
            for n, (k, line) in enumerate(zip(kept, lines, strict=True), start=1):
                part = [*line, *[""] * 6][:6]  # the parts not typed: empty
                how = AGGREGATE_WORDS.get(part[3].casefold() or "summe")
                if how is None:
                    refuse(
                        row.options,
                        _l(
                            "Indikator %(n)s: „%(word)s“ kenne ich nicht (Summe, Mittelwert oder Anzahl).",
                            n=n,
                            word=part[3][:40],
                        ),
                    )
                    continue
                q["indicators"].append(
                    {
                        "key": k,
                        "label": _pair(*line[:2]),
                        "unit": part[2][:40],
                        "aggregate": how,
                        "field": part[4],
                        "integer": part[5].casefold() not in DECIMAL_WORDS,
                    }
                )
        else:
            kept = _keys([line[0] for line in lines], old.columns if old else ())
            columns = []
            for n, (k, line) in enumerate(zip(kept, lines, strict=True), start=1):
                word = (line[2] if len(line) > 2 and line[2] else "text").casefold()
                if word not in COLUMN_WORDS:
                    refuse(
                        row.options,
                        _l(
                            "Spalte %(n)s: Die Art „%(word)s“ kenne ich nicht (Text, Zahl, Betrag oder Datum).",
                            n=n,
                            word=line[2][:40],
                        ),
                    )
                    continue
                required = len(line) > 3 and line[3].casefold() in REQUIRED_WORDS
                columns.append(
                    {"key": k, "label": _pair(*line[:2]), "type": COLUMN_WORDS[word], "required": required}
                )
            q["columns"] = columns


def rows_of(definition: FormDefinition, lang: str) -> list[dict[str, str]]:
    """The builder's rows for a stored form: each section's heading, then its questions."""
    rows: list[dict[str, str]] = []
    for section in definition.sections:
        rows.append(
            {"key": section.key, "kind": SECTION, "label_de": section.title.de, "label_en": section.title.en}
        )
        for q in section.questions:
            low, high = _limit_texts(q, lang)
            rows.append(
                {
                    "key": q.key,
                    "role": q.role or "",
                    "kind": q.role if q.role in (MILESTONE_PLAN, COST_PLAN) else q.type,
                    "label_de": q.label.de,
                    "label_en": q.label.en,
                    "help_de": q.help.de,
                    "help_en": q.help.en,
                    "required": "True" if q.required else "",
                    "personal": "True" if q.personal else "",
                    "low": low,
                    "high": high,
                    "options": _option_text(q, lang) if q.role not in (*FILLED_ROLES, MILESTONE_PLAN) else "",
                }
            )
    return rows


def role_label(role: str) -> str:
    return {
        "title": _("Titel des Angebots"),
        "amount": _("beantragter Betrag"),
        "field_of_action": _("Handlungsfeld"),
        "place": _("Ort der Maßnahme"),
        MILESTONE_PLAN: _("Meilensteinplan"),
        COST_PLAN: _("Kostenplan"),
    }.get(role, role)


def _limit_texts(q: Question, lang: str) -> tuple[str, str]:
    def show(value: Any) -> str:
        if value is None:
            return ""
        if q.type == "money":
            return format_cents(value, lang)
        if q.type == "date":
            return value.strftime("%d.%m.%Y") if lang == "de" else value.isoformat()
        text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
        return text.replace(".", ",") if lang == "de" else text

    if q.type in ("short_text", "long_text"):
        return "", str(q.max_length or "")
    if q.type in ("number", "money", "date"):
        return show(q.min), show(q.max)
    if q.type == "multiple_choice":
        return str(q.min_picks or ""), str(q.max_picks or "")
    if q.type == "attachment":
        return "", str(q.max_files)
    if q.type == "table":
        return str(q.min_rows or ""), str(q.max_rows)
    return "", ""


def _option_text(q: Question, lang: str) -> str:
    def line(*parts: str) -> str:
        while parts and not parts[-1]:
            parts = parts[:-1]
        return " | ".join(parts)

    if q.type in ("single_choice", "multiple_choice"):
        return "\n".join(line(c.label.de, c.label.en) for c in q.choices)
    if q.type == "indicators":
        names = AGGREGATE_NAMES["en" if lang == "en" else "de"]
        decimal = "decimal" if lang == "en" else "Dezimal"
        return "\n".join(
            line(
                i.label.de,
                i.label.en,
                i.unit,
                names[i.aggregate] if i.aggregate != "sum" or i.field or not i.integer else "",
                i.field,
                "" if i.integer else decimal,
            )
            for i in q.indicators
        )
    if q.type == "table":
        names = COLUMN_NAMES["en" if lang == "en" else "de"]
        return "\n".join(
            line(c.label.de, c.label.en, names[c.type], names["required"] if c.required else "")
            for c in q.columns
        )
    return ""


def _pair(de: str | None = "", en: str | None = "") -> dict[str, str]:
    return {"de": (de or "").strip(), "en": (en or "").strip()}


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise Invalid(_("Bitte eine ganze Zahl ab 0 eingeben."))
    return int(text)


UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _fresh(label: str, taken) -> str:
    """A key for a new question, section or answer, from its German label (readable in exports), not in ``taken``."""
    plain = (
        unicodedata.normalize("NFKD", label.casefold().translate(UMLAUTS)).encode("ascii", "ignore").decode()
    )
    base = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:30] or "frage"
    base = base if KEY.fullmatch(base) and base not in RESERVED_KEYS else "f_" + base[:28]
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _keys(labels: list[str], old) -> list[str]:
    """Keys for answer lines, columns or indicators: the old key of the same German label, else the old key at the
    same place (a renamed line keeps its answers), else a new one from the label."""
    by_label = {o.label.de.casefold(): o.key for o in old}
    keys: list[str | None] = [by_label.get(label.casefold()) for label in labels]
    for i, key in enumerate(keys):
        if key is None and i < len(old) and old[i].key not in keys:
            keys[i] = old[i].key
    result: list[str] = []
    for i, key in enumerate(keys):
        if key is None or key in result:
            key = _fresh(labels[i], {*result, *(k for k in keys if k)})
        result.append(key)
    return result

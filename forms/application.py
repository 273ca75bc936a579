"""The application form of a call, generated from its definition (foerdercall/appform): one field per question, in
the reader's language. The fields only carry the typed text; what a value means and whether it is allowed is
decided once, by :func:`foerdercall.appform.answers.check_answers` (the same rule for a draft, a submission and
stored answers)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, StopValidation
from wtforms.widgets import TextInput

from foerdercall.appform.answers import Checked, check_answers, format_cents
from foerdercall.appform.definition import SHORT_TEXT_MAX, Column, FormDefinition, Indicator, Question

from . import Form
from .accounts import MultiCheckboxField
from .fields import OfferedChoice, choices

NUMBER_TEXT_MAX = 40  # what a number, an amount or a date may be as text; longer is no value of ours
ADD_ROW = "-add"  # a table's "add row" button is named <key>-add (a key never has a hyphen)


class DateInput(TextInput):
    input_type = "date"


class TargetsField(FormField):
    """The planned numbers of an indicator question: one message for the question (naming each indicator)."""

    message: str | None = None

    @property
    def errors(self):  # type: ignore[override]  # a list with the question's message, as other fields have
        return [self.message] if self.message else []


class _Part(Form):
    """A table row or the targets of an indicator question: part of the one form, with its CSRF token."""

    class Meta:
        csrf = False


class ApplicationForm(Form):
    """The base of every generated form; :func:`application_form` makes one per call form and language."""

    definition: FormDefinition = FormDefinition()
    lang: str = "de"
    checked: Checked | None = None

    def __init__(
        self,
        formdata: Any = None,
        *,
        answers: Mapping[str, Any] | None = None,
        complete: bool = False,
        **kw: Any,
    ):
        super().__init__(formdata=formdata, **kw)
        self.complete = complete
        self.gaps: dict[str, str] = {}  # messages of questions without a field (attachments), by key
        if formdata is None and answers:
            self._show(answers)

    # --- showing stored answers ---

    def _show(self, answers: Mapping[str, Any]) -> None:
        for q in self.definition.questions():
            if q.key not in answers or q.key not in self._fields:
                continue
            value, field = answers[q.key], self._fields[q.key]
            if q.type == "table":
                while len(field.entries) < len(value):
                    field.append_entry()
                for entry, row in zip(field.entries, value, strict=False):
                    for c in q.columns:
                        if c.key in row:
                            entry.form[c.key].data = self._text(c.type, row[c.key])
            elif q.type == "indicators":
                for key, number in value.items():
                    if key in field.form:
                        field.form[key].data = self._text("number", number)
            else:
                field.data = self._text(q.type, value)

    def _text(self, kind: str, value: Any) -> Any:
        """A stored value as its field shows it to the reader."""
        if kind == "money" and isinstance(value, int):
            return format_cents(value, self.lang)
        if kind == "number" and isinstance(value, int | str):
            text = format(Decimal(str(value)), "f")
            return text.replace(".", ",") if self.lang == "de" else text
        return value

    # --- reading what was posted ---

    def posted(self) -> dict[str, Any]:
        """The answers as typed, for :func:`check_answers`."""
        raw: dict[str, Any] = {}
        for q in self.definition.questions():
            field = self._fields.get(q.key)
            if field is None:
                continue
            if q.type == "table":
                raw[q.key] = [{c.key: e.form[c.key].data for c in q.columns} for e in field.entries]
            elif q.type == "indicators":
                raw[q.key] = {i.key: field.form[i.key].data for i in q.indicators}
            elif q.type == "declaration":
                raw[q.key] = True if field.data else None  # not ticked: not declared
            else:
                raw[q.key] = field.data
        return raw

    def added_row(self) -> bool:
        """When a table's "add row" button was pressed (no JavaScript needed): one empty row more, and True."""
        for q in self.definition.questions():
            button = self._fields.get(q.key + ADD_ROW)
            table = self._fields.get(q.key)
            if button is not None and button.data and table is not None:
                if len(table.entries) < q.max_rows:
                    table.append_entry()
                return True
        return False

    def label_of(self, name: str) -> str:
        """The label of a posted name: a question's, a table cell's (with its row) or an indicator's."""
        if name in self._fields and "-" not in name:
            return str(self._fields[name].label.text)
        key, _sep, rest = name.partition("-")
        q = self.definition.question(key)
        if q is None:
            return name
        row, _sep, column = rest.partition("-")
        if q.type == "table" and row.isdigit():
            c = next((c for c in q.columns if c.key == column), None)
            if c is not None:
                return _(
                    "%(table)s, Zeile %(n)s: %(column)s",
                    table=q.label.get(self.lang),
                    n=int(row) + 1,
                    column=c.label.get(self.lang),
                )
        if q.type == "indicators":
            i = next((i for i in q.indicators if i.key == rest), None)
            if i is not None:
                return f"{q.label.get(self.lang)}: {i.label.get(self.lang)}"
        return name

    def shown(self, name: str, value: Any) -> Any:
        """A posted value as the reader knows it: a choice by its label."""
        q = self.definition.question(name)
        if q is None or q.type not in ("single_choice", "multiple_choice"):
            return value
        labels = {c.key: c.label.get(self.lang) for c in q.choices}
        if isinstance(value, list):
            return ", ".join(str(labels.get(v, v)) for v in value)
        return labels.get(value, value)

    def validate(self, extra_validators=None) -> bool:
        fine = super().validate(extra_validators)
        self.checked = check_answers(self.definition, self.posted(), complete=self.complete, lang=self.lang)
        for key, message in self.checked.errors.items():
            self.mark(key, message)
        return fine and self.checked.ok

    def gap_links(self) -> list[tuple[str, str, str]]:
        """(id, label, message) of each question without a field that has a message, in the form's order."""
        return [
            (q.key, q.label.get(self.lang), self.gaps[q.key])
            for q in self.definition.questions()
            if q.key in self.gaps
        ]

    def mark(self, key: str, message: str) -> None:
        """A question's message at its field (an attachment question, which has no field: in ``gaps``)."""
        field = self._fields.get(key)
        if field is None:
            self.gaps[key] = message
        elif isinstance(field, TargetsField):
            field.message = message
        elif isinstance(field, FieldList):
            field.errors = [message]  # the table's own message, naming its rows and columns
        elif not field.errors:
            field.errors = [message]

    def answers(self) -> dict[str, Any]:
        """The cleaned answers (after :meth:`validate`): what could be read, also when something could not."""
        return dict(self.checked.answers) if self.checked else {}


def application_form(
    definition: FormDefinition, locale: str, base: type[ApplicationForm] = ApplicationForm
) -> type[ApplicationForm]:
    """A form class for ``definition`` (with the call's fields of action bound) in language ``locale``; ``base``
    may add fields of its own (the draft page's buttons)."""
    lang = "en" if str(locale).startswith("en") else "de"
    attrs: dict[str, Any] = {"definition": definition, "lang": lang}
    with force_locale(
        lang
    ):  # the texts made here ("(Pflichtangabe)", "– bitte wählen –") in the form's language
        role = definition.by_role("field_of_action")
        fields = {c.key: c.label.get(lang) for c in role.choices} if role is not None else {}
        for q in definition.questions():
            made = _field(q, lang, fields)
            if made is not None:
                attrs[q.key] = made
            if q.type == "table":
                attrs[q.key + ADD_ROW] = SubmitField(_l("Zeile hinzufügen"))
    return type(f"Generated{base.__name__}", (base,), attrs)


def _label(q: Question | Column, lang: str) -> str:
    text = q.label.get(lang)
    return _("%(label)s (Pflichtangabe)", label=text) if q.required else text


def _kw(q: Question, lang: str) -> dict[str, Any]:
    kw: dict[str, Any] = {"description": q.help.get(lang)}
    if q.required and q.type != "multiple_choice":  # a group of checkboxes (a list) takes no aria-required
        kw["render_kw"] = {"aria-required": "true"}
    return kw


def _value_field(kind: str, label: str, kw: dict[str, Any], limit: int = SHORT_TEXT_MAX):
    if kind == "money":
        kw.setdefault("render_kw", {})["inputmode"] = "decimal"
        return StringField(label, validators=[Optional(), Length(max=NUMBER_TEXT_MAX)], **kw)
    if kind == "number":
        kw.setdefault("render_kw", {})["inputmode"] = "decimal"
        return StringField(label, validators=[Optional(), Length(max=NUMBER_TEXT_MAX)], **kw)
    if kind == "date":
        return StringField(
            label, validators=[Optional(), Length(max=NUMBER_TEXT_MAX)], widget=DateInput(), **kw
        )
    return StringField(label, validators=[Optional(), Length(max=limit)], **kw)


def _field(q: Question, lang: str, fields: dict[str, str]):
    """``fields``: the call's fields of action by key (an indicator of one field says so in its label)."""
    label, kw = _label(q, lang), _kw(q, lang)
    kind = q.type
    if kind == "short_text":
        return _value_field(kind, label, kw, q.text_limit)
    if kind == "long_text":
        return TextAreaField(label, validators=[Optional(), Length(max=q.text_limit)], **kw)
    if kind in ("number", "money", "date"):
        return _value_field(kind, label, kw)
    if kind == "single_choice":
        offered = [("", _("– bitte wählen –"))] + [(c.key, c.label.get(lang)) for c in q.choices]
        message = (
            _("Bitte wählen Sie ein Handlungsfeld aus der Liste.") if q.role == "field_of_action" else None
        )
        return SelectField(
            label, choices=choices(offered), validate_choice=False, validators=[OfferedChoice(message)], **kw
        )
    if kind == "multiple_choice":
        return MultiCheckboxField(
            label,
            choices=choices((c.key, c.label.get(lang)) for c in q.choices),
            validate_choice=False,
            validators=[_Offered()],
            **kw,
        )
    if kind == "declaration":
        return BooleanField(label, **kw)
    if kind == "table":
        row = type(
            "Row",
            (_Part,),
            {c.key: _value_field(c.type, _label(c, lang), {}) for c in q.columns},
        )
        return FieldList(
            FormField(row),
            label=label,
            min_entries=max(q.min_rows, 1),
            max_entries=q.max_rows + 1,  # one more: a post with too many rows gets a message
            **kw,
        )
    if kind == "indicators":
        targets = type(
            "Targets",
            (_Part,),
            {i.key: _value_field("number", _indicator_label(i, lang, fields), {}) for i in q.indicators},
        )
        return TargetsField(targets, label=label, **kw)
    return None  # an attachment is uploaded with the proposal's files, by its kind (the question's key)


def _indicator_label(i: Indicator, lang: str, fields: dict[str, str]) -> str:
    text = f"{i.label.get(lang)} ({i.unit})" if i.unit else i.label.get(lang)
    if i.field:
        text += " – " + _("nur im Handlungsfeld %(field)s", field=fields.get(i.field, i.field))
    return text


class _Offered:
    """Every posted answer of a multiple choice is one offered (else a message, the rest of the text kept)."""

    def __call__(self, form, field):
        offered = {str(c[0]) for c in field.iter_choices()}
        if any(str(v) not in offered for v in field.data or []):
            raise StopValidation(_("Bitte wählen Sie Antworten aus der Liste."))

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from foerdercall.i18n import label
from foerdercall.labels import field_label
from foerdercall.mailtemplates.operations import (
    KIND_PLACEHOLDERS,
    KIND_STATES,
    KINDS,
    RULE_STATES,
    unknown_placeholders,
)
from foerdercall.text import parse_id
from workflows.proposal import STATE_LABELS

from . import Form
from .fields import choices

LANG_LABELS = {"de": _l("Deutsch"), "en": _l("Englisch")}


class _VersionMixin:
    version: HiddenField  # of the form it is mixed into

    def version_number(self) -> int | None:
        """The posted version, or None for anything but a short number of ASCII digits."""
        value = str(self.version.data or "")
        return parse_id(value)


class _TextForm(Form):
    subject = StringField(_l("Betreff"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20000)])

    def _kind(self) -> str | None:
        return self.kind_value

    def validate_body(self, field):
        kind = self._kind()
        if kind not in KIND_PLACEHOLDERS:
            return  # the kind's own error says what is wrong
        unknown = unknown_placeholders(kind, self.subject.data or "", field.data or "")
        if unknown:
            raise ValidationError(
                _l(
                    "Unbekannte Platzhalter: %(names)s. Erlaubt sind: %(allowed)s.",
                    names=", ".join(f"{{{n}}}" for n in unknown),
                    allowed=", ".join(f"{{{n}}}" for n in KIND_PLACEHOLDERS[kind]),
                )
            )


class MailTemplateForm(_TextForm):
    """A new template: which mail, language and rule, and its text."""

    kind = SelectField(_l("Nachricht"), choices=choices(KINDS.items()), validators=[DataRequired()])
    lang = SelectField(
        _l("Sprache"), choices=choices(LANG_LABELS.items()), default="de", validators=[DataRequired()]
    )
    state = SelectField(_l("Nur im Status (Regel)"), validate_choice=True)
    field_of_action = SelectField(_l("Nur im Handlungsfeld (Regel)"), validate_choice=True)

    def __init__(self, *args, call, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = choices(
            [("", _l("jeder Status"))] + [(s, label(STATE_LABELS[s])) for s in RULE_STATES]
        )
        self.field_of_action.choices = choices(
            [("", _l("jedes Handlungsfeld"))] + [(f, field_label(call, f)) for f in call.field_keys]
        )

    def _kind(self) -> str | None:
        return self.kind.data

    def validate_state(self, field):
        if field.data and self.kind.data in KIND_STATES and field.data not in KIND_STATES[self.kind.data]:
            raise ValidationError(_l("Diese Nachricht wird in diesem Status nie geschrieben."))


class MailTemplateTextForm(_VersionMixin, _TextForm):
    """The text of an existing template (its rule stays; for another rule, write a new template). ``version``
    is the version the form showed: a save over a text someone else changed since is refused."""

    version = HiddenField()

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind_value = kind


class ActivateForm(_VersionMixin, Form):
    """The version of the text the preview showed: only that one is activated."""

    version = HiddenField()


class DeleteTemplateForm(Form):
    confirm = BooleanField(
        _l("Ich möchte diese Vorlage löschen."),
        validators=[DataRequired(_l("Bitte bestätigen Sie das Löschen."))],
    )

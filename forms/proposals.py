from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from foerdercall.labels import field_label

from . import Form
from .fields import BerlinDateTimeField, MoneyField, OfferedChoice, choices


class ProposalForm(Form):
    """Everything optional while drafting: completeness is the workflow's "answers_complete" condition."""

    title = StringField(_l("Titel der Maßnahme"), validators=[Optional(), Length(max=300)])
    field_of_action = SelectField(
        _l("Handlungsfeld"),
        choices=[],
        validate_choice=False,
        validators=[OfferedChoice(_l("Bitte wählen Sie ein Handlungsfeld aus der Liste."))],
    )
    summary = TextAreaField(_l("Kurzbeschreibung"), validators=[Optional(), Length(max=2000)])
    description = TextAreaField(_l("Konzept"), validators=[Optional(), Length(max=20000)])
    work_plan = TextAreaField(_l("Arbeits- und Zeitplan"), validators=[Optional(), Length(max=20000)])
    team = TextAreaField(_l("Team"), validators=[Optional(), Length(max=10000)])
    leipzig_relation = TextAreaField(_l("Bezug zu Leipzig"), validators=[Optional(), Length(max=10000)])
    requested_amount = MoneyField(_l("Angebotspreis (netto, €)"), validators=[Optional()])
    advice_requested = BooleanField(
        _l("Ich möchte von der Kontaktstelle Kreativwirtschaft beraten werden (sie darf mein Angebot lesen).")
    )
    # the button pressed: "submit" hands the draft in; any other value (the autosave sends "save") saves it
    action = SelectField(
        choices=choices([("save", _l("Entwurf speichern")), ("submit", _l("Verbindlich einreichen"))]),
        validate_choice=False,
        validators=[Optional()],
    )

    @property
    def submitting(self) -> bool:
        return self.action.data == "submit"

    def draft_data(self) -> dict:
        data = {
            name: (getattr(self, name).data or "")
            for name in (
                "title",
                "summary",
                "description",
                "work_plan",
                "team",
                "leipzig_relation",
                "field_of_action",
            )
        }
        data["requested_amount_cents"] = self.requested_amount.data or 0
        data["advice_requested"] = bool(self.advice_requested.data)
        return data


class UploadForm(Form):
    kind = SelectField(_l("Art der Anlage"), choices=[], validate_choice=False, validators=[OfferedChoice()])
    file = FileField(_l("PDF-Datei"), validators=[FileRequired(_l("Bitte wählen Sie eine Datei."))])


class AnswerForm(Form):
    answer = TextAreaField(_l("Ihre Antwort"), validators=[DataRequired(), Length(max=10000)])
    file = FileField(_l("Nachgereichtes Dokument (PDF, optional)"))


class ReasonForm(Form):
    reason = TextAreaField(_l("Begründung / Nachricht"), validators=[DataRequired(), Length(max=10000)])


class ExtendForm(Form):
    email = StringField(
        _l("E-Mail-Adresse der antragstellenden Person"), validators=[DataRequired(), Length(max=254)]
    )
    deadline = BerlinDateTimeField(_l("Neue Frist für diese Person"), validators=[DataRequired()])
    reason = TextAreaField(_l("Begründung"), validators=[DataRequired(), Length(max=5000)])


def proposal_form(p, formdata=None) -> ProposalForm:
    """The draft form of a proposal: its answers, or what was posted; the fields of action of its call."""
    form = ProposalForm(formdata=formdata, obj=p if formdata is None else None)
    form.field_of_action.choices = choices((f, field_label(p.call, f)) for f in p.call.field_keys)
    if formdata is None:
        form.requested_amount.data = p.requested_amount_cents or None
    return form

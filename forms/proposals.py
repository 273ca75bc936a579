from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from foerdercall.i18n import current_lang
from foerdercall.labels import term

from . import Form
from .application import ApplicationForm, application_form
from .fields import BerlinDateTimeField, OfferedChoice, choices


class ProposalForm(ApplicationForm):
    """The draft of a proposal: the call's application form (made by :func:`proposal_form`) and the buttons.
    Everything optional while drafting: completeness is the workflow's "answers_complete" condition."""

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
        """What save_draft stores: the answers that could be read (all of them, after validate()) and the flag."""
        return {"answers": self.answers(), "advice_requested": bool(self.advice_requested.data)}


class UploadForm(Form):
    kind = SelectField(_l("Art der Anlage"), choices=[], validate_choice=False, validators=[OfferedChoice()])
    file = MultipleFileField(
        _l("PDF-Dateien (eine oder mehrere)"),
        validators=[FileRequired(_l("Bitte wählen Sie eine Datei."))],
        render_kw={"accept": "application/pdf"},
    )


class AnswerForm(Form):
    answer = TextAreaField(_l("Ihre Antwort"), validators=[DataRequired(), Length(max=10000)])
    file = FileField(_l("Nachgereichtes Dokument (PDF, optional)"))


class ReasonForm(Form):
    reason = TextAreaField(_l("Begründung / Nachricht"), validators=[DataRequired(), Length(max=10000)])


class ReasonsRequestForm(Form):
    """An unsuccessful applicant asks for the reasons of the decision."""

    question = TextAreaField(
        _l("Ihre Frage (freiwillig): worauf es Ihnen bei der Begründung ankommt"),
        validators=[Optional(), Length(max=5000)],
    )


class ReasonsAnswerForm(Form):
    """An official answers a request for the reasons (sent to the applicant as written)."""

    answer = TextAreaField(
        _l("Antwort an die antragstellende Person (wird ihr geschickt und steht im Vergabevermerk)"),
        validators=[DataRequired(_l("Bitte schreiben Sie die Antwort.")), Length(max=20000)],
    )


class ExtendForm(Form):
    email = StringField(
        _l("E-Mail-Adresse der antragstellenden Person"), validators=[DataRequired(), Length(max=254)]
    )
    deadline = BerlinDateTimeField(_l("Neue Frist für diese Person"), validators=[DataRequired()])
    reason = TextAreaField(_l("Begründung"), validators=[DataRequired(), Length(max=5000)])


def proposal_form(p, formdata=None) -> ProposalForm:
    """The draft form of a proposal: its call's application form in the reader's language, with its answers or
    what was posted."""
    cls = application_form(p.call.form_definition, current_lang(), base=ProposalForm)
    if formdata is None:
        form = cls(answers=p.answers or {})
        form.advice_requested.data = p.advice_requested
    else:
        form = cls(formdata=formdata)
    form.advice_requested.label.text = term(p, "advice_consent")  # mein Angebot / mein Antrag
    return form  # made with base=ProposalForm

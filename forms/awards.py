from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from foerdercall.appform.answers import Invalid, parse_money
from foerdercall.appform.definition import FormDefinition
from foerdercall.i18n import current_lang
from foerdercall.outcomes.values import COMMENT_MAX, read_values
from workflows.objection import OUTCOMES

from . import Form
from .fields import BerlinDateTimeField, MoneyField, Required, choices


class SignOffForm(Form):
    decision = SelectField(
        _l("Entscheidung Ihres Amtes"),
        choices=choices([("approve", _l("Zustimmen")), ("reject", _l("Ablehnen"))]),
    )
    reason = TextAreaField(
        _l("Begründung (bei Ablehnung erforderlich)"), validators=[Optional(), Length(max=10000)]
    )


class AwardForm(Form):
    amount = MoneyField(_l("Auftragssumme (netto, €)"), validators=[Required()])


class TextForm(Form):
    text = TextAreaField(_l("Bericht"), validators=[DataRequired(), Length(max=20000)])


class ReportForm(Form):
    """An interim or final report. :func:`report_form` adds the call's indicators: the value achieved so far
    (``value-<key>``) and a comment (``comment-<key>``) for each, and the evidence (a PDF)."""

    narrative = TextAreaField(_l("Sachbericht"), validators=[DataRequired(), Length(max=50000)])
    use_of_funds = TextAreaField(_l("Verwendung der Mittel"), validators=[Optional(), Length(max=20000)])
    spent = MoneyField(_l("Ausgegeben bisher (€)"), validators=[Optional()])
    evidence = FileField(
        _l("Nachweis zu den Werten (PDF, optional)"), render_kw={"accept": "application/pdf"}
    )
    definition: FormDefinition | None = None
    field_of_action: str | None = None
    cost_lines: list = []  # the approved cost plan's (item, planned cents): the proof of use asks the actual of each
    values: dict = {}
    statement: list = []  # once validated: the proof of use, {"item", "planned_cents", "actual_cents"} per line

    def validate(self, extra_validators=None) -> bool:
        fine = super().validate(extra_validators)
        if self.definition is None:
            return fine
        keys = [i.key for _q, i in self.definition.indicators() if f"value-{i.key}" in self]
        entry = read_values(
            self.definition,
            {k: self[f"value-{k}"].data or "" for k in keys},
            {k: self[f"comment-{k}"].data or "" for k in keys},
            current_lang(),
            self.field_of_action,
        )
        for key, message in entry.errors.items():
            self[f"value-{key}"].errors = [*self[f"value-{key}"].errors, message]
        if self.evidence.data and not entry.values and not entry.errors:
            self.evidence.errors = [_("Bitte geben Sie die Werte an, die der Nachweis belegt.")]
        self.values = entry.values
        lines_fine = self._read_statement()
        return fine and not entry.errors and not self.evidence.errors and lines_fine

    def _read_statement(self) -> bool:
        """The proof of use: the actual amount of each line of the cost plan (empty: none spent on it)."""
        statement, fine = [], True
        for n, (item, planned) in enumerate(self.cost_lines):
            field = self[f"actual-{n}"]
            typed = (field.data or "").strip()
            try:
                actual = parse_money(typed, current_lang()) if typed else 0
            except Invalid:
                actual = None
            if actual is None or actual < 0:
                field.errors = [*field.errors, _("Bitte geben Sie einen Betrag in Euro an, z. B. 1.250,00.")]
                fine = False
                continue
            statement.append({"item": item, "planned_cents": planned, "actual_cents": actual})
        self.statement = statement
        return fine


def report_form(
    definition: FormDefinition, field_of_action: str | None = None, cost_lines: list | None = None
) -> type[ReportForm]:
    """The report form of a measure: the call's indicators for its field of action added (in the form's order),
    and for a grant's final report the actual amount of each line of the approved cost plan (``cost_lines``)."""
    lang = current_lang()
    fields: dict = {
        "definition": definition,
        "field_of_action": field_of_action,
        "cost_lines": cost_lines or [],
    }
    for n, (item, _planned) in enumerate(cost_lines or []):
        fields[f"actual-{n}"] = StringField(
            _l("Tatsächlich ausgegeben: %(item)s", item=item), validators=[Optional(), Length(max=40)]
        )
    for _q, i in definition.indicators():
        if not i.applies_to(field_of_action):
            continue
        label = i.label.get(lang)
        fields[f"value-{i.key}"] = StringField(
            f"{label} ({i.unit})" if i.unit else label, validators=[Optional(), Length(max=40)]
        )
        fields[f"comment-{i.key}"] = StringField(
            _l("Anmerkung zu %(label)s", label=label), validators=[Optional(), Length(max=COMMENT_MAX)]
        )
    return type("CallReportForm", (ReportForm,), fields)


class CorrectValueForm(Form):
    """An official corrects a reported value: the value that counts from now on, and why."""

    value = StringField(
        _l("Berichtigter Wert"),
        validators=[DataRequired(_l("Bitte geben Sie den berichtigten Wert an.")), Length(max=40)],
    )
    reason = TextAreaField(
        _l("Begründung"),
        validators=[DataRequired(_l("Bitte begründen Sie die Berichtigung.")), Length(max=5000)],
    )


class PaymentForm(Form):
    amount = MoneyField(_l("Betrag (€)"), validators=[Required()])
    # a contract's payment plan: the tranche it pays, and the contractor's invoice number
    tranche = SelectField(_l("Rate des Zahlungsplans"), choices=[], validate_choice=False)
    invoice = StringField(_l("Rechnungsnummer"), validators=[Optional(), Length(max=100)])
    note = StringField(_l("Vermerk"), validators=[Optional(), Length(max=500)])

    def validate_tranche(self, field):
        field.data = (field.data or "")[:20]


class DrawdownForm(Form):
    """A grant recipient's drawdown (Mittelabruf): the amount, its purpose, a line of the approved cost plan."""

    amount = MoneyField(_l("Betrag (€)"), validators=[Required()])
    cost_item = SelectField(_l("Posten des Kostenplans (optional)"), choices=[], validate_choice=False)
    purpose = TextAreaField(
        _l("Wofür die Mittel gebraucht werden"), validators=[Optional(), Length(max=5000)]
    )

    def validate_cost_item(self, field):
        field.data = (field.data or "")[:300]


class ClaimForm(Form):
    """An official claims money back from an award, with the reason (sent to the recipient)."""

    amount = MoneyField(_l("Betrag (€)"), validators=[Required()])
    reason = TextAreaField(
        _l("Begründung (wird der Zuwendungsempfängerin bzw. dem -empfänger geschickt)"),
        validators=[DataRequired(_l("Bitte geben Sie eine Begründung an.")), Length(max=10000)],
    )


class MilestoneForm(Form):
    title = StringField(_l("Meilenstein"), validators=[DataRequired(), Length(max=300)])
    due_at = BerlinDateTimeField(_l("Fällig am"), validators=[DataRequired()])


class ObjectionForm(Form):
    """An objection received during the standstill (``reason``: its text); with ``resolve`` set, the result of
    its examination (``reason``) and its ``outcome``. The rulebook says which outcome is missing."""

    reason = TextAreaField(_l("Begründung"), validators=[Optional(), Length(max=10000)])
    resolve = BooleanField()
    outcome = RadioField(
        choices=choices((o, o) for o in OUTCOMES), validate_choice=False, validators=[Optional()]
    )


class ReportTextForm(Form):
    """The office's short text of an implementation report."""

    text = TextAreaField(_l("Text des Amtes zum Bericht"), validators=[Optional(), Length(max=20000)])

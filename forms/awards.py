from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

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
    narrative = TextAreaField(_l("Sachbericht"), validators=[DataRequired(), Length(max=50000)])
    use_of_funds = TextAreaField(_l("Verwendung der Mittel"), validators=[Optional(), Length(max=20000)])
    spent = MoneyField(_l("Ausgegeben bisher (€)"), validators=[Optional()])


class PaymentForm(Form):
    amount = MoneyField(_l("Betrag (€)"), validators=[Required()])
    note = StringField(_l("Vermerk"), validators=[Optional(), Length(max=500)])


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

import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from foerdercall.calls.operations import (
    DEFAULT_CRITERIA,
    DEFAULT_FIELDS_OF_ACTION,
    DEFAULT_MONTHS,
    default_milestone_plan,
)
from foerdercall.offices.queries import all_offices
from foerdercall.text import parse_id

from . import Form
from .accounts import MultiCheckboxField
from .fields import BerlinDateTimeField, DaysField, DaysListField, MoneyField, Required, choices
from .rows import RowList, RowsForm, fresh_key


def _number(text) -> int | None:
    """A whole number written with 0-9 ("²" and "٣" pass str.isdigit() but are no weight), else None."""
    text = "" if text is None else str(text).strip()
    return int(text) if re.fullmatch(r"[0-9]{1,6}", text) else None


def _row_keys(posted: list) -> list[str]:
    """The rows' keys: each posted one that is well-formed and not taken by an earlier row, else a fresh one (a new
    row, or a hand-made key)."""
    kept: list[str] = []
    for key in posted:
        key = (key or "").strip()
        kept.append(key if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key) and key not in kept else "")
    taken = set(kept)
    keys = []
    for key in kept:
        if not key:
            key = fresh_key(taken)
            taken.add(key)
        keys.append(key)
    return keys


class CriterionForm(Form):
    """One row of the criteria catalogue (a part of CallForm.criteria); checked by CallForm.validate_criteria,
    which names the row in each message. Weight and minimum are text here, so a wrong entry comes back as typed."""

    class Meta:
        csrf = False  # a part of the call form, which carries the token

    key = HiddenField(validators=[Optional(), Length(max=40)])
    name = StringField(_l("Name"), validators=[Length(max=300)])
    description = TextAreaField(_l("Beschreibung (optional)"), validators=[Length(max=5000)])
    weight = StringField(_l("Gewicht (%)"), validators=[Length(max=10)])
    knockout_min = StringField(_l("K.-o.-Minimum (optional)"), validators=[Length(max=10)])
    tie_rank = StringField(_l("Rang bei Gleichstand (optional)"), validators=[Length(max=10)])


class FieldOfActionForm(Form):
    """One field of action of the call (a part of CallForm.fields_of_action)."""

    class Meta:
        csrf = False  # a part of the call form, which carries the token

    key = HiddenField(validators=[Optional(), Length(max=40)])
    de = StringField(_l("Bezeichnung"), validators=[Length(max=200)])
    en = StringField(_l("Bezeichnung auf Englisch (optional)"), validators=[Length(max=200)])


class MilestonePlanForm(Form):
    """One milestone of the call's plan (a part of CallForm.milestone_plan): every award starts with these."""

    class Meta:
        csrf = False  # a part of the call form, which carries the token

    de = StringField(_l("Titel"), validators=[Length(max=200)])
    en = StringField(_l("Titel auf Englisch (optional)"), validators=[Length(max=200)])
    month = StringField(_l("Monat nach der Annahme"), validators=[Length(max=10)])


class CallForm(RowsForm):
    code = StringField(
        _l("Kürzel (für Aktenzeichen)"),
        validators=[
            DataRequired(),
            Length(max=30),
            Regexp(r"^[A-Za-z0-9-]+$", message=_l("Nur Buchstaben, Ziffern und -.")),
        ],
    )
    title = StringField(_l("Titel"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=20000)])
    fields_of_action = RowList(FieldOfActionForm, label=_l("Handlungsfelder"), max_entries=30)
    deciding_offices = MultiCheckboxField(
        _l("Entscheidende Ämter (jedes zeichnet jede Förderentscheidung)"), validators=[DataRequired()]
    )
    mode = SelectField(
        _l("Vergabeart"),
        choices=choices([("procurement", _l("Auftragsvergabe (Standard)")), ("grant", _l("Zuwendung"))]),
    )
    legal_regime = StringField(_l("Rechtsgrundlage"), validators=[Length(max=200)])
    procedure_type = StringField(_l("Verfahrensart"), validators=[Length(max=200)])
    procedure_reason = TextAreaField(_l("Begründung der Verfahrenswahl"), validators=[Length(max=5000)])
    estimated_value = MoneyField(_l("Geschätzter Auftragswert (netto, €)"), validators=[Optional()])
    budget = MoneyField(_l("Budget des Aufrufs (€)"), validators=[Required()])
    max_amount = MoneyField(_l("Obergrenze je Maßnahme (€)"), validators=[Required()])
    opens_at = BerlinDateTimeField(_l("Einreichung ab (Leipziger Zeit)"), validators=[Required()])
    submission_deadline = BerlinDateTimeField(
        _l("Einreichungsfrist (Leipziger Zeit, minutengenau)"), validators=[DataRequired()]
    )
    review_deadline = BerlinDateTimeField(_l("Frist für Gutachten"), validators=[Optional()])
    clarification_days = IntegerField(
        _l("Frist für Nachforderungen (Tage)"), default=14, validators=[Required(), NumberRange(1, 90)]
    )
    acceptance_days = IntegerField(
        _l("Annahmefrist des Zuschlags (Tage)"), default=28, validators=[Required(), NumberRange(1, 90)]
    )
    implementation_months = IntegerField(
        _l("Umsetzungszeitraum (Monate)"), default=12, validators=[Required(), NumberRange(1, 60)]
    )
    scale_max = IntegerField(
        _l("Bewertungsskala 0 bis"), default=5, validators=[Required(), NumberRange(2, 10)]
    )
    min_total = IntegerField(
        _l("Mindestpunktzahl (von 100)"), default=50, validators=[Required(), NumberRange(0, 100)]
    )
    criteria = RowList(CriterionForm, label=_l("Kriterien"), max_entries=50)
    lots_announced = BooleanField(
        _l(
            "Bleibt nach diesen Kriterien ein Gleichstand, entscheidet das Los (wird mit dem Aufruf veröffentlicht)"
        )
    )
    milestone_plan = RowList(MilestonePlanForm, label=_l("Meilensteinplan"), max_entries=24)
    # the rows once validated, as the call stores them
    parsed_criteria: list[tuple[str, str, int, int | None, str, int | None]]
    parsed_fields: list[dict[str, str]]
    parsed_plan: list[dict]
    # the worker's reminders (days) and the decision mails
    reminder_days = DaysListField(
        _l("Erinnerung an nicht eingereichte Entwürfe (Tage vor der Frist)"), default=lambda: [7, 1]
    )
    review_reminder_days = DaysListField(
        _l("Erinnerung an offene Gutachten (Tage vor der Gutachtenfrist)"), default=lambda: [3, 1]
    )
    signoff_reminder_days = DaysField(
        _l("Erinnerung an eine offene Zeichnung nach (Tagen)"), default=3, validators=[Required()]
    )
    signoff_escalation_days = DaysField(
        _l("Eskalation an die Amtsleitung nach (Tagen)"), default=5, validators=[Required()]
    )
    milestone_reminder_days = DaysField(
        _l("Erinnerung vor einem Meilenstein (Tage)"), default=7, validators=[Required()]
    )
    implementation_reminder_days = DaysField(
        _l("Erinnerung vor dem Ende des Umsetzungszeitraums (Tage)"), default=30, validators=[Required()]
    )
    # reviewing, ranking and the award decision
    reviewers_per_proposal = IntegerField(
        _l("Gutachter/innen je Angebot (automatische Zuweisung)"),
        default=2,
        validators=[Optional(), NumberRange(1, 10)],
    )
    reviewer_from_each_office = BooleanField(
        _l("Mindestens eine Gutachterin oder ein Gutachter aus jedem Amt")
    )
    justify_ends_only = BooleanField(
        _l(
            "Begründung nur für Bewertungen am Rand der Skala (0 und Höchstwert) und "
            "für „nicht anwendbar“ verlangen (sonst für jede Bewertung)"
        )
    )
    blind_review = BooleanField(
        _l("Blinde Begutachtung: die Bewertungen der anderen erst nach dem eigenen Gutachten zeigen")
    )
    hide_applicant = BooleanField(_l("Identität der Antragstellenden vor den Gutachter/innen verbergen"))
    score_aggregation = SelectField(
        _l("Zusammenfassung der Gutachten je Kriterium"),
        choices=choices([("mean", _l("Mittelwert")), ("median", _l("Median"))]),
        default="mean",
    )
    standstill_threshold = MoneyField(
        _l("Stillhaltefrist ab Auftragswert (netto, €)"), validators=[Optional()]
    )
    eu_funded = BooleanField(
        _l(
            "Kofinanziert von der Europäischen Union (EFRE): EU-Emblem und Förderhinweis auf Seiten und Dokumenten"
        )
    )
    grant_conditions = TextAreaField(
        _l("Nebenbestimmungen einer Zuwendung (Teil jedes Zuwendungsbescheids)"),
        validators=[Optional(), Length(max=50000)],
    )
    reasons_request_days = IntegerField(
        _l("Gründe auf Antrag: Frist nach der Ablehnung (Tage)"),
        default=30,
        validators=[Required(), NumberRange(1, 180)],
    )
    # data protection: the notice ("" = the template generated from the call) and the retention period
    privacy_notice = TextAreaField(_l("Datenschutzhinweise"), validators=[Optional(), Length(max=50000)])
    retention_months = IntegerField(
        _l("Anonymisierung nicht geförderter Angebote (Monate nach Abschluss der Auswahl)"),
        default=6,
        validators=[Required(), NumberRange(1, 120)],
    )
    hold_decision_mails = BooleanField(
        _l(
            "Entscheidungsmails (Zuschlag, Absage, Ausschluss) zurückhalten, "
            "bis eine Sachbearbeiterin oder ein Sachbearbeiter sie freigibt"
        )
    )

    def validate_criteria(self, field):
        """Each row: a name, a weight of 1 to 100 (percent, as the database requires), a knock-out minimum on the
        scale or none; every message names the row ("Kriterium 3: …") and marks its field."""
        scale = self.scale_max.data if isinstance(self.scale_max.data, int) else 10
        scale = scale if 2 <= scale <= 10 else 10

        def check(row, refuse):
            name = (row.name.data or "").strip()
            weight = _number(row.weight.data)
            ko_text = "" if row.knockout_min.data is None else str(row.knockout_min.data).strip()
            ko = _number(ko_text) if ko_text not in ("", "-") else None
            if not name:
                refuse(row.name, _l("Bitte geben Sie einen Namen an."))
            if weight is None or not 1 <= weight <= 100:
                refuse(row.weight, _l("Das Gewicht ist eine ganze Zahl von 1 bis 100 (Prozent)."))
            if ko_text not in ("", "-") and (ko is None or ko > scale):
                refuse(
                    row.knockout_min,
                    _l(
                        "Das K.-o.-Minimum ist leer oder eine ganze Zahl von 0 bis %(max)s (Skala).",
                        max=scale,
                    ),
                )
            tie_text = "" if row.tie_rank.data is None else str(row.tie_rank.data).strip()
            tie_rank = _number(tie_text) if tie_text not in ("", "-") else None
            if tie_text not in ("", "-") and (tie_rank is None or not 1 <= tie_rank <= len(field.entries)):
                refuse(
                    row.tie_rank,
                    _l(
                        "Der Rang bei Gleichstand ist leer oder eine ganze Zahl von 1 bis %(max)s.",
                        max=len(field.entries),
                    ),
                )
                tie_rank = None
            elif tie_rank is not None and tie_rank in tie_ranks:
                refuse(row.tie_rank, _l("Diesen Rang bei Gleichstand hat schon ein anderes Kriterium."))
            tie_ranks.add(tie_rank)
            return (row.key.data, name[:300], weight, ko, row.description.data or "", tie_rank)

        tie_ranks: set[int | None] = set()
        rows = field.check(lambda n, m: _l("Kriterium %(n)s: %(message)s", n=n, message=m), check)
        if not field.entries:
            field.errors.append(str(_l("Bitte mindestens ein Kriterium angeben.")))
        keys = _row_keys([key for key, *_rest in rows])
        self.parsed_criteria = [
            (key, name, weight, ko, description, tie_rank)
            for key, (_k, name, weight, ko, description, tie_rank) in zip(keys, rows, strict=True)
            if weight is not None
        ]

    def validate_fields_of_action(self, field):
        """Each row: a German label (English optional), each label once; its key stays (proposals and mail
        templates name a field of action by it), a new row gets one."""
        seen: set[str] = set()

        def check(row, refuse):
            de, en = (row.de.data or "").strip(), (row.en.data or "").strip()
            if not de:
                refuse(row.de, _l("Bitte geben Sie die Bezeichnung an."))
            elif de.casefold() in seen:
                refuse(row.de, _l("Dieses Handlungsfeld steht schon in der Liste."))
            seen.add(de.casefold())
            return row.key.data, de[:200], en[:200]

        rows = field.check(lambda n, m: _l("Handlungsfeld %(n)s: %(message)s", n=n, message=m), check)
        if not field.entries:
            field.errors.append(str(_l("Bitte mindestens ein Handlungsfeld angeben.")))
        keys = _row_keys([key for key, _de, _en in rows])
        self.parsed_fields = [
            {"key": key, "de": de, "en": en or de} for key, (_k, de, en) in zip(keys, rows, strict=True)
        ]

    def validate_milestone_plan(self, field):
        """Each row: a German title (English optional) and the month after the award was accepted, within the
        implementation period."""
        months = self.implementation_months.data if isinstance(self.implementation_months.data, int) else 60

        def check(row, refuse):
            de, en = (row.de.data or "").strip(), (row.en.data or "").strip()
            month = _number(row.month.data)
            if not de:
                refuse(row.de, _l("Bitte geben Sie den Titel an."))
            if month is None or not 1 <= month <= months:
                refuse(
                    row.month,
                    _l("Der Monat ist eine ganze Zahl von 1 bis %(max)s (Umsetzungszeitraum).", max=months),
                )
            return {"de": de[:200], "en": (en or de)[:200], "month": month or 1}

        self.parsed_plan = field.check(
            lambda n, m: _l("Meilenstein %(n)s: %(message)s", n=n, message=m), check
        )

    def set_criteria(self, rows) -> None:
        """Show these rows (Criterion rows, or (key, name, weight, knock-out) tuples) instead of the posted."""
        self.criteria.show(
            [
                r
                if not isinstance(r, tuple)
                else dict(
                    zip(("key", "name", "weight", "knockout_min", "description", "tie_rank"), r, strict=False)
                )
                for r in rows
            ]
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parsed_criteria = []
        self.parsed_fields = []
        self.parsed_plan = []
        call = kwargs.get("obj")
        if not self.is_submitted():  # the call's rows, or for a new call the defaults
            self.set_criteria(call.criteria if call is not None else DEFAULT_CRITERIA)
            self.fields_of_action.show(
                call.fields_of_action if call is not None else DEFAULT_FIELDS_OF_ACTION
            )
            self.milestone_plan.show(
                call.milestone_plan if call is not None else default_milestone_plan(DEFAULT_MONTHS)
            )
        offices = all_offices()
        self.deciding_offices.choices = [(o.key, f"{o.short_name} – {o.name}") for o in offices]
        if self.deciding_offices.data is None:  # a new call: the offices that decide by default
            self.deciding_offices.data = [o.key for o in offices if o.decides_by_default]

    def validate_max_amount(self, field):
        if field.data is not None and self.budget.data is not None and field.data > self.budget.data:
            raise ValidationError(_l("Die Obergrenze darf das Budget nicht übersteigen."))
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("Die Obergrenze muss größer als 0 sein."))

    def validate_signoff_escalation_days(self, field):
        if field.data and self.signoff_reminder_days.data and field.data < self.signoff_reminder_days.data:
            raise ValidationError(_l("Die Eskalation kann nicht vor der Erinnerung liegen."))

    def validate_submission_deadline(self, field):
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("Die Frist muss nach dem Beginn der Einreichung liegen."))

    def call_fields(self) -> dict:
        return {
            "code": (self.code.data or "").strip(),  # required: never None once validated
            "title": (self.title.data or "").strip(),
            "description": self.description.data or "",
            "fields_of_action": self.parsed_fields,
            "milestone_plan": self.parsed_plan,
            "deciding_offices": list(self.deciding_offices.data or []),
            "mode": self.mode.data,
            "legal_regime": self.legal_regime.data or "",
            "procedure_type": self.procedure_type.data or "",
            "procedure_reason": self.procedure_reason.data or "",
            "estimated_value_cents": self.estimated_value.data or 0,
            "budget_cents": self.budget.data,
            "max_amount_cents": self.max_amount.data,
            "opens_at": self.opens_at.data,
            "submission_deadline": self.submission_deadline.data,
            "review_deadline": self.review_deadline.data,
            "clarification_days": self.clarification_days.data,
            "acceptance_days": self.acceptance_days.data,
            "implementation_months": self.implementation_months.data,
            "scale_max": self.scale_max.data,
            "min_total": self.min_total.data,
            "lots_announced": bool(self.lots_announced.data),
            "reminder_days": list(self.reminder_days.data or []),
            "review_reminder_days": list(self.review_reminder_days.data or []),
            "signoff_reminder_days": self.signoff_reminder_days.data,
            "signoff_escalation_days": self.signoff_escalation_days.data,
            "milestone_reminder_days": self.milestone_reminder_days.data,
            "implementation_reminder_days": self.implementation_reminder_days.data,
            "hold_decision_mails": bool(self.hold_decision_mails.data),
            "reviewers_per_proposal": self.reviewers_per_proposal.data or 2,
            "reviewer_from_each_office": bool(self.reviewer_from_each_office.data),
            "justify_every_score": not self.justify_ends_only.data,
            "blind_review": bool(self.blind_review.data),
            "hide_applicant": bool(self.hide_applicant.data),
            "score_aggregation": self.score_aggregation.data
            if self.score_aggregation.data in ("mean", "median")
            else "mean",
            "standstill_threshold_cents": (
                self.standstill_threshold.data if self.standstill_threshold.data is not None else 50_000_00
            ),
            "privacy_notice": (self.privacy_notice.data or "").strip(),
            "retention_months": self.retention_months.data,
            "reasons_request_days": self.reasons_request_days.data,
            "eu_funded": bool(self.eu_funded.data),
            "grant_conditions": (self.grant_conditions.data or "").strip(),
        }


class CorrectionForm(Form):
    description = TextAreaField(_l("Beschreibung (berichtigt)"), validators=[Length(max=20000)])
    submission_deadline = BerlinDateTimeField(
        _l("Einreichungsfrist (berichtigt)"), validators=[DataRequired()]
    )
    reason = TextAreaField(_l("Grund der Berichtigung"), validators=[DataRequired(), Length(max=5000)])


class ConfirmForm(Form):
    """A button that changes state: only the CSRF token and an optional reason."""

    reason = TextAreaField(_l("Begründung"), validators=[Optional(), Length(max=10000)])
    # an official's note for the file (the audit event): never sent to the applicant
    note = TextAreaField(_l("Interne Notiz"), validators=[Optional(), Length(max=5000)])


class CopyCallForm(Form):
    """The button "copy this call": its hidden confirmation (a post without it copies nothing)."""

    confirm = HiddenField(validators=[DataRequired(), AnyOf(("y",))])


class BulkStepForm(Form):
    """A step on several proposals at once (the formal check passed, the award): the ids of the checkboxes."""

    # the checkboxes of the rows (rendered by the page itself): ids only
    proposal = SelectMultipleField(validate_choice=False)

    def validate_proposal(self, field):
        if any(parse_id(v) is None for v in field.data or []):
            raise ValidationError(_l("Bitte wählen Sie Angebote aus der Liste."))

    def proposal_ids(self) -> list[int]:
        """The chosen proposals' ids (each one checked by validate_proposal)."""
        return [i for v in self.proposal.data or [] if (i := parse_id(v)) is not None]


class BulkSignOffForm(BulkStepForm):
    """The decision view: one office's decision on several proposals at once (ids from the checkboxes)."""

    decision = SelectField(
        _l("Entscheidung Ihres Amtes für die ausgewählten Angebote"),
        choices=choices([("approve", _l("Zustimmen")), ("reject", _l("Ablehnen"))]),
    )
    reason = TextAreaField(
        _l("Begründung (bei Ablehnung erforderlich, gilt für alle ausgewählten)"),
        validators=[Optional(), Length(max=10000)],
    )


class TieForm(Form):
    """A tie the published criteria leave open (the decision view): the order the office proposes (the places,
    each a proposal id, best first) with its reason, or the lots drawn (action "lot")."""

    members = HiddenField(validators=[Length(max=2000)])  # the tied proposals' ids, "3,7"
    places = FieldList(SelectField(validate_choice=False), min_entries=0, max_entries=50)
    reason = TextAreaField(
        _l("Begründung der Reihenfolge (steht im Vergabevermerk)"), validators=[Optional(), Length(max=10000)]
    )
    action = HiddenField(validators=[Length(max=10)])

    def member_ids(self) -> list[int] | None:
        """The tied proposals' ids as posted, None for anything else."""
        ids = [parse_id(v) for v in (self.members.data or "").split(",")]
        return None if not ids or any(i is None for i in ids) else [i for i in ids if i is not None]

    def validate_places(self, field):
        if self.action.data == "lot":
            return
        members = self.member_ids() or []
        chosen = [parse_id(e.data) for e in field.entries]
        if sorted(i for i in chosen if i is not None) != sorted(members) or len(chosen) != len(members):
            raise ValidationError(_l("Bitte geben Sie jedem Angebot genau einen Platz."))

    def order(self) -> list[int]:
        """The proposed order, best first (checked by validate_places)."""
        return [i for e in self.places.entries if (i := parse_id(e.data)) is not None]

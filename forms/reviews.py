import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from foerdercall.text import parse_id

from . import Form
from .calls import ConfirmForm
from .fields import choices


class NeutralityForm(Form):
    confirm = BooleanField(
        _l("Ich erkläre, dass ich die Angebote dieses Aufrufs neutral und vertraulich behandle."),
        validators=[],
    )
    next = HiddenField(
        validators=[Length(max=2000)]
    )  # the page that asked for the declaration (a path of this site, else none)


class ConflictForm(Form):
    has_conflict = SelectField(
        _l("Interessenkonflikt"),
        choices=choices(
            [("no", _l("Kein Interessenkonflikt")), ("yes", _l("Ich habe einen Interessenkonflikt"))]
        ),
    )
    reason = TextAreaField(_l("Grund (bei Konflikt)"), validators=[Optional(), Length(max=5000)])


class OfficialConflictForm(Form):
    """An official or an advisor declares a conflict with one proposal (reviewers: ConflictForm)."""

    reason = TextAreaField(
        _l("Grund des Interessenkonflikts"),
        validators=[
            DataRequired(_l("Bitte nennen Sie den Grund des Interessenkonflikts.")),
            Length(max=5000),
        ],
    )


def is_id(value) -> bool:
    """A row id as the pages post it (foerdercall.text.parse_id: ASCII digits within the database's integer)."""
    return parse_id(value) is not None


def _reviewer_id(form, field):
    if field.data and not is_id(field.data):
        raise ValidationError(_l("Bitte wählen Sie eine Person aus der Liste."))


class AssignForm(Form):
    reviewer = SelectField(_l("Gutachter/in"), choices=[], validate_choice=False, validators=[_reviewer_id])
    start = BooleanField(_l("Begutachtung starten"))  # and start the review, if it has not started
    # the page to go back to: the call's assignments, else the proposal's page
    back = SelectField(
        name="next",
        choices=choices([("assignments", _l("Zuweisungen"))]),
        validate_choice=False,
        validators=[Optional()],
    )


class ScoreForm(ConfirmForm):
    """A review saved or submitted: the button pressed (the scores: :func:`parse_scores`)."""

    action = SelectField(
        choices=choices([("save", _l("Zwischenspeichern")), ("submit", _l("Gutachten abgeben"))]),
        validate_choice=False,
        validators=[Optional()],
    )

    @property
    def submitting(self) -> bool:
        return self.action.data == "submit"


def score_choices(scale_max: int):
    return [("", "–"), ("na", _l("nicht anwendbar"))] + [(str(i), str(i)) for i in range(scale_max + 1)]


@dataclass
class ScoreEntry:
    """What a reviewer posted: per criterion the score (None: not applicable or not chosen yet) and the
    justification, the values as typed (to show them again), the criteria left open and those whose value is not
    on the scale (a hand-made post): those keep the score stored before."""

    scores: dict[int, tuple[int | None, str]] = field(default_factory=dict)
    typed: dict[int, tuple[str, str]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)


def parse_scores(form_data, criteria, scale_max) -> ScoreEntry:
    """Read score_<id> and justification_<id> of each criterion."""
    entry = ScoreEntry()
    for c in criteria:
        raw = (form_data.get(f"score_{c.id}") or "").strip()[:10]
        text = (form_data.get(f"justification_{c.id}") or "")[:10000]
        entry.typed[c.id] = (raw, text)
        if raw in ("", "na"):
            entry.scores[c.id] = (None, text)
            if raw == "":
                entry.missing.append(c.id)
        elif not re.fullmatch(r"[0-9]{1,2}", raw) or int(raw) > scale_max:
            entry.invalid.append(c.id)
        else:
            entry.scores[c.id] = (int(raw), text)
    return entry


class DeclineForm(Form):
    kind = SelectField(
        _l("Grund"),
        choices=choices(
            [
                ("conflict", _l("Interessenkonflikt")),
                ("workload", _l("Arbeitsbelastung")),
                ("other", _l("Anderer Grund")),
            ]
        ),
    )
    reason = TextAreaField(_l("Erläuterung"), validators=[Optional(), Length(max=5000)])


class ReplaceForm(Form):
    reviewer = SelectField(
        _l("Neue Gutachterin / neuer Gutachter"), choices=[], validate_choice=False, validators=[_reviewer_id]
    )
    reason = TextAreaField(_l("Begründung"), validators=[Optional(), Length(max=5000)])

"""An official checks what a measure reported it achieved: confirms a value, or corrects it with a reason."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..appform.answers import Invalid, indicator_value
from ..audit.trail import record
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import current_lang
from ..locking import lock
from ..policy import check
from ..proposals.models import Proposal
from ..text import printable
from ..timeutil import now
from ..workflow.engine import fire
from .effects import Values
from .models import IndicatorValue, ReportText
from .values import call_indicators, of_the_call, plain

REPORT_TEXT_MAX = 20000


def _measure_of(v: IndicatorValue) -> Proposal:
    return lock(db.session.get_one(Proposal, v.proposal_id))  # the measure's changes wait for each other


def confirm_value(v: IndicatorValue, actor) -> IndicatorValue:
    _measure_of(v)
    return fire(v, "confirm_value", actor)


def correct_value(v: IndicatorValue, actor, typed: str, reason: str) -> IndicatorValue:
    """The official's value counts from now on; the reported one stays, as does who corrected it, when and why."""
    p = _measure_of(v)
    indicator = call_indicators(p.call.form_definition).get(v.indicator)
    if indicator is None:  # the call's form no longer has it: nothing to count it for
        raise ActionRefused(_("Diesen Indikator hat der Aufruf nicht: %(key)s.", key=v.indicator))
    try:
        value = indicator_value(indicator, typed, current_lang())
    except Invalid as exc:
        raise ActionRefused(str(exc)) from exc
    if value is None:
        raise ActionRefused(_("Bitte geben Sie den berichtigten Wert an."))
    return fire(v, "correct_value", actor, reason=reason, value=value)


def save_report_text(actor, text: str, *, call: Call | None = None, year: int | None = None) -> ReportText:
    """The office's text of the implementation report of a call or of a year (one each; a new text replaces
    the old one, the audit keeps both)."""
    check(actor, "outcomes.write_report")
    text = printable(text or "").strip()
    if len(text) > REPORT_TEXT_MAX:
        raise ActionRefused(_("Der Text ist zu lang (höchstens %(n)s Zeichen).", n=REPORT_TEXT_MAX))
    where = ReportText.call_id == call.id if call is not None else ReportText.year == year
    row = db.session.scalar(select(ReportText).where(where).with_for_update())
    if row is None:
        row = ReportText(
            call_id=call.id if call is not None else None, year=None if call is not None else year
        )
        db.session.add(row)
    before = row.text or ""
    row.text, row.updated_by_id, row.updated_at = text, actor.id, now()
    db.session.flush()
    record(actor, "save_report_text", row, data={"call_id": row.call_id, "year": row.year, "before": before})
    return row


def add_values(p: Proposal, actor, values: Values, source: str = "api") -> list[IndicatorValue]:
    """Achieved values that arrive without a report (a survey tool, through the API): checked as a report's are,
    recorded as reported (an official confirms or corrects them), audited as one event."""
    p = lock(p)
    check(actor, "proposal.add_values", p)
    values = of_the_call(p.call.form_definition, values)
    if not values:
        raise ActionRefused(_("Bitte geben Sie mindestens einen Wert an."))
    at = now()
    rows = [
        IndicatorValue(
            proposal_id=p.id,
            indicator=key,
            value=value,
            comment=comment,
            source=source,
            reported_by_id=actor.id,
            reported_at=at,
        )
        for key, (value, comment) in values.items()
    ]
    db.session.add_all(rows)
    db.session.flush()
    record(
        actor, "add_indicator_values", p, data={"indicators": {k: plain(v) for k, (v, _c) in values.items()}}
    )
    return rows

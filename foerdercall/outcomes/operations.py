"""An official checks what a measure reported it achieved: confirms a value, or corrects it with a reason."""

from __future__ import annotations

from flask_babel import gettext as _

from ..appform.answers import Invalid, indicator_value
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import current_lang
from ..locking import lock
from ..proposals.models import Proposal
from ..workflow.engine import fire
from .models import IndicatorValue
from .values import call_indicators


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

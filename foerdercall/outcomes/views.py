"""An official confirms or corrects a value a measure reported (on the proposal's page)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.awards import CorrectValueForm
from forms.calls import ConfirmForm

from ..errors import ActionRefused
from ..pages import flash_errors, undo_refused
from ..policy.loaders import get_indicator_value_for, require
from ..proposals.page import render_proposal_page
from .operations import confirm_value, correct_value

bp = Blueprint("outcomes", __name__)


def _back(p):
    return redirect(url_for("proposals.detail", proposal_id=p.id, _anchor="h-outcome"))


@bp.route("/proposals/<int:proposal_id>/values/<int:value_id>/confirm", methods=["POST"])
@login_required
def confirm(proposal_id: int, value_id: int):
    p, v = get_indicator_value_for(current_user, proposal_id, value_id)
    require(current_user, "proposal.handle", p)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    confirm_value(v, current_user)
    flash(_("Der Wert ist bestätigt."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/values/<int:value_id>/correct", methods=["POST"])
@login_required
def correct(proposal_id: int, value_id: int):
    p, v = get_indicator_value_for(current_user, proposal_id, value_id)
    require(current_user, "proposal.handle", p)
    form = CorrectValueForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    try:
        correct_value(v, current_user, form.value.data or "", form.reason.data or "")
    except ActionRefused as exc:  # the page again: the message, nothing changed
        undo_refused(exc)
        return render_proposal_page(p), 422
    flash(_("Der Wert ist berichtigt; der berichtigte Wert zählt."), "success")
    return _back(p)

"""The decision view's ties: propose an order, draw lots, agree or refuse (ranking.ties; the rules in
workflows/tie.py and the rulebook's conditions)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.calls import ConfirmForm, TieForm
from workflows import TieState

from ..extensions import db
from ..policy.loaders import get_call_for, require, require_neutrality
from .models import TieBreak
from .ties import agree_to_tie, draw_lots, propose_tie_order, refuse_tie_order

bp = Blueprint("ranking", __name__)


def _decision_call(call_id: int):
    """The call whose decision page the official works on (opened, the declaration of neutrality signed)."""
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    if call.is_sealed:
        abort(404)
    require_neutrality(current_user, call)
    return call


def _back(call_id: int):
    return redirect(url_for("calls.decision", call_id=call_id, _anchor="ties"))


@bp.route("/calls/<int:call_id>/ties", methods=["POST"])
@login_required
def decide(call_id: int):
    call = _decision_call(call_id)
    form = TieForm()
    if not form.validate_on_submit() or (members := form.member_ids()) is None:
        for message in [m for errors in form.errors.values() for m in errors if not isinstance(m, list)]:
            flash(str(message), "error")
        if not form.errors:
            abort(400)
        return _back(call.id)
    if form.action.data == "lot":
        tb = draw_lots(call, current_user, members)
        flash(
            _("Das Los ist gezogen. Eine zweite Person bestätigt die Ziehung als Zeugin oder Zeuge."),
            "success",
        )
    else:
        tb = propose_tie_order(call, current_user, form.order(), form.reason.data or "")
        flash(_("Die Reihenfolge ist vorgeschlagen; die anderen Ämter stimmen zu."), "success")
    return redirect(url_for("calls.decision", call_id=call.id, _anchor=f"tie-{tb.id}"))


def _tie(tie_id: int) -> TieBreak:
    tb = db.session.get(TieBreak, tie_id)
    if tb is None:
        abort(404)
    _decision_call(tb.call_id)
    return tb


@bp.route("/ties/<int:tie_id>/agree", methods=["POST"])
@login_required
def agree(tie_id: int):
    tb = _tie(tie_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    agree_to_tie(tb, current_user)
    done = tb.state == TieState.RESOLVED
    flash(_("Der Gleichstand ist entschieden.") if done else _("Ihre Zustimmung ist vermerkt."), "success")
    return _back(tb.call_id)


@bp.route("/ties/<int:tie_id>/refuse", methods=["POST"])
@login_required
def refuse(tie_id: int):
    tb = _tie(tie_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    refuse_tie_order(tb, current_user, form.reason.data or "")
    flash(_("Sie haben der Reihenfolge nicht zugestimmt; ein neuer Vorschlag ist möglich."), "success")
    return _back(tb.call_id)

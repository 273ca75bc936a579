from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.calls import CallForm, ConfirmForm, CorrectionForm, criteria_text
from workflows.proposal import STATE_LABELS

from ..access import is_official, require_role
from ..errors import ActionRefused
from ..extensions import db
from ..proposals.models import Proposal
from ..reviews.operations import score_proposal
from ..workflow.engine import available_triggers, fire
from .models import Call, CallVersion
from .operations import (
    DEFAULT_CRITERIA,
    confirm_opening,
    correct_call,
    create_call,
    request_opening,
    update_call,
)

bp = Blueprint("calls", __name__)


def _visible_calls():
    q = select(Call).order_by(Call.submission_deadline.desc())
    if not (current_user.is_authenticated and is_official(current_user)):
        q = q.where(Call.state != "draft")
    return db.session.scalars(q).all()


def get_call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or (call.state == "draft" and not (current_user.is_authenticated and is_official(current_user))):
        abort(404)
    return call


@bp.route("/calls")
def index():
    return render_template("calls/index.html", calls=_visible_calls())


@bp.route("/calls/<int:call_id>")
def detail(call_id: int):
    call = get_call(call_id)
    versions = db.session.scalars(select(CallVersion).where(CallVersion.call_id == call.id)
                                  .order_by(CallVersion.version)).all()
    own = []
    if current_user.is_authenticated:
        own = db.session.scalars(select(Proposal).where(Proposal.call_id == call.id,
                                                        Proposal.applicant_id == current_user.id)).all()
    triggers = available_triggers(call, current_user) if current_user.is_authenticated else []
    return render_template("calls/detail.html", call=call, versions=versions, own=own, triggers=triggers,
                           form=ConfirmForm())


@bp.route("/calls/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(current_user, "official")
    form = CallForm()
    if request.method == "GET":
        form.criteria.data = "\n".join(f"{w} | {ko if ko is not None else '-'} | {name}"
                                       for _k, name, w, ko in DEFAULT_CRITERIA)
        form.fields_of_action.data = ["networks", "education", "marketing", "urban_development", "financing"]
    if form.validate_on_submit():
        if db.session.scalar(select(Call.id).where(Call.code == form.code.data.strip())):
            form.code.errors.append(_("Dieses Kürzel ist vergeben."))
        else:
            call = create_call(current_user, criteria=form.criteria.parsed, **form.call_fields())
            flash(_("Der Aufruf ist als Entwurf angelegt."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/form.html", form=form, call=None), 200 if not form.errors else 422


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int):
    require_role(current_user, "official")
    call = get_call(call_id)
    if call.state != "draft":
        flash(_("Ein veröffentlichter Aufruf kann nur berichtigt werden."), "error")
        return redirect(url_for("calls.correct", call_id=call.id))
    form = CallForm(obj=call)
    if request.method == "GET":
        form.criteria.data = criteria_text(call.criteria)
        form.budget.data, form.max_amount.data = call.budget_cents, call.max_amount_cents
        form.estimated_value.data = call.estimated_value_cents
    if form.validate_on_submit():
        fields = form.call_fields()
        clash = db.session.scalar(select(Call.id).where(Call.code == fields["code"], Call.id != call.id))
        if clash:
            form.code.errors.append(_("Dieses Kürzel ist vergeben."))
        else:
            update_call(call, current_user, criteria=form.criteria.parsed, **fields)
            flash(_("Gespeichert."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/form.html", form=form, call=call), 200 if not form.errors else 422


@bp.route("/calls/<int:call_id>/correct", methods=["GET", "POST"])
@login_required
def correct(call_id: int):
    require_role(current_user, "official")
    call = get_call(call_id)
    form = CorrectionForm(obj=call)
    if form.validate_on_submit():
        correct_call(call, current_user, form.reason.data, description=form.description.data or "",
                     submission_deadline=form.submission_deadline.data)
        flash(_("Die Berichtigung ist als Version %(v)s veröffentlicht; alle Beteiligten werden informiert.",
                v=call.version), "success")
        return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/correct.html", form=form, call=call)


@bp.route("/calls/<int:call_id>/fire/<trigger>", methods=["POST"])
@login_required
def fire_trigger(call_id: int, trigger: str):
    require_role(current_user, "official")
    call = get_call(call_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    fire(call, trigger, current_user, reason=form.reason.data or "")
    flash(_("Erledigt."), "success")
    return redirect(url_for("calls.detail", call_id=call.id))


@bp.route("/calls/<int:call_id>/proposals")
@login_required
def proposals(call_id: int):
    """The officials' list: while sealed, only the count (nothing of the content)."""
    require_role(current_user, "official")
    call = get_call(call_id)
    rows = []
    count = len(db.session.scalars(select(Proposal.id).where(
        Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))).all())
    if not call.is_sealed:
        rows = db.session.scalars(select(Proposal).where(Proposal.call_id == call.id,
                                                         Proposal.submitted_at.is_not(None))
                                  .order_by(Proposal.file_seq)).all()
    state = request.args.get("state")
    if state in STATE_LABELS:
        rows = [p for p in rows if p.state == state]
    scores = {p.id: score_proposal(p) for p in rows if p.state not in ("submitted", "clarification", "eligible")}
    return render_template("calls/proposals.html", call=call, proposals=rows, count=count, scores=scores,
                           form=ConfirmForm())


@bp.route("/calls/<int:call_id>/opening", methods=["GET", "POST"])
@login_required
def opening(call_id: int):
    require_role(current_user, "official")
    call = get_call(call_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            if call.opening is None:
                request_opening(call, current_user)
                flash(_("Öffnung angestoßen. Eine zweite Person muss sie bestätigen."), "success")
            else:
                confirm_opening(call, current_user)
                flash(_("Die Angebote sind geöffnet; die Niederschrift ist geschrieben."), "success")
        except ActionRefused as exc:
            flash(exc.message, "error")
        return redirect(url_for("calls.opening", call_id=call.id))
    return render_template("calls/opening.html", call=call, form=form)

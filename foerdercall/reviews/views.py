from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.calls import ConfirmForm
from forms.reviews import AssignForm, ConflictForm, NeutralityForm, parse_scores, score_choices

from ..access import conflict_declared, get_proposal_for, neutrality_signed, require_role
from ..accounts.models import RoleGrant, User
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..proposals.models import Proposal
from ..workflow.engine import fire
from .models import Review
from .operations import assign_reviewer, declare_conflict, save_review, sign_neutrality

bp = Blueprint("reviews", __name__)


@bp.route("/reviews")
@login_required
def mine():
    """A reviewer's assignments: only the file number until neutrality and no-conflict are declared."""
    require_role(current_user, "reviewer")
    rows = db.session.scalars(select(Review).where(Review.reviewer_id == current_user.id)
                              .order_by(Review.assigned_at)).all()
    signed = {r.proposal.call_id: neutrality_signed(current_user, r.proposal.call_id) for r in rows}
    declared = {r.id: conflict_declared(current_user, r.proposal) for r in rows}
    return render_template("reviews/mine.html", reviews=rows, signed=signed, declared=declared,
                           neutrality_form=NeutralityForm(), conflict_form=ConflictForm())


@bp.route("/calls/<int:call_id>/neutrality", methods=["POST"])
@login_required
def neutrality(call_id: int):
    if not (current_user.has_role("reviewer") or current_user.has_role("official")):
        abort(403)
    call = db.get_or_404(Call, call_id)
    form = NeutralityForm()
    if not form.validate_on_submit() or not form.confirm.data:
        flash(_("Bitte bestätigen Sie die Erklärung durch Ankreuzen."), "error")
    else:
        sign_neutrality(call, current_user)
        flash(_("Neutralitätserklärung unterzeichnet."), "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("reviews.mine"))


def _own_review(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or review.reviewer_id != current_user.id:
        abort(404)
    return review


@bp.route("/reviews/<int:review_id>/conflict", methods=["POST"])
@login_required
def conflict(review_id: int):
    review = _own_review(review_id)
    form = ConflictForm()
    if not form.validate_on_submit():
        abort(400)
    declare_conflict(review.proposal, current_user, form.has_conflict.data == "yes", form.reason.data or "")
    flash(_("Ihre Erklärung ist gespeichert."), "success")
    if form.has_conflict.data == "yes":
        return redirect(url_for("reviews.mine"))
    return redirect(url_for("reviews.score", review_id=review.id))


@bp.route("/reviews/<int:review_id>", methods=["GET", "POST"])
@login_required
def score(review_id: int):
    review = _own_review(review_id)
    p = get_proposal_for(current_user, review.proposal_id)  # 404 until neutrality and no conflict
    call = p.call
    errors: list[str] = []
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        submit = request.form.get("action") == "submit"
        scores, errors = parse_scores(request.form, call.criteria, call.scale_max)
        if submit and errors:
            flash(_("Bitte bewerten Sie jedes Kriterium (oder „nicht anwendbar“): %(names)s.",
                    names="; ".join(errors)), "error")
            save_review(review, current_user, scores, submit=False)
        else:
            try:
                save_review(review, current_user, scores, submit=submit)
            except ActionRefused as exc:
                flash(exc.message, "error")
                save_review(review, current_user, scores, submit=False)
            else:
                flash(_("Gutachten abgegeben.") if submit else _("Zwischengespeichert."), "success")
                if submit:
                    return redirect(url_for("reviews.mine"))
        return redirect(url_for("reviews.score", review_id=review.id))
    current = {s.criterion_id: s for s in review.scores}
    return render_template("reviews/score.html", review=review, p=p, call=call, current=current,
                           choices=score_choices(call.scale_max), form=ConfirmForm())


@bp.route("/proposals/<int:proposal_id>/assign", methods=["POST"])
@login_required
def assign(proposal_id: int):
    require_role(current_user, "official")
    p = get_proposal_for(current_user, proposal_id)
    form = AssignForm()
    if not form.validate_on_submit() or not (form.reviewer.data or "").isdigit():
        abort(400)
    reviewer = db.session.get(User, int(form.reviewer.data))
    if reviewer is None:
        abort(400)
    assign_reviewer(p, reviewer, current_user)
    if request.form.get("start") and p.state == "eligible":
        fire(p, "start_review", current_user)
    flash(_("Zugewiesen."), "success")
    return redirect(url_for("proposals.detail", proposal_id=p.id))


def reviewer_choices(p: Proposal) -> list[User]:
    return db.session.scalars(select(User).join(RoleGrant).where(
        RoleGrant.role == "reviewer", User.active.is_(True), User.id != p.applicant_id).order_by(User.name)).all()

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.calls import ConfirmForm
from forms.reviews import (
    AssignForm,
    ConflictForm,
    DeclineForm,
    NeutralityForm,
    OfficialConflictForm,
    ReplaceForm,
    ScoreForm,
    parse_scores,
    score_choices,
)

from ..accounts.models import User
from ..appform.display import shown_answers
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import current_lang
from ..policy.loaders import get_proposal_for, require
from ..policy.reading import applicant_visible_to
from ..privacy.queries import applicant_label
from ..text import parse_id
from ..urls import referrer_target, same_site_path
from .models import Review
from .operations import (
    assign_reviewer,
    assignment_overview,
    auto_assign,
    declare_conflict,
    decline_review,
    replace_reviewer,
    reviewer_pool,
    save_review,
    sign_neutrality,
)
from .queries import (
    conflict_declared,
    conflicted_proposals,
    neutrality_signed,
    others_hidden,
    others_scores,
    reviews_of,
)

bp = Blueprint("reviews", __name__)


@bp.route("/reviews")
@login_required
def mine():
    """A reviewer's assignments: only the file number until neutrality and no-conflict are declared."""
    require(current_user, "reviewer.work")
    rows = reviews_of(current_user)
    signed = {r.proposal.call_id: neutrality_signed(current_user, r.proposal.call_id) for r in rows}
    declared = {r.id: conflict_declared(current_user, r.proposal) for r in rows}
    # who applied, before the declaration (that is what a conflict is about), unless the call hides it
    # (a review exists only after the opening, proposal.assign_reviewer: nothing sealed shows here)
    applicants = {
        r.id: applicant_label(r.proposal) if applicant_visible_to(current_user, r.proposal) else None
        for r in rows
    }
    return render_template(
        "reviews/mine.html",
        reviews=rows,
        signed=signed,
        declared=declared,
        applicants=applicants,
        neutrality_form=NeutralityForm(),
        conflict_form=ConflictForm(),
        decline_form=DeclineForm(),
    )


@bp.route("/calls/<int:call_id>/neutrality", methods=["POST"])
@login_required
def neutrality(call_id: int):
    call = db.get_or_404(Call, call_id)
    require(current_user, "call.sign_neutrality", call)
    form = NeutralityForm()
    if not form.validate_on_submit() or not form.confirm.data:
        flash(_("Bitte bestätigen Sie die Erklärung durch Ankreuzen."), "error")
    else:
        sign_neutrality(call, current_user)
        flash(_("Neutralitätserklärung unterzeichnet."), "success")
    back = same_site_path(form.next.data) or referrer_target()
    return redirect(back or url_for("reviews.mine"))


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


@bp.route("/proposals/<int:proposal_id>/conflict", methods=["GET", "POST"])
@login_required
def official_conflict(proposal_id: int):
    """An official or an advisor declares a conflict with a proposal: from then on they neither read it nor act
    on it (the page names only what a conflict is about: the file number, the title, who applied)."""
    p = get_proposal_for(current_user, proposal_id)
    require(current_user, "proposal.declare_conflict", p)
    form = OfficialConflictForm()
    if form.validate_on_submit():
        declare_conflict(p, current_user, True, form.reason.data or "")
        flash(
            _(
                "Ihr Interessenkonflikt mit %(number)s ist erklärt. Sie sehen das Angebot nicht mehr und wirken an "
                "keiner Entscheidung darüber mit.",
                number=p.file_number,
            ),
            "success",
        )
        return redirect(url_for("calls.proposals", call_id=p.call_id))
    return render_template(
        "reviews/conflict.html", proposal=p, applicant=applicant_label(p), form=form
    ), 422 if form.errors else 200


@bp.route("/reviews/<int:review_id>", methods=["GET", "POST"])
@login_required
def score(review_id: int):
    review = _own_review(review_id)
    p = get_proposal_for(current_user, review.proposal_id)  # 404 until neutrality and no conflict
    call = p.call
    current = {s.criterion_id: s for s in review.scores}
    page = functools.partial(_score_page, review, p, current)
    if request.method == "POST":
        form = ScoreForm()
        if not form.validate_on_submit():
            abort(400)
        submit = form.submitting
        entry = parse_scores(request.form, call.criteria, call.scale_max)
        # a value off the scale never replaces the score stored before; its justification is kept
        for cid in entry.invalid:
            entry.scores[cid] = (current[cid].score if cid in current else None, entry.typed[cid][1])
        errors = {
            cid: _("Bitte wählen Sie Punkte von 0 bis %(max)s oder „nicht anwendbar“.", max=call.scale_max)
            for cid in entry.invalid
        }
        if submit:
            errors.update(
                {
                    cid: _("Bitte bewerten Sie dieses Kriterium (oder „nicht anwendbar“).")
                    for cid in entry.missing
                }
            )
        if errors:  # the draft keeps what is valid; the page shows every gap at its criterion, as typed
            save_review(review, current_user, entry.scores, submit=False)
            flash(
                _("Zwischengespeichert, aber noch nicht abgegeben.") if submit else _("Zwischengespeichert."),
                "success",
            )
            return page(typed=entry.typed, errors=errors), 422
        try:
            save_review(review, current_user, entry.scores, submit=submit)
        except ActionRefused as exc:  # e.g. a justification missing: kept as a draft, the reason shown
            flash(exc.message, "error")
            save_review(review, current_user, entry.scores, submit=False)
            return page(typed=entry.typed, errors={}), 422
        flash(_("Gutachten abgegeben.") if submit else _("Zwischengespeichert."), "success")
        if submit:
            return redirect(url_for("reviews.mine"))
        return redirect(url_for("reviews.score", review_id=review.id))
    return page()


def _score_page(
    review: Review, p, current: dict, typed: dict | None = None, errors: dict | None = None
) -> str:
    """The scoring page: the proposal beside the criteria; ``typed``/``errors``: a refused post as it was typed,
    each problem at its criterion."""
    call = p.call
    personal = applicant_visible_to(current_user, p)
    return render_template(
        "reviews/score.html",
        review=review,
        p=p,
        call=call,
        current=current,
        typed=typed or {},
        errors=errors or {},
        choices=score_choices(call.scale_max),
        form=ConfirmForm(),
        others=others_scores(review),
        others_hidden=others_hidden(review),
        show_applicant=personal,
        answers=shown_answers(call.form_definition, p.answers or {}, current_lang(), personal=personal),
    )


@bp.route("/reviews/<int:review_id>/decline", methods=["POST"])
@login_required
def decline(review_id: int):
    review = _own_review(review_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        abort(400)
    decline_review(review, current_user, form.kind.data, form.reason.data or "")
    flash(_("Sie haben die Begutachtung abgelehnt; die Ämter sind informiert."), "success")
    return redirect(url_for("reviews.mine"))


def _official_call(call_id: int) -> Call:
    require(current_user, "official.work")
    call = db.get_or_404(Call, call_id)
    require(current_user, "call.list_proposals", call, status=404)  # a draft has none
    return call


@bp.route("/calls/<int:call_id>/assignments")
@login_required
def assignments(call_id: int):
    """Who reviews what, open declines, each reviewer's load; automatic assignment and reassignment."""
    call = _official_call(call_id)
    overview = {"proposals": [], "reviewers": []} if call.is_sealed else assignment_overview(call)
    conflicted = conflicted_proposals(current_user)
    return render_template(
        "reviews/assignments.html",
        call=call,
        overview=overview,
        conflicted=conflicted,
        pool=reviewer_pool(),
        form=ConfirmForm(),
        replace_form=ReplaceForm(),
    )


@bp.route("/calls/<int:call_id>/assignments/auto", methods=["POST"])
@login_required
def auto(call_id: int):
    call = _official_call(call_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if call.is_sealed:
        raise ActionRefused(_("Die Angebote sind bis zur gemeinsamen Öffnung nach Fristablauf verschlossen."))
    plan = auto_assign(call, current_user)
    flash(
        _(
            "%(n)s Zuweisungen für %(p)s Angebote.",
            n=sum(len(v) for v in plan.assignments.values()),
            p=len(plan.assignments),
        ),
        "success",
    )
    if plan.short:
        flash(
            _(
                "Für %(n)s Angebote fehlen geeignete Gutachter/innen (ohne Interessenkonflikt).",
                n=len(plan.short),
            ),
            "error",
        )
    if plan.office_missing:
        flash(
            _(
                "Bei %(n)s Angeboten ist nicht jedes Amt unter den Gutachter/innen vertreten.",
                n=len(plan.office_missing),
            ),
            "error",
        )
    return redirect(url_for("reviews.assignments", call_id=call.id))


@bp.route("/reviews/<int:review_id>/replace", methods=["POST"])
@login_required
def replace(review_id: int):
    require(current_user, "official.work")
    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    p = get_proposal_for(current_user, review.proposal_id)
    form = ReplaceForm()
    if not form.validate_on_submit():
        abort(400)
    new = None
    if (reviewer_id := parse_id(form.reviewer.data)) is not None:
        new = db.session.get(User, reviewer_id)
        if new is None:
            abort(400)
    replace_reviewer(review, current_user, form.reason.data or "", new)
    flash(_("Zuweisung ersetzt."), "success")
    return redirect(url_for("reviews.assignments", call_id=p.call_id))


@bp.route("/proposals/<int:proposal_id>/assign", methods=["POST"])
@login_required
def assign(proposal_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    form = AssignForm()
    if not form.validate_on_submit() or (reviewer_id := parse_id(form.reviewer.data)) is None:
        abort(400)
    reviewer = db.session.get(User, reviewer_id)
    if reviewer is None:
        abort(400)
    assign_reviewer(p, reviewer, current_user, start=bool(form.start.data))
    flash(_("Zugewiesen."), "success")
    if form.back.data == "assignments":
        return redirect(url_for("reviews.assignments", call_id=p.call_id))
    return redirect(url_for("proposals.detail", proposal_id=p.id))

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.awards import AwardForm, MilestoneForm, PaymentForm, ReportForm, SignOffForm, TextForm
from forms.calls import ConfirmForm

from ..extensions import db
from ..pages import flash_errors
from ..policy.loaders import get_proposal_for, require
from ..proposals.models import Proposal
from ..ranking.models import Standstill
from ..workflow.engine import fire
from .models import Milestone, Report
from .operations import (
    accept_milestone,
    add_milestone,
    make_award,
    record_objection,
    record_payment,
    report_milestone,
    resolve_objection,
    review_interim_report,
    sign_off,
    submit_interim_report,
)

bp = Blueprint("awards", __name__)


def _back(p):
    return redirect(url_for("proposals.detail", proposal_id=p.id))


@bp.route("/proposals/<int:proposal_id>/sign-off", methods=["POST"])
@login_required
def sign(proposal_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    form = SignOffForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    sign_off(p, current_user, form.decision.data, form.reason.data or "")
    flash(_("Ihre Zeichnung ist gespeichert."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/award", methods=["POST"])
@login_required
def award(proposal_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    form = AwardForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    make_award(p, current_user, form.amount.data)
    flash(_("Zuschlag erteilt."), "success")
    return _back(p)


def _milestone(p, milestone_id: int) -> Milestone:
    m = db.session.get(Milestone, milestone_id)
    if m is None or m.proposal_id != p.id:
        abort(404)
    return m


@bp.route("/proposals/<int:proposal_id>/milestones/<int:milestone_id>/report", methods=["POST"])
@login_required
def milestone_report(proposal_id: int, milestone_id: int):
    p = get_proposal_for(current_user, proposal_id)
    form = TextForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    report_milestone(_milestone(p, milestone_id), current_user, form.text.data or "")
    flash(_("Meilenstein berichtet."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/milestones/<int:milestone_id>/accept", methods=["POST"])
@login_required
def milestone_accept(proposal_id: int, milestone_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    accept_milestone(_milestone(p, milestone_id), current_user)
    flash(_("Meilenstein abgenommen."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/milestones", methods=["POST"])
@login_required
def milestone_add(proposal_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    form = MilestoneForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    add_milestone(p, current_user, form.title.data or "", form.due_at.data)
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/reports/<kind>", methods=["POST"])
@login_required
def report(proposal_id: int, kind: str):
    p = get_proposal_for(current_user, proposal_id)
    form = ReportForm()
    if kind not in ("interim", "final"):
        abort(404)
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    if kind == "interim":
        submit_interim_report(
            p, current_user, form.narrative.data or "", form.use_of_funds.data or "", form.spent.data or 0
        )
    else:
        fire(
            p,
            "submit_final_report",
            current_user,
            narrative=form.narrative.data,
            use_of_funds=form.use_of_funds.data or "",
            spent_cents=form.spent.data or 0,
        )
    flash(_("Bericht eingereicht."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/reports/<int:report_id>/review", methods=["POST"])
@login_required
def report_review(proposal_id: int, report_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    r = db.session.get(Report, report_id)
    if r is None or r.proposal_id != p.id:
        abort(404)
    form = SignOffForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    review_interim_report(r, current_user, form.decision.data == "approve", form.reason.data or "")
    flash(_("Gespeichert."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/payments", methods=["POST"])
@login_required
def payment(proposal_id: int):
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    record_payment(p, current_user, form.amount.data or 0, form.note.data or "")
    flash(_("Zahlung erfasst."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/objection", methods=["POST"])
@login_required
def objection(proposal_id: int):
    """An objection received during the standstill (recorded by an official); it holds the award."""
    require(current_user, "official.work")
    p = get_proposal_for(current_user, proposal_id)
    form = ConfirmForm()
    if not form.validate_on_submit():  # a reason over the length limit: said, nothing recorded
        flash_errors(form)
        return redirect(url_for("calls.decision", call_id=p.call_id))
    if request.form.get("resolve"):
        outcome = request.form.get("outcome", "")
        resolve_objection(p, current_user, form.reason.data or "", outcome)
        if outcome == "upheld":
            flash(
                _(
                    "Dem Einwand ist abgeholfen: die Entscheidung ist wieder geöffnet, die Zeichnungen sind "
                    "ungültig, und beide Ämter entscheiden erneut."
                ),
                "success",
            )
        else:
            flash(
                _("Der Einwand ist zurückgewiesen; der Zuschlag ist nach Ablauf der Frist möglich."),
                "success",
            )
    else:
        record_objection(p, current_user, form.reason.data or "")
        flash(_("Der Einwand ist erfasst; er hält den Zuschlag an."), "success")
    return redirect(url_for("calls.decision", call_id=p.call_id))


def forms_for_detail():
    return {
        "signoff_form": SignOffForm(),
        "award_form": AwardForm(),
        "text_form": TextForm(),
        "report_form": ReportForm(),
        "payment_form": PaymentForm(),
        "milestone_form": MilestoneForm(),
    }


def reopened_decisions(call) -> dict:
    """Proposal id -> when its decision was reopened (an objection upheld), for the call's ranking page."""

    return dict(
        db.session.execute(
            select(Standstill.proposal_id, Standstill.closed_at)
            .join(Proposal, Proposal.id == Standstill.proposal_id)
            .where(Proposal.call_id == call.id, Standstill.closed_at.is_not(None))
            .order_by(Standstill.id)
        ).all()
    )


@bp.app_context_processor
def _award_forms():
    return {"award_forms": forms_for_detail, "reopened_decisions": reopened_decisions}

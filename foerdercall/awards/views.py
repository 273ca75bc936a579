"""The decision and the year of implementation on a proposal's page: sign-offs, the award, objections in the
standstill, milestones, reports and payments. Each route loads through the rulebook (``policy.loaders``);
the officials' routes ask ``proposal.handle``, and the operation (or ``fire``) checks the action itself."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.awards import (
    AwardForm,
    ClaimForm,
    DrawdownForm,
    MilestoneForm,
    ObjectionForm,
    PaymentForm,
    SignOffForm,
    TextForm,
    report_form,
)
from forms.calls import ConfirmForm

from ..errors import ActionRefused
from ..extensions import db
from ..pages import done_message, flash_errors, undo_refused
from ..policy.loaders import get_milestone_for, get_proposal_for, get_report_for, require
from ..proposals.operations import add_attachment
from ..proposals.page import render_proposal_page
from .models import Claim, Drawdown
from .operations import (
    accept_milestone,
    add_milestone,
    claim_back,
    make_award,
    pay_drawdown,
    record_objection,
    record_payment,
    record_repayment,
    refuse_drawdown,
    report_milestone,
    request_drawdown,
    resolve_objection,
    review_interim_report,
    sign_off,
    submit_final_report,
    submit_interim_report,
)
from .queries import proof_of_use_lines, reopened_decisions

bp = Blueprint("awards", __name__)


def _back(p):
    return redirect(url_for("proposals.detail", proposal_id=p.id))


def _again(p, name: str, form):
    """A refused report or payment: the proposal page again (422), the form as typed, each error at its field
    (``g.typed_form``, read by the page's form)."""
    g.typed_form = {
        "name": name,
        "values": {f.name: (f.raw_data or [""])[0] for f in form if f.name not in ("csrf_token", "evidence")},
        "errors": {f.name: " ".join(map(str, f.errors)) for f in form if f.errors},
    }
    return render_proposal_page(p), 422


def _handled(proposal_id: int):
    """The proposal an official acts on: 404 for what they may not see, 403 for everyone but the officials
    without a conflict."""
    p = get_proposal_for(current_user, proposal_id)
    require(current_user, "proposal.handle", p)
    return p


@bp.route("/proposals/<int:proposal_id>/sign-off", methods=["POST"])
@login_required
def sign(proposal_id: int):
    p = _handled(proposal_id)
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
    p = _handled(proposal_id)
    form = AwardForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    make_award(p, current_user, form.amount.data)
    flash(done_message(p, "award"), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/milestones/<int:milestone_id>/report", methods=["POST"])
@login_required
def milestone_report(proposal_id: int, milestone_id: int):
    """The applicant reports a milestone (``report_milestone`` of workflows/milestone.py says who may)."""
    p, m = get_milestone_for(current_user, proposal_id, milestone_id)
    form = TextForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    report_milestone(m, current_user, form.text.data or "")
    flash(_("Meilenstein berichtet."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/milestones/<int:milestone_id>/accept", methods=["POST"])
@login_required
def milestone_accept(proposal_id: int, milestone_id: int):
    p, m = get_milestone_for(current_user, proposal_id, milestone_id)
    require(current_user, "proposal.handle", p)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    accept_milestone(m, current_user)
    flash(_("Meilenstein abgenommen."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/milestones", methods=["POST"])
@login_required
def milestone_add(proposal_id: int):
    p = _handled(proposal_id)
    form = MilestoneForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    add_milestone(p, current_user, form.title.data or "", form.due_at.data)
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/reports/<any(interim, final):kind>", methods=["POST"])
@login_required
def report(proposal_id: int, kind: str):
    """The applicant's interim or final report (their workflows say who may, and when)."""
    p = get_proposal_for(current_user, proposal_id)
    form = report_form(p.call.form_definition, p.field_of_action, proof_of_use_lines(p, kind))()
    if not form.validate_on_submit():  # every value that is wrong at its field, the text kept
        return _again(p, f"report-{kind}", form)
    submit = submit_interim_report if kind == "interim" else submit_final_report
    try:
        evidence = None
        if form.evidence.data:  # stored first; a refused report takes it away again (the rollback deletes it)
            file = form.evidence.data
            evidence = add_attachment(p, current_user, "evidence", file.stream, file.filename).id
        kw = {"statement": form.statement} if kind == "final" else {}
        submit(
            p,
            current_user,
            form.narrative.data or "",
            form.use_of_funds.data or "",
            form.spent.data or 0,
            values=form.values,
            evidence_id=evidence,
            **kw,
        )
    except ActionRefused as exc:
        undo_refused(exc)
        return _again(p, f"report-{kind}", form)
    flash(_("Bericht eingereicht."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/reports/<int:report_id>/review", methods=["POST"])
@login_required
def report_review(proposal_id: int, report_id: int):
    p, r = get_report_for(current_user, proposal_id, report_id)
    require(current_user, "proposal.handle", p)
    form = SignOffForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(p)
    accept = form.decision.data == "approve"
    review_interim_report(r, current_user, accept, form.reason.data or "")
    flash(
        _("Zwischenbericht abgenommen.") if accept else _("Nachbesserung des Zwischenberichts angefordert."),
        "success",
    )
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/payments", methods=["POST"])
@login_required
def payment(proposal_id: int):
    p = _handled(proposal_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _again(p, "payment", form)
    try:
        record_payment(
            p,
            current_user,
            form.amount.data or 0,
            form.note.data or "",
            tranche=form.tranche.data or "",
            invoice=form.invoice.data or "",
        )
    except ActionRefused as exc:  # e.g. more than the award leaves: the reason at the amount
        undo_refused(exc)
        form.amount.errors = [exc.message]
        return _again(p, "payment", form)
    flash(_("Zahlung erfasst."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/objection", methods=["POST"])
@login_required
def objection(proposal_id: int):
    """An objection received during the standstill (recorded by an official; it holds the award), or with
    ``resolve`` the result of its examination."""
    p = _handled(proposal_id)
    back = redirect(url_for("calls.decision", call_id=p.call_id))
    form = ObjectionForm()
    if not form.validate_on_submit():  # a reason over the length limit: said, nothing recorded
        flash_errors(form)
        return back
    if not form.resolve.data:
        record_objection(p, current_user, form.reason.data or "")
        flash(_("Der Einwand ist erfasst; er hält den Zuschlag an."), "success")
        return back
    resolve_objection(p, current_user, form.reason.data or "", form.outcome.data or "")
    if form.outcome.data == "upheld":
        flash(
            _(
                "Dem Einwand ist abgeholfen: die Entscheidung ist wieder geöffnet, die Zeichnungen sind "
                "ungültig, und beide Ämter entscheiden erneut."
            ),
            "success",
        )
    else:
        flash(_("Der Einwand ist zurückgewiesen; der Zuschlag ist nach Ablauf der Frist möglich."), "success")
    return back


def forms_for_detail():
    return {
        "signoff_form": SignOffForm(),
        "award_form": AwardForm(),
        "text_form": TextForm(),
        "payment_form": PaymentForm(),
        "milestone_form": MilestoneForm(),
        "drawdown_form": DrawdownForm(),
        "claim_form": ClaimForm(),
    }


@bp.app_context_processor
def _award_forms():
    return {"award_forms": forms_for_detail, "reopened_decisions": reopened_decisions}


# --- the money of a grant: drawdowns and claims back -----------------------------------------------------------


def _row(p, model, row_id: int):
    row = db.session.get(model, row_id)
    if row is None or row.proposal_id != p.id:
        abort(404)
    return row


@bp.route("/proposals/<int:proposal_id>/drawdowns", methods=["POST"])
@login_required
def drawdown(proposal_id: int):
    """The grant's recipient asks for money (Mittelabruf)."""
    p = get_proposal_for(current_user, proposal_id)
    require(current_user, "proposal.own", p)
    form = DrawdownForm()
    if not form.validate_on_submit():
        return _again(p, "drawdown", form)
    try:
        request_drawdown(
            p, current_user, form.amount.data or 0, form.purpose.data or "", form.cost_item.data or ""
        )
    except ActionRefused as exc:  # more than is open: the reason at the amount, the text kept
        undo_refused(exc)
        form.amount.errors = [exc.message]
        return _again(p, "drawdown", form)
    flash(_("Ihr Mittelabruf ist eingegangen; das Amt prüft ihn."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/drawdowns/<int:drawdown_id>/<step>", methods=["POST"])
@login_required
def drawdown_step(proposal_id: int, drawdown_id: int, step: str):
    """An official pays a drawdown (its payment is booked with it) or refuses it with the reason."""
    if step not in ("pay", "refuse"):
        abort(404)
    p = _handled(proposal_id)
    d = _row(p, Drawdown, drawdown_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if step == "pay":
        pay_drawdown(d, current_user)
        flash(_("Mittelabruf ausgezahlt; die Zahlung ist gebucht."), "success")
    else:
        refuse_drawdown(d, current_user, form.reason.data or "")
        flash(_("Mittelabruf abgelehnt; die Empfängerin bzw. der Empfänger ist benachrichtigt."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/claims", methods=["POST"])
@login_required
def claim(proposal_id: int):
    """An official claims money back from the award, with the reason."""
    p = _handled(proposal_id)
    form = ClaimForm()
    if not form.validate_on_submit():
        return _again(p, "claim", form)
    try:
        claim_back(p, current_user, form.amount.data or 0, form.reason.data or "")
    except ActionRefused as exc:
        undo_refused(exc)
        form.amount.errors = [exc.message]
        return _again(p, "claim", form)
    flash(_("Rückforderung erhoben; die Empfängerin bzw. der Empfänger ist benachrichtigt."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/claims/<int:claim_id>/repaid", methods=["POST"])
@login_required
def repaid(proposal_id: int, claim_id: int):
    """The claimed money came back: it returns to the call's budget."""
    p = _handled(proposal_id)
    c = _row(p, Claim, claim_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    record_repayment(c, current_user)
    flash(_("Rückzahlung erfasst; der Betrag steht dem Aufruf wieder zur Verfügung."), "success")
    return _back(p)

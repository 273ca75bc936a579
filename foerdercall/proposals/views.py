from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from forms.calls import ConfirmForm
from forms.fields import choices
from forms.proposals import (
    AnswerForm,
    ExtendForm,
    ReasonsAnswerForm,
    ReasonsRequestForm,
    UploadForm,
    proposal_form,
)

from ..accounts.operations import find_user
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import current_lang
from ..locking import lock_id
from ..pages import done_message, keep_typed_step, undo_refused
from ..policy import may
from ..policy.actors import verification_missing
from ..policy.conditions import gaps_message
from ..policy.loaders import get_call_for, get_proposal_for, require
from ..workflow.engine import fire
from .models import Attachment, Proposal
from .operations import (
    add_attachment,
    answer_reasons,
    attachment_path,
    extend_deadline,
    remove_attachment,
    request_reasons,
    save_draft,
    start_draft,
    upload_usage,
)
from .page import render_proposal_page
from .progress import next_step
from .queries import advice_requests, draft_of, proposals_of, reason_request_of, submission_gaps

bp = Blueprint("proposals", __name__)


@bp.route("/my")
@login_required
def mine():
    rows = proposals_of(current_user)
    # each proposal's next step (the applicant's in bold) and its deadline
    return render_template(
        "proposals/mine.html", proposals=rows, steps_next={p.id: next_step(p) for p in rows}
    )


@bp.route("/advice")
@login_required
def advice():
    """The Kontaktstelle's list: proposals whose applicants asked for advice."""
    require(current_user, "advisor.work")
    rows = [p for p in advice_requests() if may(current_user, "proposal.read", p)]  # sealed ones stay hidden
    return render_template("proposals/mine.html", proposals=rows, advice=True)


@bp.route("/calls/<int:call_id>/apply", methods=["POST"])
@login_required
def apply(call_id: int):
    require(current_user, "applicant.work")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    call = get_call_for(current_user, call_id)
    p = start_draft(call, current_user)
    return redirect(url_for("proposals.edit", proposal_id=p.id))


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    # read with its call in one statement; a post changes the draft: then its row is read locked (save, upload
    # and submit find it locked); the access check below finds it
    with_call = joinedload(Proposal.call)
    p = (
        lock_id(Proposal, proposal_id, with_call)
        if request.method == "POST"
        else db.session.get(Proposal, proposal_id, options=[with_call])
    )
    p = get_proposal_for(current_user, proposal_id)
    require(current_user, "proposal.own", p)
    if not may(current_user, "proposal.edit", p):  # submitted: its page shows it
        return redirect(url_for("proposals.detail", proposal_id=p.id))
    # held for the whole request: the session keeps loaded objects only while they are referenced, and each
    # lock of the proposal (save, upload, submit) makes it forget its call; with the call referenced here, the
    # operations and guards find it without loading it again
    _call = p.call
    form = proposal_form(p, request.form if request.method == "POST" else None)
    upload = UploadForm()
    asked = [
        (q.key, q.label.get(current_lang())) for q in form.definition.questions() if q.type == "attachment"
    ]
    upload.kind.choices = choices(asked + [("other", _("Sonstige Anlage"))])

    def page():
        return render_template(
            "proposals/edit.html",
            p=p,
            form=form,
            upload=upload,
            usage=upload_usage(p, current_user),
            verification_missing=verification_missing(current_user),
        )

    if request.method == "POST":
        adding = form.added_row()  # a table's "add row" button: save, and show the form with one row more
        if not form.validate():
            return page(), 422
        save_draft(p, current_user, form.draft_data())
        if adding:
            return page()
        if files := upload.file.data:  # files chosen (the rest of the upload form is not required here)
            added, refused = _add_files(p, upload.kind.data or "other", files)
            if refused:  # the text is saved, and every file that could be kept; each refused one is named
                flash(_("Entwurf gespeichert."), "success")
                if added:
                    flash(
                        ngettext("%(num)s Datei hochgeladen.", "%(num)s Dateien hochgeladen.", added),
                        "success",
                    )
                for message in refused:
                    flash(message, "error")
                return redirect(url_for("proposals.edit", proposal_id=p.id))
        if form.submitting:
            try:
                fire(p, "submit", current_user)
            except ActionRefused as exc:
                # the draft was saved above and stays saved; the refusal is shown, and each gap at its question
                gaps = submission_gaps(p, current_lang())
                for key, message in gaps.answers.items():
                    form.mark(key, message)
                if gaps.plan_key and gaps.plan:
                    form.mark(gaps.plan_key, " ".join(gaps.plan))
                flash(_("Entwurf gespeichert, aber noch nicht eingereicht."), "success")
                if not gaps or exc.message != gaps_message(p):  # another reason (the deadline, the address)
                    flash(exc.message, "error")
                return page(), 422
            flash(f"{done_message(p, 'submit')} " + _("Aktenzeichen: %(n)s", n=p.file_number), "success")
            return redirect(url_for("proposals.detail", proposal_id=p.id))
        flash(_("Entwurf gespeichert."), "success")
        return redirect(url_for("proposals.edit", proposal_id=p.id))
    return page()


def _add_files(p: Proposal, kind: str, files) -> tuple[int, list[str]]:
    """Several PDFs of one kind in one upload, each on its own: a refused file (its size, its content, a quota)
    leaves nothing behind (add_attachment) and does not cost the others. Returns (added, messages of the
    refused ones)."""
    added, refused = 0, []
    for file in files:
        try:
            add_attachment(p, current_user, kind, file.stream, file.filename)
            added += 1
        except ActionRefused as exc:  # of several files, each refused one is named (unless the reason does)
            name = file.filename or "?"
            several = len(files) > 1 and name not in exc.message
            refused.append(
                _("„%(name)s“: %(reason)s", name=name, reason=exc.message) if several else exc.message
            )
    return added, refused


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def delete_attachment(proposal_id: int, attachment_id: int):
    p = get_proposal_for(current_user, proposal_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    remove_attachment(p, current_user, attachment_id)
    flash(_("Anlage entfernt."), "success")
    return redirect(url_for("proposals.edit", proposal_id=p.id))


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>")
@login_required
def download(proposal_id: int, attachment_id: int):
    p = get_proposal_for(current_user, proposal_id)
    a = db.session.get(Attachment, attachment_id)
    if a is None or a.proposal_id != p.id:
        abort(404)
    # always a PDF download under a clean name, never shown or sniffed by the browser as anything else
    response = send_file(
        attachment_path(a), mimetype="application/pdf", as_attachment=True, download_name=a.download_name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; frame-ancestors 'none'"
    return response


@bp.route("/proposals/<int:proposal_id>")
@login_required
def detail(proposal_id: int):
    return render_proposal_page(get_proposal_for(current_user, proposal_id))


@bp.route("/proposals/<int:proposal_id>/fire/<trigger>", methods=["POST"])
@login_required
def fire_trigger(proposal_id: int, trigger: str):
    p = get_proposal_for(current_user, proposal_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        fire(p, trigger, current_user, reason=form.reason.data or "", note=form.note.data or "")
    except ActionRefused as exc:  # the page again, with the reason and the note as typed
        undo_refused(exc)
        keep_typed_step(trigger, form)
        return detail(proposal_id), 422
    flash(done_message(p, trigger), "success")
    return redirect(url_for("proposals.detail", proposal_id=p.id))


@bp.route("/proposals/<int:proposal_id>/answer", methods=["POST"])
@login_required
def answer(proposal_id: int):
    p = get_proposal_for(current_user, proposal_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Bitte schreiben Sie eine Antwort."), "error")
        return redirect(url_for("proposals.detail", proposal_id=p.id))
    if form.file.data:
        try:
            add_attachment(p, current_user, "clarification", form.file.data.stream, form.file.data.filename)
        except ActionRefused as exc:  # the typed answer is shown again with the message, nothing is stored
            flash(exc.message, "error")
            return detail(proposal_id), 422
    fire(p, "answer_request", current_user, reason=form.answer.data or "")
    flash(_("Ihre Antwort ist eingegangen."), "success")
    return redirect(url_for("proposals.detail", proposal_id=p.id))


@bp.route("/proposals/<int:proposal_id>/reasons", methods=["POST"])
@login_required
def reasons(proposal_id: int):
    """An unsuccessful applicant asks for the reasons of the decision."""
    p = get_proposal_for(current_user, proposal_id)
    require(current_user, "proposal.own", p)
    form = ReasonsRequestForm()
    if not form.validate_on_submit():
        abort(400)
    request_reasons(p, current_user, form.question.data or "")
    flash(_("Ihre Anfrage ist eingegangen. Das Amt antwortet innerhalb von 15 Tagen."), "success")
    return redirect(url_for("proposals.detail", proposal_id=p.id, _anchor="reasons"))


@bp.route("/proposals/<int:proposal_id>/reasons/answer", methods=["POST"])
@login_required
def answer_reasons_view(proposal_id: int):
    """An official answers the request; the answer is sent to the applicant."""
    p = get_proposal_for(current_user, proposal_id)
    rr = reason_request_of(p)
    if rr is None:
        abort(404)
    if not may(current_user, "answer_reasons", rr):
        abort(403)
    form = ReasonsAnswerForm()
    if not form.validate_on_submit():
        flash(_("Bitte schreiben Sie die Antwort."), "error")
        return redirect(url_for("proposals.detail", proposal_id=p.id, _anchor="reasons"))
    answer_reasons(rr, current_user, form.answer.data or "")
    flash(_("Die Antwort ist verschickt."), "success")
    return redirect(url_for("proposals.detail", proposal_id=p.id, _anchor="reasons"))


@bp.route("/calls/<int:call_id>/extend", methods=["POST"])
@login_required
def extend(call_id: int):
    """An official extends one applicant's deadline (documented); the call itself does not change."""
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        flash(_("Bitte geben Sie E-Mail-Adresse, Frist und Begründung an."), "error")
        return redirect(url_for("calls.detail", call_id=call.id))
    applicant = find_user(form.email.data or "")
    p = draft_of(call, applicant) if applicant else None
    if p is None:
        flash(_("Für diese E-Mail-Adresse gibt es keinen Entwurf in diesem Aufruf."), "error")
    else:
        extend_deadline(p, current_user, form.deadline.data, form.reason.data or "")
        flash(_("Die Frist ist verlängert."), "success")
    return redirect(url_for("calls.detail", call_id=call.id))

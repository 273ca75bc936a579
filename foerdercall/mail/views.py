from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.calls import ConfirmForm

from ..accounts.operations import SECRET_MAIL_KINDS
from ..extensions import db
from ..proposals.models import Proposal
from .models import OutboxMail
from .operations import release_held_mail, retry_failed_mail, worker_overview

bp = Blueprint("mail", __name__)


def _may_see_outbox(user) -> bool:
    """Officials of the deciding offices; admins manage accounts, not proposals, so they do not."""
    return user.has_role("official") and user.office is not None


def _not_sealed(mail: OutboxMail) -> bool:
    """What officials may read of other people's mail: never a mail with a secret link (verification,
    password reset: whoever has the link has the account); mails about sealed submissions (receipts) only
    after the opening. The recipient always reads their own."""
    if mail.recipient_id == current_user.id:
        return True
    if mail.kind in SECRET_MAIL_KINDS:
        return False
    if mail.proposal_id is None:
        return True

    p = db.session.get(Proposal, mail.proposal_id)
    return not p.call.is_sealed


@bp.route("/outbox")
@login_required
def outbox():
    """Every mail the process sent or will send (officials and admins)."""
    if not _may_see_outbox(current_user):
        abort(403)
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(500)).all()
    visible = [m for m in mails if _not_sealed(m)]
    return render_template(
        "mail/outbox.html", mails=visible, title_all=True, hidden=len(mails) - len(visible)
    )


@bp.route("/messages")
@login_required
def messages():
    """The user's own mails, as a message list in the app (a held mail once it is released)."""
    mails = db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.recipient_id == current_user.id, OutboxMail.held.is_(False))
        .order_by(OutboxMail.id.desc())
    ).all()
    return render_template("mail/outbox.html", mails=mails, title_all=False, hidden=0)


@bp.route("/messages/<int:mail_id>")
@login_required
def message(mail_id: int):
    mail = db.session.get(OutboxMail, mail_id)
    officials = _may_see_outbox(current_user)
    if (
        mail is None
        or (mail.recipient_id != current_user.id and not officials)
        or not _not_sealed(mail)
        or (mail.held and not officials)
    ):  # the recipient reads a held mail once it is released
        abort(404)
    return render_template("mail/message.html", mail=mail, may_release=mail.held and officials)


@bp.route("/worker")
@login_required
def worker_status():
    """The worker at a glance: its last runs, the mails waiting, the failed mails with the reason."""
    if not _may_see_outbox(current_user):
        abort(403)
    overview = worker_overview()
    overview["failed"] = [(m, _not_sealed(m)) for m in overview["failed"]]
    return render_template("mail/worker.html", **overview)


@bp.route("/worker/mails/<int:mail_id>/retry", methods=["POST"])
@login_required
def retry_mail(mail_id: int):
    if not _may_see_outbox(current_user):
        abort(403)
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None:
        abort(404)
    retry_failed_mail(mail, current_user)
    flash(_("Die Nachricht wird erneut gesendet."), "success")
    return redirect(url_for("mail.worker_status"))


@bp.route("/outbox/<int:mail_id>/release", methods=["POST"])
@login_required
def release_mail(mail_id: int):
    """An official releases a held decision mail: it is sent after this request's commit."""
    if not _may_see_outbox(current_user):
        abort(403)
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None or not _not_sealed(mail):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    release_held_mail(mail, current_user)
    flash(_("Die Nachricht ist freigegeben und wird gesendet."), "success")
    return redirect(url_for("mail.outbox"))

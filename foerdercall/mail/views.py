from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.calls import ConfirmForm

from ..extensions import db
from ..policy.loaders import get_mail_for, require
from ..policy.reading import may_read_mail
from .models import OutboxMail
from .operations import release_held_mail, retry_failed_mail, worker_overview

bp = Blueprint("mail", __name__)


@bp.route("/outbox")
@login_required
def outbox():
    """Every mail the process sent or will send (officials and admins)."""
    require(current_user, "official.work")
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(500)).all()
    visible = [m for m in mails if may_read_mail(current_user, m)]
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
    mail = get_mail_for(current_user, mail_id)
    return render_template("mail/message.html", mail=mail)


@bp.route("/worker")
@login_required
def worker_status():
    """The worker at a glance: its last runs, the mails waiting, the failed mails with the reason."""
    require(current_user, "official.work")
    overview = worker_overview()
    overview["failed"] = [(m, may_read_mail(current_user, m)) for m in overview["failed"]]
    return render_template("mail/worker.html", **overview)


@bp.route("/worker/mails/<int:mail_id>/retry", methods=["POST"])
@login_required
def retry_mail(mail_id: int):
    require(current_user, "official.work")
    mail = db.get_or_404(OutboxMail, mail_id)
    retry_failed_mail(mail, current_user)
    flash(_("Die Nachricht wird erneut gesendet."), "success")
    return redirect(url_for("mail.worker_status"))


@bp.route("/outbox/<int:mail_id>/release", methods=["POST"])
@login_required
def release_mail(mail_id: int):
    """An official releases a held decision mail: it is sent after this request's commit."""
    require(current_user, "official.work")
    mail = get_mail_for(current_user, mail_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    release_held_mail(mail, current_user)
    flash(_("Die Nachricht ist freigegeben und wird gesendet."), "success")
    return redirect(url_for("mail.outbox"))

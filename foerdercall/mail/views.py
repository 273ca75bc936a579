"""The mails: the officials' outbox and the worker's page (failed mails retried, held decision mails
released), and everyone's own messages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from forms.calls import ConfirmForm
from forms.mail import RetryFailedForm

from ..extensions import db
from ..pages import flash_errors
from ..policy import may
from ..policy.loaders import get_mail_for, require
from ..policy.reading import readable_mails
from .models import OutboxMail
from .operations import release_held_mail, retry_failed_mail, retry_failed_mails, worker_overview
from .queries import messages_of, outbox_page

bp = Blueprint("mail", __name__)


@bp.route("/outbox")
@login_required
def outbox():
    """Every mail the process sent or will send (officials and admins)."""
    require(current_user, "official.work")
    mails, hidden = outbox_page(readable_mails(current_user))
    return render_template("mail/outbox.html", mails=mails, title_all=True, hidden=hidden)


@bp.route("/messages")
@login_required
def messages():
    """The user's own mails, as a message list in the app (a held mail once it is released)."""
    return render_template("mail/outbox.html", mails=messages_of(current_user), title_all=False, hidden=0)


@bp.route("/messages/<int:mail_id>")
@login_required
def message(mail_id: int):
    return render_template("mail/message.html", mail=get_mail_for(current_user, mail_id))


@bp.route("/worker")
@login_required
def worker_status():
    """The worker at a glance: its last runs, the mails waiting, the failed mails by reason and one by one
    (the recipient, the reason and the attempts always; the subject only of a mail the user may read)."""
    require(current_user, "official.work")
    overview = worker_overview()
    overview["failed"] = [(m, may(current_user, "mail.read", m)) for m in overview["failed"]]
    return render_template("mail/worker.html", form=RetryFailedForm(), **overview)


@bp.route("/worker/mails/<int:mail_id>/retry", methods=["POST"])
@login_required
def retry_mail(mail_id: int):
    """A failed mail sent again (``mail.retry``): officials retry the failed mails they cannot read too."""
    require(current_user, "official.work")
    mail = db.get_or_404(OutboxMail, mail_id)
    retry_failed_mail(mail, current_user)
    flash(_("Die Nachricht wird erneut gesendet."), "success")
    return redirect(url_for("mail.worker_status"))


@bp.route("/worker/mails/retry", methods=["POST"])
@login_required
def retry_mails():
    """The failed mails of one reason and time sent again (``mail.retry_many``)."""
    require(current_user, "mail.retry_many")
    form = RetryFailedForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("mail.worker_status"))
    ids = retry_failed_mails(
        current_user,
        reason=form.reason.data or None,
        failed_from=form.failed_from.data,
        failed_until=form.failed_until.data,
    )
    if ids:
        flash(
            ngettext(
                "%(num)d Nachricht wird erneut gesendet.",
                "%(num)d Nachrichten werden erneut gesendet.",
                len(ids),
            ),
            "success",
        )
    else:
        flash(_("Keine fehlgeschlagene Nachricht passt zu dieser Auswahl."), "error")
    return redirect(url_for("mail.worker_status"))


@bp.route("/outbox/<int:mail_id>/release", methods=["POST"])
@login_required
def release_mail(mail_id: int):
    """An official releases a held decision mail (``mail.release``): it is sent after this request's commit."""
    require(current_user, "official.work")
    mail = get_mail_for(current_user, mail_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    release_held_mail(mail, current_user)
    flash(_("Die Nachricht ist freigegeben und wird gesendet."), "success")
    return redirect(url_for("mail.outbox"))

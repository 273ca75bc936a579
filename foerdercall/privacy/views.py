from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from forms.privacy import DeleteAccountForm

from ..accounts.operations import authenticate
from ..sheets import file_response
from . import retention  # noqa: F401  (registers the label of its audit action)
from .notice import default_privacy_notice, privacy_notice
from .operations import delete_account, export_zip
from .queries import applicant_label, event_actor, event_reason

bp = Blueprint("privacy", __name__)


@bp.route("/account/data")
@login_required
def data():
    """Download one's data; an applicant deletes the account."""
    return _page(DeleteAccountForm())


def _page(form, status: int = 200):
    return render_template("privacy/data.html", form=form), status


@bp.route("/account/data/export.zip")
@login_required
def export():
    """The ZIP is complete (in a spooled temporary file) before its first byte is sent, and is sent with its
    length: a failure on the way is an error page, a cut download shows as one."""
    return file_response(
        export_zip(current_user),
        "application/zip",
        {
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="foerdercall-meine-daten.zip"',
        },
    )


@bp.route("/account/delete", methods=["POST"])
@login_required
def delete():
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    if authenticate(current_user.email, form.password.data or "") is None:
        form.password.errors.append(_("Das Passwort stimmt nicht."))  # type: ignore[attr-defined]  # a list once validated
        return _page(form, 400)
    delete_account(current_user, current_user)  # a refusal is a message (ActionRefused), nothing changes
    logout_user()
    flash(_("Ihr Konto wurde gelöscht."), "success")
    return redirect(url_for("calls.index"))


@bp.app_context_processor
def _notice():
    return {
        "privacy_notice": privacy_notice,
        "default_privacy_notice": default_privacy_notice,
        "applicant_label": applicant_label,
        "event_actor": event_actor,
        "event_reason": event_reason,
    }

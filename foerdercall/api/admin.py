"""The admins' page of API tokens: make one for an integration (its secret shown once), revoke one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.accounts import ApiTokenForm
from forms.calls import ConfirmForm

from ..accounts.operations import find_user
from ..errors import ActionRefused
from ..extensions import db
from ..pages import flash_errors, undo_refused
from ..policy.loaders import require
from .models import ApiToken
from .operations import create_token, revoke_token, tokens

bp = Blueprint("api_admin", __name__)


def _page(form: ApiTokenForm, secret: str | None = None, made: ApiToken | None = None, status: int = 200):
    return render_template(
        "api/tokens.html", form=form, tokens=tokens(), secret=secret, made=made, confirm=ConfirmForm()
    ), status


@bp.route("/admin/api-tokens", methods=["GET", "POST"])
@login_required
def index():
    require(current_user, "admin.work")
    form = ApiTokenForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        flash_errors(form)
        return _page(form, status=422)
    user = find_user(form.email.data or "")
    if user is None:
        form.email.errors = [_("Zu dieser E-Mail-Adresse gibt es kein Konto.")]
        return _page(form, status=422)
    try:
        token, secret = create_token(current_user, user, form.name.data or "", list(form.scopes.data or []))
    except ActionRefused as exc:
        undo_refused(exc)
        return _page(form, status=422)
    return _page(ApiTokenForm(formdata=None), secret=secret, made=token, status=201)


@bp.route("/admin/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    require(current_user, "admin.work")
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke_token(current_user, token)
    flash(_("Der Schlüssel ist widerrufen; er gilt ab sofort nicht mehr."), "success")
    return redirect(url_for("api_admin.index"))

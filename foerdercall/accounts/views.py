from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from forms.accounts import LoginForm, RegisterForm, RolesForm

from ..access import require_role
from ..errors import ActionRefused
from ..extensions import db
from .models import User
from .operations import authenticate, create_user, set_roles

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str | None:
    return target if target and target.startswith("/") and not target.startswith("//") else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))
        else:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("calls.index"))
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("calls.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.name.data, form.password.data,
                               organisation=form.organisation.data, locale=form.locale.data)
        except ActionRefused as exc:
            form.email.errors.append(exc.message)
        else:
            login_user(user)
            flash(_("Willkommen! Ihr Konto ist angelegt."), "success")
            return redirect(url_for("calls.index"))
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 422


@bp.route("/language", methods=["POST"])
def language():
    lang = request.form.get("lang", "de")
    if lang not in ("de", "en"):
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.locale = lang
    return redirect(_safe_next(request.form.get("next")) or url_for("calls.index"))


@bp.route("/admin/users")
@login_required
def users():
    require_role(current_user, "admin")
    rows = db.session.scalars(select(User).order_by(User.name)).all()
    return render_template("accounts/users.html", users=rows)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user_roles(user_id: int):
    require_role(current_user, "admin")
    user = db.get_or_404(User, user_id)
    form = RolesForm(roles=sorted(user.roles), office=user.office or "", head_of_office=user.head_of_office)
    if form.validate_on_submit():
        set_roles(user, current_user, list(form.roles.data), form.office.data or None, form.head_of_office.data)
        flash(_("Rollen gespeichert."), "success")
        return redirect(url_for("accounts.users"))
    return render_template("accounts/roles.html", user=user, form=form)

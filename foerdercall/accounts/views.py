from __future__ import annotations

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup
from sqlalchemy import select

from forms.accounts import (
    EndSessionsForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    NotifyForm,
    RegisterForm,
    ResetPasswordForm,
    RolesForm,
    SalutationForm,
    TwoFactorCodeForm,
    TwoFactorDisableForm,
    TwoFactorSetupForm,
    UnlockRequestForm,
)
from forms.calls import ConfirmForm

from ..errors import ActionRefused
from ..extensions import db
from ..i18n import current_lang
from ..pages import flash_errors
from ..parking.browser import after_login  # text kept from a post refused for its session: offered first
from ..policy.actors import two_factor_required
from ..policy.loaders import require
from ..timeutil import now
from ..urls import redirect_target, same_site_path  # the one rule for redirect targets from the request
from .models import User
from .operations import (
    LoginThrottled,
    disable_two_factor,
    enable_two_factor,
    end_other_sessions,
    end_session,
    end_sessions_by_admin,
    live_unlock_grant,
    login_attempt,
    new_totp_secret,
    open_sessions,
    register_applicant,
    remaining_recovery_codes,
    request_password_reset,
    request_unlock_link,
    reset_password,
    reset_two_factor,
    second_factor,
    send_verification,
    set_notify_mode,
    set_roles,
    set_salutation,
    start_session,
    totp_uri,
    unlock_link_valid,
    use_unlock_link,
    user_for_reset,
    verify_email,
)

bp = Blueprint("accounts", __name__)

PENDING_2FA = "login_2fa"  # the session of a login whose password was right and whose code is asked for
SETUP_2FA = "setup_2fa"  # the secret shown on the set-up page until it is confirmed
UNLOCK = (
    "login_unlock"  # this browser used a mailed unlock link: {"u": account id, "e": address, "until": ts}
)


def _address() -> str:
    return request.remote_addr or "unknown"


def _log_in(user: User) -> None:
    """A new login session (its row and the token in a fresh cookie session) for ``user``."""
    session.clear()
    start_session(user, _address(), request.headers.get("User-Agent", ""))
    login_user(user)


def _unlock_grant() -> dict | None:
    """The account this browser may log in to despite its lock (a used unlock link), while it lasts."""
    grant = live_unlock_grant(session.get(UNLOCK))
    if grant is None:
        session.pop(UNLOCK, None)
    return grant


def _throttled(template: str, exc: LoginThrottled, **context):
    """429 with Retry-After and the moment the login opens again; an account's lock (not an address's) offers
    its owner the ways past it: password with the code of the second factor, or the mailed unlock link."""
    if exc.scope == "account" and isinstance(context.get("form"), LoginForm):
        context.update(locked=True, unlock_form=UnlockRequestForm(email=context["form"].email.data))
    resp = make_response(render_template(template, throttled=exc.message, **context), 429)
    resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


def _qr_svg(uri: str) -> Markup:
    """The otpauth:// URI as a QR code (inline SVG, no script, no external request)."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=4, light="#fff"))


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    grant = _unlock_grant()
    if grant and not form.is_submitted():
        form.email.data = grant.get("e")
    if form.validate_on_submit():
        try:
            attempt = login_attempt(
                form.email.data or "",
                form.password.data or "",
                _address(),
                code=form.code.data,
                unlocked_for=grant["u"] if grant else None,
            )
        except LoginThrottled as exc:
            return _throttled("accounts/login.html", exc, form=form)
        if attempt is None:
            form.password.errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))  # type: ignore[attr-defined]  # a list once validated
        elif not attempt.complete:  # not logged in yet: the code first
            session.clear()
            session[PENDING_2FA] = {
                "u": attempt.user.id,
                "at": now().timestamp(),
                "next": same_site_path(request.args.get("next")),
                "unlocked": bool(grant and grant["u"] == attempt.user.id),
            }
            return redirect(url_for("accounts.login_two_factor"))
        else:
            _log_in(attempt.user)
            return redirect(after_login(same_site_path(request.args.get("next"))))
    return render_template(
        "accounts/login.html", form=form, unlocked=grant is not None
    ), 200 if not form.errors else 422


@bp.route("/login/unlock", methods=["POST"])
def request_unlock():
    """The locked login page's "send me an unlock link": the same answer whether or not the address has an
    account, or a lock (the mail goes only to a locked account's own address)."""
    form = UnlockRequestForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("accounts.login"))
    request_unlock_link(form.email.data or "")
    flash(
        _(
            "Wenn das Konto gesperrt ist, haben wir einen Entsperr-Link an die Adresse geschickt. Er gilt "
            "%(minutes)s Minuten und nur in dem Browser, in dem Sie ihn öffnen.",
            minutes=current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"] // 60,
        ),
        "success",
    )
    return redirect(url_for("accounts.login"))


@bp.route("/login/unlock/<token>", methods=["GET", "POST"])
def unlock_link(token: str):
    """The mailed unlock link: the page (a GET, which a mail scanner may make, uses nothing up), then the
    button that lets this browser log in to the account despite the lock."""
    if not unlock_link_valid(token):
        return render_template("accounts/link_invalid.html", resend=False, unlock=True), 400
    form = ConfirmForm()
    if form.validate_on_submit():
        grant = use_unlock_link(token)
        if grant is None:
            return render_template("accounts/link_invalid.html", resend=False, unlock=True), 400
        session[UNLOCK] = grant
        flash(
            _(
                "Die Anmeldung ist in diesem Browser entsperrt. Bitte melden Sie sich jetzt mit Ihrem Passwort "
                "an."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return _no_store(make_response(render_template("accounts/unlock.html", form=form)))


def _pending_user() -> User | None:
    pending = session.get(PENDING_2FA)
    if not isinstance(pending, dict):
        return None
    if now().timestamp() - float(pending.get("at", 0)) > current_app.config["TWO_FACTOR_STEP_SECONDS"]:
        return None
    user = db.session.get(User, pending.get("u")) if isinstance(pending.get("u"), int) else None
    return user if user is not None and user.active and user.two_factor_enabled else None


@bp.route("/login/two-factor", methods=["GET", "POST"])
def login_two_factor():
    """The second step of a login with two-factor authentication: a code from the app or a recovery code."""
    user = _pending_user()
    unlocked = bool(session.get(PENDING_2FA, {}).get("unlocked")) if user is not None else False
    if user is None:
        if session.pop(PENDING_2FA, None) is not None:
            flash(_("Die Anmeldung hat zu lange gedauert. Bitte melden Sie sich erneut an."), "error")
        return redirect(url_for("accounts.login"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            ok = second_factor(user, form.code.data or "", _address(), unlocked=unlocked)
        except LoginThrottled as exc:
            session.pop(PENDING_2FA, None)
            return _throttled("accounts/login_two_factor.html", exc, form=form)
        if ok:
            target = session[PENDING_2FA].get("next")
            _log_in(user)
            return redirect(after_login(same_site_path(target)))
        form.code.errors.append(_("Der Code stimmt nicht."))  # type: ignore[attr-defined]  # a list once validated
    return render_template("accounts/login_two_factor.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        end_session(current_user)  # on the server: a copy of the cookie opens nothing any more
    logout_user()
    session.clear()
    return redirect(url_for("calls.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            register_applicant(
                form.email.data or "",
                form.name.data or "",
                form.password.data or "",
                organisation=form.organisation.data or "",
                locale=form.locale.data,
                salutation=form.salutation.data or "",
            )
        except ActionRefused as exc:
            form.password.errors.append(exc.message)  # type: ignore[attr-defined]  # a list once validated
        else:
            # the same answer for a new address and for one with an account: the mail tells which
            flash(
                _(
                    "Vielen Dank. Wir haben Ihnen eine E-Mail an %(email)s geschickt. Bitte bestätigen Sie "
                    "darin Ihre Adresse. Melden Sie sich hier mit Ihrem Passwort an: Entwürfe können Sie "
                    "gleich anlegen, einreichen nach der Bestätigung.",
                    email=(form.email.data or "").strip(),
                ),
                "success",
            )
            return redirect(url_for("accounts.login"))
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 422


@bp.route("/language", methods=["POST"])
def language():
    form = LanguageForm()
    form.validate()  # the token: CSRFProtect, for every post
    if form.lang.errors:
        abort(400)
    session["lang"] = form.lang.data
    if current_user.is_authenticated:
        current_user.locale = form.lang.data
    # a page to return to that is not one (too long, another site's): the start page
    return redirect(redirect_target(None if form.next.errors else form.next.data))


@bp.route("/admin/users")
@login_required
def users():
    require(current_user, "admin.work")
    rows = db.session.scalars(select(User).order_by(User.name)).all()
    return render_template("accounts/users.html", users=rows)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user_roles(user_id: int):
    require(current_user, "admin.work")
    user = db.get_or_404(User, user_id)
    form = RolesForm(roles=sorted(user.roles), office=user.office or "", head_of_office=user.head_of_office)
    if form.validate_on_submit():
        set_roles(
            user,
            current_user,
            list(form.roles.data or []),
            form.office.data or None,
            form.head_of_office.data,
        )
        flash(_("Rollen gespeichert."), "success")
        return redirect(url_for("accounts.users"))
    return render_template(
        "accounts/roles.html",
        user=user,
        form=form,
        reset_form=ConfirmForm(),
        sessions=open_sessions(user),
        end_form=EndSessionsForm(),
    )


@bp.route("/admin/users/<int:user_id>/sessions/end", methods=["POST"])
@login_required
def end_sessions_view(user_id: int):
    """An admin ends every session of a person (a lost device, a person leaving), after a confirmation."""
    require(current_user, "admin.work")
    user = db.get_or_404(User, user_id)
    form = EndSessionsForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("accounts.user_roles", user_id=user.id))
    ended = end_sessions_by_admin(user, current_user)
    flash(
        _("1 Sitzung von %(name)s wurde beendet.", name=user.name)
        if ended == 1
        else _("%(n)s Sitzungen von %(name)s wurden beendet.", n=ended, name=user.name),
        "success",
    )
    return redirect(url_for("accounts.user_roles", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/two-factor/reset", methods=["POST"])
@login_required
def reset_two_factor_view(user_id: int):
    """An admin turns off a person's two-factor login (authenticator lost, secret unreadable after a key change)."""
    require(current_user, "admin.work")
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reset_two_factor(user, current_user)
    flash(
        _(
            "Die Zwei-Faktor-Anmeldung von %(name)s ist ausgeschaltet; die Person kann sie nach der Anmeldung "
            "mit dem Passwort neu einrichten.",
            name=user.name,
        ),
        "success",
    )
    return redirect(url_for("accounts.user_roles", user_id=user.id))


# --- e-mail verification, password reset ----------------------------------------------------------------


@bp.route("/verify/<token>")
def verify_email_link(token: str):
    user = verify_email(token)
    if user is None:
        return render_template("accounts/link_invalid.html", resend=True), 400
    flash(_("Danke! Ihre E-Mail-Adresse %(email)s ist bestätigt.", email=user.email), "success")
    # on to the open calls, where an offer begins (after the login, if this browser is not logged in)
    if current_user.is_authenticated:
        return redirect(url_for("calls.index"))
    return redirect(url_for("accounts.login", next=url_for("calls.index")))


@bp.route("/account/verify", methods=["POST"])
@login_required
def resend_verification():
    if send_verification(current_user):
        flash(
            _(
                "Wir haben Ihnen einen neuen Bestätigungslink an %(email)s geschickt.",
                email=current_user.email,
            ),
            "success",
        )
    else:
        flash(_("Ihre E-Mail-Adresse ist bereits bestätigt."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data or "")
        # the same page whether or not the address has an account
        return render_template(
            "accounts/forgot_sent.html", minutes=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
        )
    return render_template("accounts/forgot.html", form=form), 200 if not form.errors else 422


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password_link(token: str):
    if user_for_reset(token) is None:
        return render_template("accounts/link_invalid.html", resend=False), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        reset_password(token, form.password.data or "")
        session.clear()
        flash(_("Ihr Passwort ist geändert. Bitte melden Sie sich mit dem neuen Passwort an."), "success")
        return redirect(url_for("accounts.login"))
    return _no_store(
        make_response(render_template("accounts/reset.html", form=form), 200 if not form.errors else 422)
    )


# --- the own account: verification status, two-factor login ----------------------------------------------


@bp.route("/account")
@login_required
def account():
    return render_template(
        "accounts/account.html",
        remaining=remaining_recovery_codes(current_user),
        sessions=open_sessions(current_user),
        end_form=ConfirmForm(),
        notify_form=NotifyForm(notify_mode=current_user.notify_mode),
        salutation_form=SalutationForm(salutation=current_user.salutation),
    )


@bp.route("/account/salutation", methods=["POST"])
@login_required
def salutation():
    """The form of address in letters and mails."""
    form = SalutationForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("accounts.account"))
    set_salutation(current_user, form.salutation.data or "")
    flash(
        _(
            "Gespeichert. So sprechen wir Sie an: „%(greeting)s“",
            greeting=current_user.greeting(current_lang()),
        ),
        "success",
    )
    return redirect(url_for("accounts.account"))


@bp.route("/account/notifications", methods=["POST"])
@login_required
def notifications():
    """An official chooses a mail for each thing that arrives, or one each morning."""
    require(current_user, "official.work")
    form = NotifyForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("accounts.account"))
    set_notify_mode(current_user, form.notify_mode.data)
    flash(
        _("Sie erhalten jetzt eine E-Mail, sobald etwas für Sie eingeht.")
        if form.notify_mode.data == "immediate"
        else _("Sie erhalten jetzt jeden Morgen eine E-Mail mit Ihren offenen Aufgaben."),
        "success",
    )
    return redirect(url_for("accounts.account"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions_view():
    """The person ends their sessions in every other browser."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = end_other_sessions(current_user)
    flash(
        _("1 andere Sitzung wurde beendet.")
        if ended == 1
        else _("%(n)s andere Sitzungen wurden beendet.", n=ended),
        "success",
    )
    return redirect(url_for("accounts.account"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Set up TOTP: the secret (text and otpauth:// URI), confirmed by a code before it is on."""
    require(current_user, "account.two_factor")
    required = two_factor_required(current_user)
    if current_user.two_factor_enabled:
        return render_template(
            "accounts/two_factor.html",
            disable_form=TwoFactorDisableForm(),
            remaining=remaining_recovery_codes(current_user),
            required=required,
        )
    secret = session.get(SETUP_2FA) or new_totp_secret()
    session[SETUP_2FA] = secret
    form = TwoFactorSetupForm()
    if form.validate_on_submit():
        try:
            codes = enable_two_factor(current_user, secret, form.code.data or "")
        except ActionRefused as exc:
            form.code.errors.append(exc.message)  # type: ignore[attr-defined]  # a list once validated
        else:
            session.pop(SETUP_2FA, None)
            return _no_store(make_response(render_template("accounts/recovery_codes.html", codes=codes)))
    uri = totp_uri(current_user, secret)
    resp = make_response(
        render_template(
            "accounts/two_factor.html", form=form, secret=secret, uri=uri, qr=_qr_svg(uri), required=required
        ),
        200 if not form.errors else 422,
    )
    return _no_store(resp)


@bp.route("/account/two-factor/disable", methods=["POST"])
@login_required
def disable_two_factor_view():
    require(current_user, "account.two_factor")
    form = TwoFactorDisableForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("accounts.two_factor"))
    disable_two_factor(current_user, form.password.data or "")  # a wrong password: a message, nothing changes
    flash(_("Die Zwei-Faktor-Anmeldung ist ausgeschaltet."), "success")
    return redirect(url_for("accounts.account"))

"""Request handling in one place: the request's clock, one commit per request (what it queued runs after it:
foerdercall.aftercommit), errors as pages with a clear message (never a 500 for a refused action)."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as refresh_locale
from flask_login import current_user
from flask_login.utils import login_url
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import SecurityError

from forms.reviews import NeutralityForm

from . import policy
from .accounts.operations import user_for_session
from .accounts.views import bp as accounts_bp
from .api.admin import bp as api_admin_bp
from .api.views import bp as api_bp
from .api.views import is_api_request, problem_response
from .appform.answers import format_cents
from .appform.places import place_label
from .awards.views import bp as awards_bp
from .calendar.views import bp as calendar_bp
from .calls.views import bp as calls_bp
from .dashboard.views import bp as dashboard_bp
from .documents.views import bp as documents_bp
from .errors import ActionRefused, NeutralityRequired
from .extensions import csrf, db, login_manager
from .headers import security_headers
from .i18n import current_lang, format_date, format_dt, format_money, format_number, label
from .jobs.views import bp as jobs_bp
from .labels import (
    action_label,
    attachment_kind,
    field_label,
    job_kind_label,
    job_state_label,
    mail_failure_label,
    retention_basis_label,
    state_label,
    step_label,
    term,
)
from .logs import request_id
from .mail.views import bp as mail_bp
from .mailtemplates.views import bp as mailtemplates_bp
from .offices.queries import lead_office, office_label, offices_named
from .offices.views import bp as offices_bp
from .ops import init_app as init_ops
from .outcomes.views import bp as outcomes_bp
from .parking.views import bp as parking_bp
from .parking.views import park_refused_post
from .policy.actors import two_factor_setup_due
from .privacy.views import bp as privacy_bp
from .proposals.views import bp as proposals_bp
from .publicity import eu_statement
from .ranking.service import tie_note
from .ranking.views import bp as ranking_bp
from .register.views import bp as register_bp
from .reviews.views import bp as reviews_bp
from .tasks.views import bp as tasks_bp
from .text import has_control, printable
from .timeutil import now
from .urls import current_path, external_url, public_url, referrer_target, start_page

log = logging.getLogger(__name__)


# What a person who must set up the second factor first may still reach (REQUIRE_TWO_FACTOR_ROLES).
TWO_FACTOR_GATE_OPEN = frozenset(
    {"static", "health", "accounts.logout", "accounts.language", "accounts.two_factor"}
)


def _clean_input() -> None:
    """Form fields and query arguments without control characters, for every view alike (a NUL in any text
    field cannot be stored in PostgreSQL, other control characters break the XLSX exports and PDFs)."""
    for name in ("args", "form"):
        values = getattr(request, name)
        if any(has_control(k) or has_control(v) for k, v in values.items(multi=True)):  # rare: copy only then
            setattr(
                request,
                name,
                ImmutableMultiDict([(printable(k), printable(v)) for k, v in values.items(multi=True)]),
            )


def init_app(app: Flask) -> None:
    for blueprint in (
        accounts_bp,
        calls_bp,
        proposals_bp,
        reviews_bp,
        awards_bp,
        mail_bp,
        privacy_bp,
        parking_bp,
        mailtemplates_bp,  # the calls' own mail texts
        calendar_bp,  # deadlines as .ics
        jobs_bp,  # bulk jobs with progress
        documents_bp,  # letters, the Vergabevermerk
        register_bp,  # the public register
        dashboard_bp,  # the call dashboard
        offices_bp,  # the offices, kept by the admins
        tasks_bp,  # the start page: everyone's tasks
        outcomes_bp,  # what measures achieved
        ranking_bp,  # the ties of a call's ranking
        api_admin_bp,  # the admins' API tokens
        api_bp,  # the JSON API (tokens, no session, no CSRF token: a bearer token is no ambient authority)
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)

    login_manager.login_view = "accounts.login"
    login_manager.login_message = None

    @login_manager.unauthorized_handler
    def _unauthorized():
        """Flask-Login's redirect to the login page; a long form posted after the session ended is kept first."""
        return park_refused_post() or redirect(login_url("accounts.login", next_url=current_path()))

    @login_manager.user_loader
    def load_user(token: str):
        """The cookie's session token (Flask-Login's id, User.get_id()): the person with their roles while the
        session row is live, in one statement; else nobody, and the stale token leaves the cookie."""
        user = user_for_session(token)
        if user is None:
            for key in ("_user_id", "_fresh", "_id"):
                session.pop(key, None)
        return user

    @app.before_request
    def _start():
        # g belongs to the app context, which a test (or a CLI command) may keep across requests:
        # reset what is per request.
        _clean_input()
        g.pop("_login_user", None)
        refresh_locale()  # Flask-Babel caches the locale on g
        g.rollback = False
        # The request's time, the one moment every deadline of the request is judged by (submission, upload,
        # answer; workflow.engine.request_now): when the whole request had arrived. Its form and files are read
        # completely first (behind admission control the body was read before the app saw the request).
        request.files  # noqa: B018 - parses the whole body (form fields and files), if not done already
        g.request_started = now()

    @app.before_request
    def _two_factor_gate():
        """A person whose role requires the second factor and who has none can only set it up (or log out)."""
        if not app.config.get("REQUIRE_TWO_FACTOR_ROLES") or request.endpoint in TWO_FACTOR_GATE_OPEN:
            return None
        if "_user_id" in session and current_user.is_authenticated and two_factor_setup_due(current_user):
            return redirect(url_for("accounts.two_factor"))
        return None

    @app.after_request
    def _commit(response):
        """The request's one commit; its mails, jobs and file deletions follow it (foerdercall.aftercommit)."""
        if response.status_code >= 500 or g.get("rollback"):
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except (StaleDataError, OperationalError) as exc:
            db.session.rollback()
            log.warning("commit failed: %s", exc)
            return (
                render_template(
                    "error.html",
                    code=503,
                    message=_(
                        "Der Dienst ist kurz nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."
                    ),
                ),
                503,
                {"Retry-After": "5"},
            )
        return response

    @app.after_request
    def _security_headers(response):
        """No inline scripts or styles, no framing, no content sniffing; HSTS when served over HTTPS
        (foerdercall.headers: the same for the admission gate's own pages)."""
        for name, value in security_headers(request.is_secure):
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(ActionRefused)
    def _refused(exc: ActionRefused):
        db.session.rollback()
        g.rollback = True
        flash(exc.message, "error")
        return redirect(referrer_target() or start_page())  # back to the page, if it is one of this site

    @app.errorhandler(NeutralityRequired)
    def _neutrality_first(exc: NeutralityRequired):
        """The call's declaration of neutrality, asked for where its proposals would be shown (nothing else)."""
        g.rollback = True
        if is_api_request():
            return problem_response(403, "Forbidden", "Sign the call's declaration of neutrality first.")
        return render_template(
            "calls/neutrality.html", call=exc.call, form=NeutralityForm(next=current_path())
        ), 403

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        if (parked := park_refused_post()) is not None:  # the long forms: the text is kept for this browser
            return parked
        g.rollback = True
        return render_template(
            "error.html",
            code=400,
            message=_(
                "Das Formular war abgelaufen oder unvollständig. Bitte laden Sie die Seite neu; "
                "gespeicherte Entwürfe bleiben erhalten."
            ),
        ), 400

    for code, message in (  # each rolls back what the request wrote before it was refused
        (400, _l("Die Anfrage war ungültig.")),
        (403, _l("Dafür fehlt Ihnen die Berechtigung.")),
        (404, _l("Diese Seite gibt es nicht – oder Sie dürfen sie nicht sehen.")),
        (405, _l("Diese Aktion ist hier nicht vorgesehen.")),
        (413, _l("Die Datei ist zu groß.")),
    ):

        def handler(exc, code=code, message=message):
            g.rollback = True
            if is_api_request():  # the API answers in JSON, never with a page
                return problem_response(code, getattr(exc, "name", "Error"), getattr(exc, "description", ""))
            return render_template("error.html", code=code, message=str(message)), code

        app.register_error_handler(code, handler)

    @app.errorhandler(SecurityError)
    def _untrusted_host(exc):
        """A Host header not in TRUSTED_HOSTS: a plain page (no links can be built for that host) naming the
        address of the service."""
        g.rollback = True
        return render_template("error_host.html", public_url=public_url()), 400

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        db.session.rollback()
        g.rollback = True
        g._login_user = login_manager.anonymous_user()  # the page must not ask the database who is logged in
        if is_api_request():
            resp = problem_response(503, "Service Unavailable", "The database is away for a moment.")
            resp.headers["Retry-After"] = "5"
            return resp
        return (
            render_template(
                "error.html",
                code=503,
                message=_(
                    "Die Datenbank ist kurz nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."
                ),
            ),
            503,
            {"Retry-After": "5"},
        )

    app.register_error_handler(InterfaceError, _db_down)  # a connection that was closed under us

    @app.errorhandler(500)
    def _error(exc):
        db.session.rollback()
        if is_api_request():
            return problem_response(500, "Internal Server Error", "Nothing was saved.")
        return render_template(
            "error.html",
            code=500,
            message=_("Ein unerwarteter Fehler ist aufgetreten. Es wurde nichts gespeichert."),
        ), 500

    @app.context_processor
    def _helpers():
        return {
            "lang": current_lang(),
            "state_label": state_label,
            "step_label": step_label,
            "label": label,
            "action_label": action_label,
            "job_state_label": job_state_label,
            "job_kind_label": job_kind_label,
            "retention_basis_label": retention_basis_label,
            "request_id": request_id,
            "mail_failure_label": mail_failure_label,
            "attachment_kind": attachment_kind,
            "here": current_path,  # this page as a `next` target (the language switch)
            # the rulebook: a page shows an action only when the current user may do it (or with the reason why not)
            "may": lambda action, obj=None, **params: policy.may(current_user, action, obj, **params),
            "refusal": lambda action, obj=None, **params: policy.refusal(current_user, action, obj, **params),
            "steps": lambda obj: policy.steps(obj, current_user),
            "offered_steps": lambda obj, skip=(): policy.offered_steps(obj, current_user, skip),
        }

    app.jinja_env.filters.update(
        dt=format_dt,
        date=format_date,
        money=format_money,
        number=format_number,
        amount_input=lambda cents: format_cents(
            cents or 0, current_lang()
        ),  # a money field's value, as typed
        office=office_label,
        offices_named=offices_named,
        isodt=lambda s: format_dt(dt.datetime.fromisoformat(s)),
    )
    app.jinja_env.globals.update(
        lead_office=lead_office,
        field_label=field_label,
        external_url=external_url,
        term=term,
        place_label=place_label,
        tie_note=tie_note,
        eu_statement=eu_statement,
    )  # documents and mails, in the worker too

    @app.route("/accessibility")
    def accessibility():
        return render_template("accessibility.html")

    init_ops(app)  # /health, /ready, /metrics, the request's id and counts

    if app.config.get("ADMISSION_MAX_REQUESTS"):  # bounded work per process, past it 503 + Retry-After
        from .admission import Admission  # loaded only when admission control is configured

        app.wsgi_app = Admission.from_config(app.wsgi_app, app.config)  # type: ignore[method-assign]  # Flask's way to wrap it

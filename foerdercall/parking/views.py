"""The parked-posts page and the hooks the request handling calls when a post is refused (web.py) and after a
login (accounts/views.py)."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_login.utils import login_url
from werkzeug.datastructures import MultiDict

from forms.awards import ReportForm
from forms.calls import ConfirmForm
from forms.proposals import AnswerForm, proposal_form
from forms.reviews import parse_scores

from ..awards.models import Milestone
from ..extensions import db
from ..labels import action_label
from ..offices.queries import office_label
from ..policy.loaders import get_parked_for
from ..proposals.models import Proposal
from ..proposals.operations import save_draft
from ..proposals.queries import open_clarification
from ..reviews.models import Review
from ..reviews.operations import save_review
from ..urls import current_path, redirect_target, same_origin, same_site_path
from .browser import COOKIE, browser_parking_key
from .operations import (
    FORM_FIELDS,
    KEEP,
    PARKABLE,
    ParkRefused,
    browser_key,
    discard,
    is_draft_form,
    park,
    parked_for,
    text_fields,
    typed_text,
)

bp = Blueprint("parking", __name__)


def _same_site() -> bool:
    """The post came from a page of this site (a post another site makes a browser send is never kept)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return same_origin(origin)
    return True


def park_refused_post():
    """Called when a post is refused for its token or its session: keep its text for this browser and answer
    with the way to get it back (a response), or None when the post is not one of the long forms."""
    endpoint = request.endpoint or ""
    arg = PARKABLE.get(endpoint)
    if request.method != "POST" or arg is None or not _same_site():
        return None
    target = (request.view_args or {}).get(arg)
    if not isinstance(target, int):
        return None
    g.pop("_login_user", None)  # a token refused before web._start ran: who is logged in, from this request
    fields = text_fields(endpoint, request.form, request.view_args)
    had_files = any(f.filename for f in request.files.values())
    value = request.cookies.get(COOKIE, "")
    if not 20 <= len(value) <= 100:
        value = secrets.token_urlsafe(32)
    user_id = current_user.id if current_user.is_authenticated else None
    try:
        row = park(
            browser_key(value),
            user_id,
            endpoint,
            target,
            fields,
            had_files,
            address=request.remote_addr,
        )
    except ParkRefused as exc:  # nothing kept: the text is shown back, to copy
        g.rollback = True
        return (
            render_template(
                "parking/refused.html",
                reason=exc.message,
                texts=typed_text(fields),
                login_url=login_url("accounts.login", next_url=current_path()),
            ),
            429,
            {"Cache-Control": "no-store", "Retry-After": "3600"},
        )
    if row is None:
        return None
    g.rollback = False  # the parked row is this response's one change (web._commit commits it)
    files = (
        (
            " "
            + _(
                "Hochgeladene Dateien konnten nicht aufbewahrt werden; bitte wählen Sie sie danach noch "
                "einmal aus."
            )
        )
        if had_files
        else ""
    )
    draft = is_draft_form(row)
    if current_user.is_authenticated:
        flash(
            (
                _(
                    "Das Formular war abgelaufen. Ihre Eingaben wurden aufbewahrt; Sie können sie hier in Ihren "
                    "Entwurf übernehmen."
                )
                if draft
                else _(
                    "Das Formular war abgelaufen. Ihre Eingaben wurden aufbewahrt; Sie können sie hier prüfen und "
                    "noch einmal absenden."
                )
            )
            + files,
            "error",
        )
        resp = redirect(url_for("parking.index"))
    else:
        flash(
            (
                _(
                    "Ihre Sitzung war abgelaufen. Ihre Eingaben wurden aufbewahrt: Nach der Anmeldung können Sie "
                    "sie in Ihren Entwurf übernehmen."
                )
                if draft
                else _(
                    "Ihre Sitzung war abgelaufen. Ihre Eingaben wurden aufbewahrt: Nach der Anmeldung können Sie "
                    "sie prüfen und noch einmal absenden."
                )
            )
            + files,
            "error",
        )
        resp = redirect(login_url("accounts.login", next_url=url_for("parking.index")))
    resp.set_cookie(
        COOKIE,
        value,
        max_age=int(KEEP.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _next() -> str | None:
    """Where the person goes on from the parked page: the request's `next`, if it is a path of this site."""
    return same_site_path(request.args.get("next"))


def _target(row) -> dict:
    """What the parked text belongs to, its fields with their labels, and where it goes."""
    if row.endpoint in FORM_FIELDS:
        return _form_target(row)
    if row.endpoint == "proposals.edit":
        p = db.session.get_one(Proposal, row.target_id)
        form = proposal_form(p)
        labels = {name: form.label_of(name) for name in row.fields}
        values = {name: form.shown(name, value) for name, value in row.fields.items()}
        if "advice_requested" in values:
            values["advice_requested"] = _("ja") if values["advice_requested"] else _("nein")
        return {
            "title": _("Ihr Angebot: %(title)s", title=p.title or p.call.title),
            "url": url_for("proposals.edit", proposal_id=p.id),
            "draft": True,
            "fields": [(labels[n], values[n]) for n in row.fields if str(values[n]).strip()],
        }
    review = db.session.get_one(Review, row.target_id)
    names = {c.id: c.name for c in review.proposal.call.criteria}
    fields = []
    for name, value in row.fields.items():
        kind, _sep, cid = name.partition("_")
        criterion = names.get(int(cid), "?")
        label = _("%(c)s: Punkte", c=criterion) if kind == "score" else _("%(c)s: Begründung", c=criterion)
        if str(value).strip():
            fields.append((label, _("nicht anwendbar") if value == "na" else value))
    return {
        "title": _("Ihr Gutachten zu %(n)s", n=review.proposal.file_number or review.proposal.title),
        "url": url_for("reviews.score", review_id=review.id),
        "draft": True,
        "fields": fields,
    }


def _input(name: str, label, value, rows: int = 0, required: bool = False, options=None) -> dict:
    """One field of a one-shot form on the parked page: a textarea (rows), a select (options) or an input."""
    return {
        "name": name,
        "label": str(label),
        "value": value or "",
        "rows": rows,
        "required": required,
        "options": options,
    }


def _form_target(row) -> dict:
    """A one-shot form (no draft to take the text into): the same form again, filled with the parked text, for
    the person to check and send (its own post, with this page's token); nothing is sent by itself."""
    values = row.fields
    if row.endpoint == "awards.milestone_report":
        m = db.session.get_one(Milestone, row.target_id)
        return {
            "title": _("Ihr Bericht zum Meilenstein „%(m)s“", m=m.title),
            "url": url_for("proposals.detail", proposal_id=m.proposal_id, _anchor="h-impl"),
            "draft": False,
            "context": None,
            "file": None,
            "action": url_for("awards.milestone_report", proposal_id=m.proposal_id, milestone_id=m.id),
            "inputs": [_input("text", _("Erreichter Stand"), values.get("text"), 6, True)],
            "submit": _("Berichten"),
        }
    p = db.session.get_one(Proposal, row.target_id)
    name = p.file_number or p.title or p.call.title
    if row.endpoint == "proposals.answer":
        form = AnswerForm()
        request_ = open_clarification(p)
        return {
            "title": _("Ihre Antwort auf die Nachforderung zu %(n)s", n=name),
            "url": url_for("proposals.detail", proposal_id=p.id, _anchor="h-clar"),
            "draft": False,
            "context": (_("Nachforderung"), request_.message if request_ else ""),
            "action": url_for("proposals.answer", proposal_id=p.id),
            "file": str(form.file.label.text),
            "inputs": [_input("answer", form.answer.label.text, values.get("answer"), 8, True)],
            "submit": _("Antwort senden"),
        }
    if row.endpoint == "awards.report":
        kind = values.get("kind")
        form = ReportForm()
        return {
            "title": (
                _("Ihr Zwischenbericht zu %(n)s", n=name)
                if kind == "interim"
                else _("Ihr Abschlussbericht zu %(n)s", n=name)
            ),
            "url": url_for("proposals.detail", proposal_id=p.id, _anchor="h-impl"),
            "draft": False,
            "context": None,
            "file": None,
            "action": url_for("awards.report", proposal_id=p.id, kind=kind),
            "inputs": [
                _input("narrative", form.narrative.label.text, values.get("narrative"), 10, True),
                _input("use_of_funds", form.use_of_funds.label.text, values.get("use_of_funds"), 5),
                _input("spent", form.spent.label.text, values.get("spent")),
            ],
            "submit": _("Einreichen"),
        }
    if row.endpoint == "awards.sign":
        return {
            "title": _("Ihre Zeichnung zu %(n)s", n=name),
            "url": url_for("proposals.detail", proposal_id=p.id),
            "draft": False,
            "context": None,
            "file": None,
            "action": url_for("awards.sign", proposal_id=p.id),
            "inputs": [
                _input(
                    "decision",
                    _("Entscheidung für %(office)s", office=office_label(current_user.office)),
                    values.get("decision"),
                    options=[("approve", _("Zustimmen")), ("reject", _("Ablehnen"))],
                ),
                _input("reason", _("Begründung (bei Ablehnung erforderlich)"), values.get("reason"), 6),
            ],
            "submit": _("Zeichnen"),
        }
    # proposals.fire_trigger: a step with a written reason, in the words of the call's mode
    step = action_label(values.get("trigger", ""), mode=p)
    return {
        "title": _("%(step)s: %(n)s", step=step, n=name),
        "url": url_for("proposals.detail", proposal_id=p.id),
        "draft": False,
        "context": None,
        "file": None,
        "action": url_for("proposals.fire_trigger", proposal_id=p.id, trigger=values.get("trigger")),
        "inputs": [_input("reason", _("Begründung"), values.get("reason"), 6, True)],
        "submit": step,
    }


@bp.route("/parked")
@login_required
def index():
    rows = parked_for(browser_parking_key(), current_user)
    if not rows:
        return redirect(redirect_target(request.args.get("next")))
    entries = [(r, _target(r)) for r in rows]
    return (
        render_template(
            "parking/index.html",
            entries=entries,
            form=ConfirmForm(),
            next=_next(),
            any_draft=any(t["draft"] for _r, t in entries),
        ),
        200,
        {"Cache-Control": "no-store"},
    )


@bp.route("/parked/<int:parked_id>/apply", methods=["POST"])
@login_required
def apply(parked_id: int):
    """Take the parked text over into the draft: asked for by its owner, with the form's token. A one-shot form
    has no draft: its text is sent by the person with the form on the parked page."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = get_parked_for(current_user, browser_parking_key(), parked_id)
    if not is_draft_form(row):
        flash(
            _(
                "Diese Eingaben gehören zu keinem Entwurf: Bitte prüfen Sie sie und senden Sie das Formular "
                "hier ab."
            ),
            "error",
        )
        return redirect(url_for("parking.index", _anchor=f"parked-{row.id}"))
    data = MultiDict(row.fields)
    if row.endpoint == "proposals.edit":
        p = db.session.get_one(Proposal, row.target_id)
        form = proposal_form(p, data)
        if not form.validate():
            flash(
                _(
                    "Ihre Eingaben passen so nicht in das Formular: %(e)s. Der Text bleibt hier aufbewahrt; "
                    "bitte übernehmen Sie ihn von Hand.",
                    e="; ".join(
                        f"{form[n].label.text}: {' '.join(map(str, errs))}" for n, errs in form.errors.items()
                    ),
                ),
                "error",
            )
            return redirect(url_for("parking.index"))
        save_draft(p, current_user, form.draft_data())
        url = url_for("proposals.edit", proposal_id=p.id)
    else:  # reviews.score
        review = db.session.get_one(Review, row.target_id)
        call = review.proposal.call
        current = {s.criterion_id: (s.score, s.justification) for s in review.scores}
        entry = parse_scores(data, call.criteria, call.scale_max)
        for cid in entry.invalid:  # a value off the scale keeps the stored score, with the typed text
            entry.scores[cid] = (current.get(cid, (None, ""))[0], entry.typed[cid][1])
        # what was not part of the parked post stays as it was
        scores = {
            cid: entry.scores[cid]
            if f"score_{cid}" in data or f"justification_{cid}" in data
            else current.get(cid, (None, ""))
            for cid in entry.scores
        }
        save_review(review, current_user, scores, submit=False)
        url = url_for("reviews.score", review_id=review.id)
    discard(row)
    flash(_("Ihre aufbewahrten Eingaben wurden übernommen und gespeichert. Bitte prüfen Sie sie."), "success")
    return redirect(url)


@bp.route("/parked/<int:parked_id>/discard", methods=["POST"])
@login_required
def discard_view(parked_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = get_parked_for(current_user, browser_parking_key(), parked_id)
    discard(row)
    flash(_("Die aufbewahrten Eingaben wurden verworfen."), "success")
    return redirect(url_for("parking.index", next=_next()))

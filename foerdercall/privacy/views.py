from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from forms.privacy import DeleteAccountForm, HoldForm
from workflows import HoldState

from ..accounts.operations import authenticate
from ..extensions import db
from ..policy import may
from ..policy.loaders import get_proposal_for, require
from ..policy.reading import official_may_read
from ..ranking.queries import proposals_by_id
from ..sheets import file_response
from ..timeutil import now
from .models import LegalHold
from .notice import default_privacy_notice, privacy_notice
from .operations import delete_account, export_zip
from .queries import applicant_label, event_actor, event_reason, held_proposals
from .retention import lift_hold, place_hold, records_ending

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


# --- retention: the records that end soon, legal holds ------------------------------------------------------

DUE_DAYS = 90


@bp.route("/retention")
@login_required
def retention():
    """The records whose retention ends in the next 90 days (or has ended, where a hold keeps them), with their
    holds: what the worker will anonymise, and when."""
    require(current_user, "official.work")
    at = now()
    until = at + dt.timedelta(days=DUE_DAYS)
    ends = records_ending(until)
    proposals = proposals_by_id(e.proposal_id for e in ends)
    holds = held_proposals(proposals)
    # all holds in force, also on records whose end is further away
    for hold in db.session.scalars(select(LegalHold).where(LegalHold.state == HoldState.HELD)):
        holds.setdefault(hold.proposal_id, hold)
    return render_template(
        "privacy/retention.html",
        ends=ends,
        proposals=proposals | proposals_by_id(h for h in holds if h not in proposals),
        holds=holds,
        readable={pid for pid, p in proposals.items() if official_may_read(current_user, p)},
        at=at,
        until=until,
        days=DUE_DAYS,
        form=HoldForm(),
    )


@bp.route("/proposals/<int:proposal_id>/hold", methods=["POST"])
@login_required
def hold(proposal_id: int):
    p = get_proposal_for(current_user, proposal_id)
    require(current_user, "proposal.place_hold", p)
    form = HoldForm()
    if not form.validate_on_submit():
        flash(_("Bitte geben Sie eine Begründung an."), "error")
    else:
        place_hold(p, current_user, form.reason.data or "")
        flash(_("Die Aufbewahrung von %(number)s ist angeordnet.", number=p.file_number), "success")
    return redirect(url_for("privacy.retention"))


@bp.route("/holds/<int:hold_id>/lift", methods=["POST"])
@login_required
def lift(hold_id: int):
    hold = db.session.get(LegalHold, hold_id)
    if hold is None:
        abort(404)
    p = get_proposal_for(current_user, hold.proposal_id)
    if not may(current_user, "lift_hold", hold):
        abort(403)
    form = HoldForm()
    if not form.validate_on_submit():
        flash(_("Bitte geben Sie eine Begründung an."), "error")
    else:
        lift_hold(hold, current_user, form.reason.data or "")
        flash(_("Der Rechtsvorbehalt für %(number)s ist aufgehoben.", number=p.file_number), "success")
    return redirect(url_for("privacy.retention"))


@bp.app_context_processor
def _notice():
    return {
        "privacy_notice": privacy_notice,
        "default_privacy_notice": default_privacy_notice,
        "applicant_label": applicant_label,
        "event_actor": event_actor,
        "event_reason": event_reason,
    }

"""The deadlines as calendar files (.ics): a call's for its officials, a proposal's for its applicant."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_login import current_user, login_required

from ..jobs.files import attachment_headers
from ..policy.loaders import get_call_for, get_own_proposal_for, require
from ..timeutil import now
from . import vcalendar
from .events import call_events, proposal_events

bp = Blueprint("calendar", __name__)

MIMETYPE = "text/calendar; charset=utf-8"


@bp.route("/calls/<int:call_id>/deadlines.ics")
@login_required
def call_deadlines(call_id: int):
    """Every deadline of the call (opening, submission, review, standstills, acceptance, milestones,
    implementation end, answers to clarification requests) as one calendar."""
    call = get_call_for(current_user, call_id)
    require(current_user, "call.read_calendar", call)
    body = vcalendar(call_events(call, current_user), stamp=now(), name=f"{call.code}: {call.title}")
    return Response(body, mimetype=MIMETYPE, headers=attachment_headers(f"{call.code}-fristen.ics"))


@bp.route("/proposals/<int:proposal_id>/deadlines.ics")
@login_required
def proposal_deadlines(proposal_id: int):
    p = get_own_proposal_for(current_user, proposal_id)
    body = vcalendar(proposal_events(p), stamp=now(), name=p.label())
    return Response(body, mimetype=MIMETYPE, headers=attachment_headers(f"{p.label()}-fristen.ics"))

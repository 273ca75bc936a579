"""Rows loaded by their id for a person, through the rules of ``policy.reading``: 404 for what they may not know
about (no leak of titles or names), 403 where they know the row but may not do this with it, 401 for nobody."""

from __future__ import annotations

from flask import abort

from ..awards.models import Milestone, Report
from ..calls.models import Call
from ..errors import NeutralityRequired
from ..extensions import db
from ..jobs.models import BulkJob
from ..mail.models import OutboxMail
from ..mailtemplates.models import MailTemplate
from ..outcomes.models import IndicatorValue
from ..parking.models import ParkedPost
from ..proposals.models import Proposal
from ..timeutil import now
from .reading import (
    OFFICIAL_DOCUMENTS,
    can_view_proposal,
    is_public_call,
    may_read_document,
    may_see_call,
    neutrality_signed,
    reads_after_declaring,
    reads_call_proposals,
)
from .rules import refusal


def get_proposal_for(user, proposal_id: int) -> Proposal:
    """Load a proposal the user may see, else 404 (the same answer whether or not it exists)."""
    p = db.session.get(Proposal, proposal_id)
    if p is None:
        abort(404)
    if not can_view_proposal(user, p):
        if reads_after_declaring(user, p):  # the page asks for the declaration of neutrality first
            raise NeutralityRequired(p.call)
        abort(404)
    return p


def require_neutrality(user, call) -> None:
    """An official about to see the proposals of an opened call signs its declaration of neutrality first."""
    if reads_call_proposals(user, call) and not neutrality_signed(user, call.id):
        raise NeutralityRequired(call)


def _part_for(user, proposal_id: int, model, row_id: int):
    """A proposal the user may see and one of its rows of ``model`` (a milestone, a report), else 404."""
    p = get_proposal_for(user, proposal_id)
    row = db.session.get(model, row_id)
    if row is None or row.proposal_id != p.id:
        abort(404)
    return p, row


def get_milestone_for(user, proposal_id: int, milestone_id: int) -> tuple[Proposal, Milestone]:
    return _part_for(user, proposal_id, Milestone, milestone_id)


def get_report_for(user, proposal_id: int, report_id: int) -> tuple[Proposal, Report]:
    return _part_for(user, proposal_id, Report, report_id)


def get_indicator_value_for(user, proposal_id: int, value_id: int) -> tuple[Proposal, IndicatorValue]:
    return _part_for(user, proposal_id, IndicatorValue, value_id)


def require(user, action: str, obj=None, *, status: int = 403, **params) -> None:
    """Stop the request unless the rulebook allows ``action``: 401 for nobody signed in, else ``status`` (404
    where the person may not even learn that the row exists)."""
    if refusal(user, action, obj, **params) is not None:
        abort(401 if not user.is_authenticated else status)


def get_document_proposal_for(user, proposal_id: int, kind: str) -> Proposal:
    """The proposal whose document `kind` the user may download: 404 for what they may not know about,
    403 where they see the proposal but not this document (a reviewer, an applicant's Vergabevermerk)."""
    if kind not in OFFICIAL_DOCUMENTS:
        abort(404)
    p = get_proposal_for(user, proposal_id)
    if not may_read_document(user, p, kind):
        abort(403)
    return p


def get_own_proposal_for(user, proposal_id: int) -> Proposal:
    """A proposal's own things (its deadlines as .ics): its applicant only; 404 for what the user may not
    know about, 403 for those who may read the proposal but are not its applicant."""
    p = get_proposal_for(user, proposal_id)
    if p.applicant_id != user.id:
        abort(403)
    return p


def get_job_for(user, job_id: int, action: str = "job.read") -> BulkJob:
    """A bulk job the rulebook lets the user ``action`` (``job.read``: its progress, ``job.download``: its
    file); 404 for everybody else (no leak of its items)."""
    job = db.session.get(BulkJob, job_id)
    if job is None:
        abort(404)
    require(user, action, job, status=404)
    return job


def get_mail_template_call_for(user, call_id: int) -> Call:
    """The call whose mail templates the user edits (``call.edit_mail_templates``): 401/403 for those who may
    not, 404 for no such call."""
    require(user, "call.edit_mail_templates")
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call


def get_mail_template_for(user, call_id: int, template_id: int) -> MailTemplate:
    """One of the call's mail templates, for those who edit them; 404 for another call's template."""
    call = get_mail_template_call_for(user, call_id)
    t = db.session.get(MailTemplate, template_id)
    if t is None or t.call_id != call.id:
        abort(404)
    return t


def get_call_for(user, call_id: int) -> Call:
    """A call the user may see (a draft only its officials), else 404."""
    call = db.session.get(Call, call_id)
    if call is None or not may_see_call(user, call):
        abort(404)
    return call


def get_parked_for(user, browser_key: str | None, parked_id: int) -> ParkedPost:
    """Text this browser parked that the user may take over (``parking.take_over``), else 404: another
    browser's text, or another person's, is never found."""
    row = db.session.get(ParkedPost, parked_id)
    if row is None or browser_key is None or row.browser_key != browser_key or row.expires_at < now():
        abort(404)
    require(user, "parking.take_over", row, status=404)
    return row


def get_mail_for(user, mail_id: int) -> OutboxMail:
    """A mail the user may read (``mail.read``: its recipient; officials the others, but not a secret or
    sealed one), else 404."""
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None:
        abort(404)
    require(user, "mail.read", mail, status=404)
    return mail


def get_public_call(call_id: int | None) -> Call:
    """A call as everyone sees it (the public register), whoever asks: 404 for a draft or no such call."""
    call = db.session.get(Call, call_id) if call_id is not None else None
    if call is None or not is_public_call(call):
        abort(404)
    return call

"""Who may take over text a browser parked (a post refused for its token or its session): only the person it
belongs to, only while its form is still open, and only if the text was not sent since it was typed. One check
per kind of form, by the endpoint the text was posted to."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from workflows import ProposalState

from ..awards.models import Milestone, Report
from ..awards.queries import interim_report_in
from ..extensions import db
from ..parking.models import DECISIONS, REPORT_KINDS, ParkedPost, reason_trigger
from ..proposals.models import Proposal
from ..proposals.queries import open_clarification
from ..reviews.models import Review
from .actors import sign_off_refusal
from .reading import can_view_proposal
from .transitions import steps


def _own_proposal(row: ParkedPost, user, state: ProposalState) -> Proposal | None:
    """The proposal the text belongs to, if the user is its applicant and it is in ``state``."""
    p = db.session.get(Proposal, row.target_id)
    return p if p is not None and p.applicant_id == user.id and p.state == state else None


def _proposal_draft(row: ParkedPost, user) -> bool:
    return _own_proposal(row, user, ProposalState.DRAFT) is not None


def _review_draft(row: ParkedPost, user) -> bool:
    """The reviewer's own review, not submitted, while the proposal is in review."""
    r = db.session.get(Review, row.target_id)
    return (
        r is not None
        and r.reviewer_id == user.id
        and r.submitted_at is None
        and r.proposal.state == ProposalState.IN_REVIEW
    )


def _answer(row: ParkedPost, user) -> bool:
    """The answer to the request that was open when the text was typed, not to a later one."""
    p = _own_proposal(row, user, ProposalState.CLARIFICATION)
    c = open_clarification(p) if p is not None else None
    return c is not None and c.requested_at <= row.created_at


def _milestone_report(row: ParkedPost, user) -> bool:
    """A milestone not accepted yet, and not reported since the text was typed (a report may be corrected
    until the milestone is accepted)."""
    m = db.session.get(Milestone, row.target_id)
    if m is None or m.accepted_at is not None:
        return False
    p = db.session.get(Proposal, m.proposal_id)
    return (
        p is not None
        and p.applicant_id == user.id
        and p.state == ProposalState.IN_IMPLEMENTATION
        and (m.reported_at is None or m.reported_at < row.created_at)
    )


def _report(row: ParkedPost, user) -> bool:
    """An interim or final report not submitted since the text was typed; an interim one only while no other
    is in (one at a time, as submitting it requires)."""
    p = _own_proposal(row, user, ProposalState.IN_IMPLEMENTATION)
    kind = row.fields.get("kind")
    if p is None or kind not in REPORT_KINDS:
        return False
    if kind == "interim" and interim_report_in(p) is not None:
        return False
    sent = select(Report.id).where(
        Report.proposal_id == p.id, Report.kind == kind, Report.submitted_at >= row.created_at
    )
    return db.session.scalar(sent.limit(1)) is None


def _readable_proposal(row: ParkedPost, user) -> Proposal | None:
    p = db.session.get(Proposal, row.target_id)
    return p if p is not None and can_view_proposal(user, p) else None


def _sign_off(row: ParkedPost, user) -> bool:
    """Someone who may read the proposal and still sign it for their office (the sign-off's own rule)."""
    p = _readable_proposal(row, user)
    return p is not None and row.fields.get("decision") in DECISIONS and sign_off_refusal(p, user) is None


def _reasoned_step(row: ParkedPost, user) -> bool:
    """Someone who may read the proposal and still take the step (the proposal is where the step starts)."""
    p = _readable_proposal(row, user)
    trigger = row.fields.get("trigger")
    return p is not None and reason_trigger(trigger) and trigger in steps(p, user)


TAKE_OVER: dict[str, Callable[[ParkedPost, object], bool]] = {
    "proposals.edit": _proposal_draft,
    "reviews.score": _review_draft,
    "proposals.answer": _answer,
    "awards.milestone_report": _milestone_report,
    "awards.report": _report,
    "awards.sign": _sign_off,
    "proposals.fire_trigger": _reasoned_step,
}


def may_take_over(user, row: ParkedPost) -> bool:
    """Whether the user may see the parked text and take it over (or send it with its form again)."""
    if not user.is_authenticated or (row.user_id is not None and row.user_id != user.id):
        return False
    check = TAKE_OVER.get(row.endpoint)
    return check is not None and check(row, user)

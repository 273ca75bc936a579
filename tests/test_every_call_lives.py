"""Every call of the demo that is open for applications goes through its whole life on PostgreSQL, from the
submission to the completed measure: the test names no call, office, field of action, criterion or attachment.
It reads them from the call (its deciding offices and their officials, its fields of action, its criteria,
its required attachments, its mode), so a call set up by another office with other terms lives the same way."""

from __future__ import annotations

import datetime as dt
import io

from appform.cases import valid_answers
from conftest import PDF
from sqlalchemy import select

from foerdercall.accounts.models import RoleGrant, User
from foerdercall.accounts.queries import officials
from foerdercall.appform.answers import check_answers, format_cents
from foerdercall.appform.plan import planned_milestones
from foerdercall.awards.models import Milestone
from foerdercall.awards.operations import (
    accept_milestone,
    make_award,
    report_milestone,
    review_interim_report,
    sign_off,
    submit_interim_report,
)
from foerdercall.calls.models import Call
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.demo import load_demo
from foerdercall.extensions import db
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import add_attachment, save_draft, start_draft
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.timeutil import minute_end
from foerdercall.workflow.engine import fire
from worker.sweep import sweep
from workflows import CallState, ProposalState


def _people(role: str) -> list[User]:
    return list(
        db.session.scalars(select(User).join(RoleGrant).where(RoleGrant.role == role).order_by(User.id))
    )


def _answers(call: Call) -> dict:
    """What a careful applicant enters: an answer to every question of the call's form (made from the question
    types, tests/appform/cases.py), the call's first field of action, half the cap."""
    definition = call.form_definition
    typed = valid_answers(definition)
    amount = definition.by_role("amount")
    if amount is not None:
        typed[amount.key] = format_cents(call.max_amount_cents // 2)
    checked = check_answers(definition, typed, complete=True, attachments=_attachment_counts(call))
    assert checked.errors == {}, checked.errors
    return {"answers": checked.answers}


def _attachment_counts(call: Call) -> dict[str, int]:
    return {q.key: 1 for q in call.form_definition.questions() if q.type == "attachment"}


def _live(call: Call, clock) -> Proposal:
    applicant = _people("applicant")[0]
    p = start_draft(call, applicant)
    save_draft(p, applicant, _answers(call))
    for kind in _attachment_counts(call):
        add_attachment(p, applicant, kind, io.BytesIO(PDF), f"{kind}.pdf")
    fire(p, "submit", applicant)
    db.session.commit()

    # the deadline passes: the worker closes the call
    clock.set(minute_end(call.submission_deadline) + dt.timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    assert call.state == CallState.CLOSED
    deciding = {office: officials(office) for office in call.deciding_offices}
    lead = deciding[call.deciding_offices[0]][0]
    if call.is_sealed:  # procurement: two officials open the sealed offers
        second = next(u for staff in deciding.values() for u in staff if u != lead)
        request_opening(call, lead)
        confirm_opening(call, second)
    fire(p, "declare_eligible", lead)
    reviewers = _people("reviewer")[: call.reviewers_per_proposal]
    for r in reviewers:
        sign_neutrality(call, r)
        assign_reviewer(p, r, lead)
    fire(p, "start_review", lead)
    for r in reviewers:
        declare_conflict(p, r, False)
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == r.id)
        )
        save_review(review, r, {c.id: (call.scale_max, "überzeugend") for c in call.criteria}, submit=True)
    db.session.commit()
    assert p.state == ProposalState.REVIEWED

    # one sign-off from each deciding office, each by another person; the last one approves
    signers = []
    for office, staff in deciding.items():
        signer = next(u for u in staff if u not in signers)
        assert p.state == ProposalState.REVIEWED, office
        sign_off(p, signer, "approve")
        signers.append(signer)
    db.session.commit()
    assert p.state == ProposalState.APPROVED
    make_award(p, lead)
    fire(p, "accept_award", applicant)
    db.session.commit()

    milestones = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all()
    planned = planned_milestones(call.form_definition, p.answers)
    if planned:  # the applicant's own plan became the milestones, with its shares
        assert [(m.title, m.share) for m in milestones] == [(r.title, r.share) for r in planned]
    else:
        assert [m.title.split(" / ")[0] for m in milestones] == [row["de"] for row in call.milestone_plan]
    for m in milestones:
        report_milestone(m, applicant, f"{m.title}: erreicht")
        accept_milestone(m, lead)
    report = submit_interim_report(p, applicant, "Zwischenstand", "Honorare", p.requested_amount_cents // 2)
    review_interim_report(report, lead, True)
    fire(
        p,
        "submit_final_report",
        applicant,
        narrative="Sachbericht",
        use_of_funds="Honorare",
        spent_cents=p.requested_amount_cents,
    )
    fire(p, "accept_final_report", signers[-1])
    db.session.commit()
    return p


def test_every_open_demo_call_lives_from_submission_to_completion(pg_app, clock):
    load_demo("foerdercall-demo")
    open_calls = db.session.scalars(
        select(Call).where(Call.state == CallState.PUBLISHED).order_by(Call.submission_deadline)
    ).all()
    # more than one, by more than the default offices, in both modes: the test is about any call
    assert len(open_calls) >= 2
    assert len({tuple(c.deciding_offices) for c in open_calls}) >= 2
    assert {c.mode for c in open_calls} == {"procurement", "grant"}
    for call in open_calls:
        p = _live(call, clock)
        assert p.state == ProposalState.COMPLETED, call.code
        assert call.committed_cents == p.requested_amount_cents

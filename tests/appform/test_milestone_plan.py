"""The applicant's milestone plan (issue 14, part 3): checked when the proposal is submitted (dates in the
implementation period, shares adding up to 100 %), and made the award's milestones when the award is accepted,
with their shares; a date the award came too late for moves by as long as the award took, and the audit says so."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from conftest import berlin, login
from sqlalchemy import select
from test_answers_everywhere import _youth_proposal

from foerdercall.awards.models import Milestone
from foerdercall.awards.operations import make_award, sign_off
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.models import AuditEvent
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.timeutil import end_of_day_berlin
from foerdercall.workflow.engine import fire
from workflows import ProposalState


def _row(title, due, share):
    return {"title": title, "due": due, "share": share}


def test_a_bad_plan_is_refused_at_submission_naming_each_row(app, world, clock):
    plan = [
        _row("Auftakt", "15.09.2026", "40"),
        _row("Werkschau", "30.11.2027", "50"),
        _row("Ende", "01.06.2027", "0"),
    ]
    call, p = _youth_proposal(world, clock, plan=plan, submit=False)
    with pytest.raises(ActionRefused) as refused:
        fire(p, "submit", world.applicant)
    message = refused.value.message
    period = "(31.10.2026 bis 31.10.2027)"
    assert (
        f"Meilensteine (daraus werden die Meilensteine der Förderung): Zeile 1: Das Datum muss im Umsetzungszeitraum liegen {period}."
        in message
    )
    assert "Zeile 2: Das Datum muss im Umsetzungszeitraum liegen" in message
    assert "Zeile 3: Der Anteil muss größer als 0 sein." in message
    assert "Die Anteile ergeben zusammen 90 %, nicht 100 %." in message
    db.session.rollback()


def test_the_plan_becomes_the_awards_milestones_with_their_shares(app, world, clock):
    plan = [_row("Werkschau", "15.06.2027", "60"), _row("Auftakt", "15.11.2026", "40")]
    call, p = _youth_proposal(world, clock, plan=plan)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(call, "close", None)
    if call.is_sealed:
        from foerdercall.calls.operations import confirm_opening, request_opening

        request_opening(call, world.ka)
        confirm_opening(call, world.afw)
    fire(p, "declare_eligible", world.ka)
    for r in (world.rev1, world.rev2):
        sign_neutrality(call, r)
        assign_reviewer(p, r, world.ka)
    fire(p, "start_review", world.ka)
    for r in (world.rev1, world.rev2):
        declare_conflict(p, r, False)
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == r.id)
        )
        save_review(review, r, {c.id: (call.scale_max, "überzeugend") for c in call.criteria}, submit=True)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    assert p.state == ProposalState.APPROVED
    clock.set(berlin(2026, 12, 1, 10, 0))  # the award comes after the planned kick-off
    make_award(p, world.ka)
    fire(p, "accept_award", world.applicant)
    db.session.commit()

    milestones = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all()
    assert [(m.title, m.share) for m in milestones] == [
        ("Auftakt", Decimal("40")),
        ("Werkschau", Decimal("60")),
    ]
    # the kick-off lay before the award: it moves by the month from the deadline to the acceptance
    assert milestones[0].due_at == end_of_day_berlin(dt.date(2026, 11, 15) + dt.timedelta(days=31))
    assert milestones[1].due_at == end_of_day_berlin(dt.date(2027, 6, 15))  # kept
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "accept_award")).one()
    assert event.data["milestones_moved"] == [
        {"title": "Auftakt", "planned": "2026-11-15", "due": milestones[0].due_at.isoformat()}
    ]

    client = app.test_client()
    login(client, world.applicant.email)
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Anteil" in page and "60 %" in page and "40 %" in page

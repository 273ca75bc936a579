"""Assigning reviewers: by hand, automatically for a whole call (a set number per proposal, balanced load,
never a conflicted reviewer or the applicant, optionally one reviewer from each office), declining with a
reason (the officials are told), and reassignment when a reviewer drops out."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from assign_helpers import opened, reviewers, submitted
from conftest import PASSWORD, login
from sqlalchemy import select

from foerdercall.accounts.operations import create_user
from foerdercall.audit.models import AuditEvent
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import Proposal
from foerdercall.reviews.models import ConflictDeclaration, Review, ReviewDecline
from foerdercall.reviews.operations import (
    assign_reviewer,
    auto_assign,
    declare_conflict,
    decline_review,
    replace_reviewer,
    sign_neutrality,
)


def reviews_of(p) -> list[int]:
    return sorted(db.session.scalars(select(Review.reviewer_id).where(Review.proposal_id == p.id)))


def loads(pool) -> dict[int, int]:
    counts = Counter(db.session.scalars(select(Review.reviewer_id)))
    return {u.id: counts.get(u.id, 0) for u in pool}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_auto_assignment_never_picks_a_conflicted_reviewer_or_the_applicant_and_balances_load(
    app, world, clock, seed
):
    rng = random.Random(seed)
    # a reviewer who also applies: never reviews their own offer
    both = create_user("doppel@x.test", "Dora Doppelrolle", PASSWORD, roles=("reviewer", "applicant"))
    pool = [world.rev1, world.rev2, both] + reviewers([(f"Prüfer{i}", None, "de") for i in range(4)])
    ps = submitted(world, 10)
    own = submitted(world, 1, applicant=both, titles=["Doras Angebot"])
    ps += own
    opened(world, clock, ps)
    conflicts = set()
    for p in ps:
        for u in rng.sample(pool, 2):
            if u.id == p.applicant_id:
                continue
            sign_neutrality(world.call, u)
            declare_conflict(p, u, True, "Geschäftsbeziehung")
            conflicts.add((p.id, u.id))
    world.call.reviewers_per_proposal = 3
    db.session.commit()

    plan = auto_assign(world.call, world.ka)
    db.session.commit()

    assert not plan.short
    for p in ps:
        assigned = reviews_of(p)
        assert len(assigned) == 3, p.file_number
        assert p.applicant_id not in assigned
        assert not {(p.id, r) for r in assigned} & conflicts
        assert db.session.get(Proposal, p.id).state == "in_review"
    counts = loads(pool)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert sum(counts.values()) == 3 * len(ps)
    # the reviewers are told, once per assignment; the audit trail names who assigned whom, and how
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "review_assigned")).all()
    assert len(mails) == 3 * len(ps)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assign_reviewer")).all()
    assert len(events) == 3 * len(ps) and {e.data["how"] for e in events} == {"auto"}
    assert {e.actor_id for e in events} == {world.ka.id}
    summary = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auto_assign")).one()
    assert summary.data["assigned"] == 3 * len(ps)

    # a second run finds nothing to do and records nothing
    assert auto_assign(world.call, world.ka).assignments == {}
    db.session.commit()
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auto_assign")).all()) == 1


def test_too_few_eligible_reviewers_are_reported(app, world, clock):
    ps = submitted(world, 2)
    opened(world, clock, ps)
    sign_neutrality(world.call, world.rev2)
    declare_conflict(ps[0], world.rev2, True, "befreundet")
    world.call.reviewers_per_proposal = 2
    db.session.commit()
    plan = auto_assign(world.call, world.ka)
    db.session.commit()
    assert plan.short == {ps[0].id: 1}
    assert reviews_of(ps[0]) == [world.rev1.id]
    assert reviews_of(ps[1]) == sorted([world.rev1.id, world.rev2.id])


def test_at_least_one_reviewer_from_each_office(app, world, clock):
    pool = reviewers(
        [("Kati", "KA", "de"), ("Kurt", "KA", "de"), ("Anja", "AfWiFoe", "de"), ("Arne", "AfWiFoe", "de")]
    )
    ps = submitted(world, 6)
    opened(world, clock, ps)
    world.call.reviewers_per_proposal = 2
    world.call.reviewer_from_each_office = True
    db.session.commit()
    plan = auto_assign(world.call, world.ka)
    db.session.commit()
    assert not plan.office_missing
    by_id = {u.id: u for u in [*pool, world.rev1, world.rev2]}
    for p in ps:
        offices = sorted(by_id[r].office or "-" for r in reviews_of(p))
        assert offices == ["AfWiFoe", "KA"], p.file_number
    # balanced within each office
    counts = loads(pool)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_decline_tells_the_officials_and_the_reviewer_is_never_picked_again(app, world, clock):
    world.afw.locale = "en"
    ps = submitted(world, 1)
    opened(world, clock, ps)
    p = ps[0]
    review = assign_reviewer(p, world.rev1, world.ka)
    db.session.commit()

    with pytest.raises(ActionRefused) as exc:
        decline_review(review, world.rev2, "workload")
    assert exc.value.message == "Dieses Gutachten ist nicht Ihres."
    db.session.rollback()
    with pytest.raises(ActionRefused) as exc:
        decline_review(review, world.rev1, "conflict", "  ")
    assert exc.value.message == "Bitte nennen Sie den Grund."
    db.session.rollback()

    decline_review(review, world.rev1, "conflict", "Ich habe die Antragstellerin beraten.")
    db.session.commit()
    assert reviews_of(p) == []
    decline = db.session.scalars(select(ReviewDecline)).one()
    assert (decline.reviewer_id, decline.kind, decline.reassigned_at) == (world.rev1.id, "conflict", None)
    # a declined conflict counts as a declared one: the reviewer no longer sees the proposal
    conflict = db.session.scalars(
        select(ConflictDeclaration).where(ConflictDeclaration.user_id == world.rev1.id)
    ).one()
    assert conflict.has_conflict
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "decline_review")).one()
    assert (ev.actor_id, ev.reason, ev.data["kind"]) == (
        world.rev1.id,
        "Ich habe die Antragstellerin beraten.",
        "conflict",
    )
    mails = {
        m.recipient_id: m
        for m in db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "review_declined"))
    }
    assert set(mails) == {world.ka.id, world.ka2.id, world.afw.id}
    assert mails[world.ka.id].subject == f"Gutachten abgelehnt: {p.file_number}"
    assert "Rita Reviewer hat die Begutachtung" in mails[world.ka.id].body
    assert "(Interessenkonflikt): Ich habe die Antragstellerin beraten." in mails[world.ka.id].body
    assert mails[world.afw.id].subject == f"Review declined: {p.file_number}"
    assert "(conflict of interest)" in mails[world.afw.id].body

    # by hand: refused for the decliner; automatically: someone else, and the decline counts as reassigned
    with pytest.raises(ActionRefused):
        assign_reviewer(p, world.rev1, world.ka)
    db.session.rollback()
    world.call.reviewers_per_proposal = 1
    auto_assign(world.call, world.ka)
    db.session.commit()
    assert reviews_of(p) == [world.rev2.id]
    assert db.session.get(ReviewDecline, decline.id).reassigned_at is not None


def test_a_reviewer_who_drops_out_is_replaced(app, world, clock):
    extra = reviewers([("Resi", None, "de")])[0]
    ps = submitted(world, 1)
    opened(world, clock, ps)
    p = ps[0]
    assign_reviewer(p, world.rev1, world.ka)
    r2 = assign_reviewer(p, world.rev2, world.ka)
    from foerdercall.workflow.engine import fire

    fire(p, "start_review", world.ka)
    db.session.commit()
    with pytest.raises(ActionRefused) as exc:
        replace_reviewer(r2, world.ka, "")
    assert exc.value.message == "Bitte geben Sie eine Begründung an."
    db.session.rollback()

    new = replace_reviewer(db.session.get(Review, r2.id), world.ka, "langfristig erkrankt")
    db.session.commit()
    assert new.reviewer_id == extra.id  # the only eligible one left
    assert reviews_of(p) == sorted([world.rev1.id, extra.id])
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "withdraw_assignment")).one()
    assert (ev.reason, ev.data["reviewer"]) == ("langfristig erkrankt", world.rev2.name)
    # already in review: the new reviewer is told at once
    assert (
        db.session.scalar(
            select(OutboxMail).where(
                OutboxMail.kind == "review_assigned", OutboxMail.recipient_id == extra.id
            )
        )
        is not None
    )


def test_decline_and_assignments_over_http(app, world, clock):
    world.call.reviewers_per_proposal = 2
    ps = submitted(world, 3)
    opened(world, clock, ps)
    db.session.commit()
    official = app.test_client()
    login(official, "ka@x.test")
    page = official.get(f"/calls/{world.call.id}/assignments").get_data(as_text=True)
    assert "Gutachter/innen automatisch zuweisen" in page
    resp = official.post(f"/calls/{world.call.id}/assignments/auto", data={}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "4 Zuweisungen für 2 Angebote." in page or "6 Zuweisungen für 3 Angebote." in page
    db.session.expire_all()
    review = db.session.scalar(select(Review).where(Review.reviewer_id == world.rev1.id))

    reviewer = app.test_client()
    login(reviewer, "rev1@x.test")
    assert "Begutachtung ablehnen" in reviewer.get("/reviews").get_data(as_text=True)
    resp = reviewer.post(f"/reviews/{review.id}/decline", data={"kind": "workload", "reason": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Review, review.id) is None
    page = official.get(f"/calls/{world.call.id}/assignments").get_data(as_text=True)
    assert "Arbeitsbelastung" in page and "neu zuzuweisen" in page

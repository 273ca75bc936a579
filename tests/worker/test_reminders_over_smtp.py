"""Every reminder of DOMAIN.md, from the sweep to the SMTP server, exactly once: a call walked through its whole
year with the clock, the sweep run twice at every step (as two schedulers would), and two real `foerdercall
worker` processes delivering to the SMTP sink on loopback. Counted at the end: each reminder's key arrived once.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD, berlin, fill_draft, publish
from sqlalchemy import func, select

from foerdercall.accounts.operations import create_user
from foerdercall.awards.operations import make_award, sign_off
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.operations import start_draft
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire
from worker.sweep import sweep

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

REMINDER_KINDS = {
    "draft_reminder",
    "review_reminder",
    "signoff_reminder",
    "signoff_escalation",
    "milestone_reminder",
    "milestone_overdue",
    "implementation_ending",
    "report_overdue",
}


def test_every_reminder_of_a_year_arrives_once_over_smtp(stack, world, clock):
    w = world
    head = create_user(
        "leitung@x.test", "Lena Leitung", PASSWORD, roles=("official",), office="KA", head_of_office=True
    )
    call = create_call(
        w.ka,
        code="REM26",
        title="Erinnerungen 2026",
        fields_of_action=["networks"],
        budget_cents=60_000_00,
        max_amount_cents=20_000_00,
        estimated_value_cents=60_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 10, 31, 23, 59),
        review_deadline=berlin(2026, 11, 20, 23, 59),
        reviewers_per_proposal=1,  # one review completes a proposal (a second one, assigned, is waited for)
    )
    publish(call, w.ka)
    funded = fill_draft(start_draft(call, w.applicant), w.applicant, title="Gefördert")
    waiting = fill_draft(start_draft(call, w.applicant2), w.applicant2, title="Wartet auf Zeichnung")
    late = start_draft(call, create_user("spaet@x.test", "Sina Spät", PASSWORD))  # never submitted
    db.session.commit()

    def sweeps(at: dt.datetime) -> None:
        clock.set(at)
        sweep()  # hands what it queued to Redis after each commit
        sweep()  # a second scheduler, a minute later or at once: nothing twice
        db.session.commit()

    sweeps(berlin(2026, 10, 25, 9, 0))  # 7 days before the deadline: three drafts reminded
    fire(funded, "submit", w.applicant)
    fire(waiting, "submit", w.applicant2)
    db.session.commit()
    sweeps(berlin(2026, 10, 31, 9, 0))  # 1 day before: only the draft never submitted

    clock.set(berlin(2026, 11, 2, 9, 0))  # after the deadline: opening, formal check, reviews
    fire(call, "close", None)
    request_opening(call, w.ka)
    confirm_opening(call, w.afw)
    for p in (funded, waiting):
        fire(p, "declare_eligible", w.ka)
    sign_neutrality(call, w.rev1)
    sign_neutrality(call, w.rev2)
    reviews = {p.id: assign_reviewer(p, w.rev1, w.ka) for p in (funded, waiting)}
    open_review = assign_reviewer(funded, w.rev2, w.ka)  # not submitted before the review deadline
    for p in (funded, waiting):
        fire(p, "start_review", w.ka)
        declare_conflict(p, w.rev1, False)
        save_review(reviews[p.id], w.rev1, {c.id: (4, "überzeugend") for c in call.criteria}, submit=True)
    db.session.commit()
    sweeps(berlin(2026, 11, 18, 9, 0))  # the open review is reminded before the review deadline
    declare_conflict(funded, w.rev2, False)
    save_review(open_review, w.rev2, {c.id: (3, "solide") for c in call.criteria}, submit=True)
    sign_off(funded, w.ka, "approve")
    sign_off(funded, w.afw, "approve")
    make_award(funded, w.ka)
    db.session.commit()
    fire(funded, "accept_award", w.applicant)
    db.session.commit()

    # then the year: a sweep every third day at noon (the other proposal waits for its sign-offs meanwhile)
    day = berlin(2026, 11, 21, 12, 0)
    while day < berlin(2027, 12, 15, 12, 0):
        sweeps(day)
        day += dt.timedelta(days=3)

    kinds = dict(
        db.session.execute(
            select(OutboxMail.kind, func.count())
            .where(OutboxMail.kind.in_(REMINDER_KINDS))
            .group_by(OutboxMail.kind)
        ).all()
    )
    assert set(kinds) == REMINDER_KINDS, kinds  # every kind of reminder was due at least once
    assert kinds["signoff_escalation"] >= 1 and head.id in set(
        db.session.scalars(select(OutboxMail.recipient_id).where(OutboxMail.kind == "signoff_escalation"))
    )
    total = db.session.scalar(select(func.count()).select_from(OutboxMail))

    stack.start_workers()
    stack.assert_each_delivered_once(total)
    received = set(stack.sink.keys())
    assert {k for k in received if k.split(":", 1)[0] in REMINDER_KINDS} == set(
        db.session.scalars(select(OutboxMail.dedup_key).where(OutboxMail.kind.in_(REMINDER_KINDS)))
    )
    # the drafts: the one never submitted was reminded 7 days and 1 day before, the two submitted in between
    # only at 7 days; each reminder once
    drafts = dict(
        db.session.execute(
            select(OutboxMail.proposal_id, func.count())
            .where(OutboxMail.kind == "draft_reminder")
            .group_by(OutboxMail.proposal_id)
        ).all()
    )
    assert drafts == {late.id: 2, funded.id: 1, waiting.id: 1}

"""Periods set in days follow German deadline rules (§§ 187, 188, 193 BGB; § 31 VwVfG): a period that would
end on a Saturday, Sunday or public holiday in Saxony ends at the end of the next working day (23:59 Leipzig).
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import berlin, fill_draft
from sqlalchemy import select

from foerdercall.awards.models import Award
from foerdercall.awards.operations import make_award, sign_off
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.proposals.models import Clarification
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.timeutil import is_working_day, next_working_day, period_end
from foerdercall.workflow.engine import fire
from worker.sweep import sweep

UTC = dt.UTC
D = dt.date


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 11, 18), D(2026, 11, 19)),  # Buß- und Bettag: a holiday in Saxony only
        (D(2025, 10, 31), D(2025, 11, 3)),  # Reformationstag (Friday) → Monday
        (D(2028, 10, 31), D(2028, 11, 1)),  # Reformationstag (Tuesday) → 1.11., not a holiday in Saxony
        (D(2026, 12, 24), D(2026, 12, 24)),  # Christmas Eve is a working day
        (D(2026, 12, 25), D(2026, 12, 28)),  # 1st and 2nd Christmas day, Sunday
        (D(2026, 12, 31), D(2026, 12, 31)),
        (D(2027, 1, 1), D(2027, 1, 4)),  # New Year (Friday) and the weekend
        (D(2026, 11, 7), D(2026, 11, 9)),  # Saturday → Monday
        (D(2026, 11, 8), D(2026, 11, 9)),  # Sunday → Monday
        (D(2026, 11, 9), D(2026, 11, 9)),  # a Monday stays
        (D(2026, 10, 3), D(2026, 10, 5)),  # Tag der Deutschen Einheit (Saturday)
        (D(2026, 4, 3), D(2026, 4, 7)),  # Good Friday, weekend, Easter Monday
    ],
)
def test_next_working_day_in_saxony(day, expected):
    assert next_working_day(day) == expected
    assert is_working_day(expected)


@pytest.mark.parametrize(
    ("start", "days", "end_utc"),
    [
        # 4.11. + 14 days = Wednesday 18.11. (Buß- und Bettag) → Thursday 19.11., 23:59 CET
        (berlin(2026, 11, 4, 10, 0), 14, dt.datetime(2026, 11, 19, 22, 59, tzinfo=UTC)),
        # 17.10. + 14 = Saturday 31.10. (also Reformationstag) → Monday 2.11.; the period crosses the clock change
        (berlin(2026, 10, 17, 10, 0), 14, dt.datetime(2026, 11, 2, 22, 59, tzinfo=UTC)),
        # 27.11. + 28 = 25.12. → Monday 28.12.
        (berlin(2026, 11, 27, 16, 0), 28, dt.datetime(2026, 12, 28, 22, 59, tzinfo=UTC)),
        # 18.12. + 14 = 1.1.2027 → Monday 4.1.2027
        (berlin(2026, 12, 18, 8, 0), 14, dt.datetime(2027, 1, 4, 22, 59, tzinfo=UTC)),
        # a period ending on the Sunday of the autumn clock change ends on Monday, 23:59 CET
        (berlin(2026, 10, 11, 12, 0), 14, dt.datetime(2026, 10, 26, 22, 59, tzinfo=UTC)),
        # ... and of the spring clock change: Monday 30.3.2026, 23:59 CEST
        (berlin(2026, 3, 15, 12, 0), 14, dt.datetime(2026, 3, 30, 21, 59, tzinfo=UTC)),
        # a working day stays; the day counts in Leipzig (00:30 on 4.11. is still 3.11. in UTC)
        (berlin(2026, 11, 4, 0, 30), 8, dt.datetime(2026, 11, 12, 22, 59, tzinfo=UTC)),
    ],
)
def test_period_end(start, days, end_utc):
    assert period_end(start, days) == end_utc


# --- the due dates of the flows ------------------------------------------------------------------------------


def _submitted_and_opened(world, clock, title="Netzwerk Plagwitz"):
    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant, title=title)
    submit(p, world.applicant)
    db.session.commit()
    clock.set(berlin(2026, 11, 2, 9, 0))
    sweep()  # the call closes at its deadline
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    db.session.commit()
    return p


def test_clarification_due_date_moves_past_buss_und_bettag(app, world, clock):
    p = _submitted_and_opened(world, clock)
    clock.set(berlin(2026, 11, 4, 10, 0))  # 14 days end on Wednesday 18.11.2026, Buß- und Bettag
    fire(p, "request_documents", world.ka, reason="Bitte die Eigenerklärungen unterschrieben nachreichen.")
    db.session.commit()
    due = db.session.scalar(select(Clarification.due_at).where(Clarification.proposal_id == p.id))
    assert due == berlin(2026, 11, 19, 23, 59)
    # the applicant may still answer on the holiday and the day after, until 23:59:59
    assert sweep(berlin(2026, 11, 19, 23, 59, 59))["requests_lapsed"] == 0
    assert sweep(berlin(2026, 11, 20, 0, 0))["requests_lapsed"] == 1


def test_award_acceptance_date_moves_past_christmas(app, world, clock):
    p = _submitted_and_opened(world, clock)
    fire(p, "declare_eligible", world.ka)
    for rev in (world.rev1, world.rev2):
        assign_reviewer(p, rev, world.ka)
    fire(p, "start_review", world.ka)
    for rev in (world.rev1, world.rev2):
        sign_neutrality(p.call, rev)
        declare_conflict(p, rev, False)
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == rev.id)
        )
        save_review(review, rev, {c.id: (4, "nachvollziehbar") for c in p.call.criteria}, submit=True)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    db.session.commit()
    clock.set(berlin(2026, 11, 27, 16, 0))  # 28 days end on Friday 25.12.2026
    make_award(p, world.ka)
    db.session.commit()
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    assert award.accept_by == berlin(2026, 12, 28, 23, 59)
    assert sweep(berlin(2026, 12, 28, 23, 59, 59))["awards_lapsed"] == 0
    assert sweep(berlin(2026, 12, 29, 0, 0))["awards_lapsed"] == 1

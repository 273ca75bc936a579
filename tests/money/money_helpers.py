"""A measure of the demo youth call's form (a grant with a cost plan and a milestone plan), awarded and accepted,
through the operations."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import berlin
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "appform"))
from test_answers_everywhere import _youth_proposal  # noqa: E402

from foerdercall.awards.operations import make_award, sign_off  # noqa: E402
from foerdercall.calls.operations import confirm_opening, request_opening  # noqa: E402
from foerdercall.extensions import db  # noqa: E402
from foerdercall.reviews.models import Review  # noqa: E402
from foerdercall.reviews.operations import (  # noqa: E402
    assign_reviewer,
    declare_conflict,
    save_review,
    sign_neutrality,
)
from foerdercall.workflow.engine import fire  # noqa: E402


def youth_measure(world, clock, plan=None):
    """(call, proposal): the youth call's proposal (5.000 €, its cost plan "Honorare Workshopleitung" 3.000 €),
    reviewed by two, approved by both offices, awarded and accepted."""
    call, p = _youth_proposal(world, clock, plan=plan)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(call, "close", None)
    if call.is_sealed:
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
        save_review(review, r, {c.id: (call.scale_max, "gut") for c in call.criteria}, submit=True)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    make_award(p, world.ka)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    return call, p

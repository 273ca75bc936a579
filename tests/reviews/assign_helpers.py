"""Building calls with many proposals and reviewers through the operations (tests of reviews/ranking)."""

from __future__ import annotations

from conftest import PASSWORD, berlin, fill_draft

from foerdercall.accounts.operations import create_user
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire


def reviewers(specs) -> list:
    """specs: [(name, office or None, locale)] -> reviewers (e-mail from the name)."""
    return [
        create_user(
            f"{name.lower()}.rev@x.test", name, PASSWORD, roles=("reviewer",), office=office, locale=locale
        )
        for name, office, locale in specs
    ]


def submitted(world, n: int, amounts=None, applicant=None, titles=None) -> list:
    ps = []
    for i in range(n):
        who = applicant or world.applicant
        p = start_draft(world.call, who)
        fill_draft(
            p,
            who,
            amount=(amounts[i] if amounts else 10_000_00),
            title=(titles[i] if titles else f"Maßnahme {i + 1}"),
        )
        submit(p, who)
        ps.append(p)
    db.session.commit()
    return ps


def opened(world, clock, ps, eligible=True):
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    if eligible:
        for p in ps:
            fire(p, "declare_eligible", world.ka)
    db.session.commit()


def score(p, reviewer, values, text="Begründet"):
    """The reviewer (assigned) declares neutrality and no conflict and submits `values` in catalogue order."""
    sign_neutrality(p.call, reviewer)
    declare_conflict(p, reviewer, False)
    review = db.session.query(Review).filter_by(proposal_id=p.id, reviewer_id=reviewer.id).one()
    save_review(
        review,
        reviewer,
        {c.id: (v, f"{text}: {c.key}") for c, v in zip(p.call.criteria, values, strict=True)},
        submit=True,
    )
    db.session.commit()
    return review


def reviewed(world, clock, n=4, amount=5_000_00):
    """n proposals of `amount` each, opened, reviewed by rev1 with different scores (state 'reviewed')."""
    from foerdercall.reviews.operations import assign_reviewer

    ps = submitted(world, n, amounts=[amount] * n)
    opened(world, clock, ps)
    for p in ps:
        assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    for i, p in enumerate(ps):
        score(p, world.rev1, [5 - i % 3] * 6)
    return ps

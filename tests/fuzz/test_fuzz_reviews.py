"""The reviewing and decision forms fuzzed (tests/test_fuzz_forms.py): neutrality, conflict declaration,
scores per criterion with justifications, declining, assigning and replacing reviewers (ids posted in the
form), automatic assignment; the sign-offs of both offices (one by one and on the decision page), objections
in the standstill, the award. Never a 500; a refused form changes no row."""

from __future__ import annotations

from conftest import login
from hypothesis import strategies as st
from sqlalchemy import select
from test_fuzz_forms import VALUE, fields, fuzz, opened, post, show

from foerdercall.extensions import db
from foerdercall.ranking.models import TieBreak
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire

ID_VALUES = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    "2147483647",
    "2147483648",
    "9223372036854775808",
    "1e3",
    "0x10",
    "²",
    "٣",
]


def _ids(world):
    users = [world.rev1, world.rev2, world.ka, world.applicant, world.admin]
    return st.sampled_from([str(u.id) for u in users] + ID_VALUES)


def test_the_reviewer_forms(app, world, clock, backend):
    """Neutrality, conflict, scores (submit or save), decline; the official's assign, replace and automatic
    assignment with posted reviewer ids, and an official's declared conflict."""
    from foerdercall.reviews.models import Review

    p, q = opened(world, clock)
    sign_neutrality(world.call, world.rev1)
    review = assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, world.rev1, False)
    db.session.commit()
    criteria = [c.id for c in world.call.criteria]
    score = st.one_of(
        st.sampled_from(["", "na", "0", "3", "5", "6", "10", "²", "٣", "-1", "99999999999999999999"]), VALUE
    )
    names = [f"score_{c}" for c in criteria] + [f"justification_{c}" for c in criteria]
    strategy = fields(
        "confirm",
        "has_conflict",
        "reason",
        "kind",
        "action",
        "reviewer",
        "start",
        "next",
        *names,
        reviewer=_ids(world),
        action=st.sampled_from(["submit", "save"]),
        has_conflict=st.sampled_from(["no", "yes"]),
        kind=st.sampled_from(["conflict", "workload"]),
        **{f"score_{c}": score for c in criteria},
    )
    rev1, rev2, ka, afw = app.test_client(), app.test_client(), app.test_client(), app.test_client()
    login(rev1, world.rev1.email)
    login(rev2, world.rev2.email)
    login(ka, world.ka.email)
    login(afw, world.afw.email)

    def body(data):
        post(rev2, f"/calls/{world.call.id}/neutrality", data)
        post(
            rev1, f"/reviews/{review.id}", data, saves_on_error=True
        )  # scores kept while it asks for the rest
        post(ka, f"/proposals/{q.id}/assign", data)
        post(ka, f"/reviews/{review.id}/replace", data)
        post(ka, f"/calls/{world.call.id}/assignments/auto", data)
        for r in db.session.scalars(
            db.select(Review).where(Review.reviewer_id == world.rev2.id).order_by(Review.id.desc()).limit(1)
        ):  # rev2's newest assignment
            post(rev2, f"/reviews/{r.id}/conflict", data)
            post(rev2, f"/reviews/{r.id}", data, saves_on_error=True)
            post(rev2, f"/reviews/{r.id}/decline", data)
        post(afw, f"/proposals/{p.id}/conflict", data)  # an official's conflict (then p is hidden from them)
        show(rev1, f"/reviews/{review.id}")
        show(ka, f"/calls/{world.call.id}/assignments", f"/proposals/{q.id}")

    # each was a 500 before forms/reviews.py read it (str.isdigit() takes "²", int() does not)
    # the way through first (rev2 assigned to q, neutral, no conflict, scores), then the fuzzing
    full = {f"score_{c}": "4" for c in criteria} | {f"justification_{c}": "gut" for c in criteria}
    fuzz(
        backend,
        strategy,
        body,
        explicit=(
            {"reviewer": str(world.rev2.id), "start": "1", "confirm": "y", "has_conflict": "no"},
            {"reviewer": "²"},
            {"reviewer": "2147483648"},
            {f"score_{criteria[0]}": "²", "action": "submit"},
            full | {"action": "save", "has_conflict": "no"},
            full | {"action": "submit", "has_conflict": "no"},
        ),
    )


def test_the_decision_forms(app, world, clock, backend):
    """Both offices' sign-offs (single and on the decision page with posted proposal ids), an objection in the
    standstill and its resolution, the award with an amount; a tie's order proposed (every proposal here scores
    the same), agreed or refused."""
    ps = opened(world, clock)
    sign_neutrality(world.call, world.rev1)
    for p in ps:
        review = assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
        declare_conflict(p, world.rev1, False)
        save_review(review, world.rev1, {c.id: (4, "überzeugend") for c in world.call.criteria}, submit=True)
    db.session.commit()
    ka, afw = app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(afw, world.afw.email)
    ids = st.sampled_from([str(p.id) for p in ps] + ID_VALUES)
    strategy = fields(
        "decision",
        "reason",
        "proposal",
        "resolve",
        "outcome",
        "amount",
        "members",
        "places-0",
        "places-1",
        "action",
        decision=st.sampled_from(["approve", "reject"]),
        proposal=st.lists(ids, max_size=4),
        members=st.one_of(st.just(",".join(str(p.id) for p in ps)), ids, VALUE),
        action=st.sampled_from(["", "lot", "decide"]),
        **{"places-0": ids, "places-1": ids},
        outcome=st.sampled_from(["upheld", "dismissed"]),
        resolve=st.sampled_from(["1", ""]),
    )

    def body(data):
        post(ka, f"/proposals/{ps[0].id}/sign-off", data)
        post(afw, f"/calls/{world.call.id}/decision", data)
        for p in ps:
            post(ka, f"/proposals/{p.id}/objection", data)
            post(ka, f"/proposals/{p.id}/award", data)
        post(ka, f"/calls/{world.call.id}/ties", data)
        post(ka, f"/calls/{world.call.id}/bulk/award", data)
        for tie_id in db.session.scalars(select(TieBreak.id)).all():
            post(afw, f"/ties/{tie_id}/agree", data)
            post(afw, f"/ties/{tie_id}/refuse", data)
        show(
            ka,
            f"/calls/{world.call.id}/decision",
            f"/calls/{world.call.id}/ranking",
            f"/proposals/{ps[0].id}",
        )

    # "²" was a 500 before forms/calls.py read the checkboxes (str.isdigit() takes it, int() does not)
    fuzz(
        backend,
        strategy,
        body,
        explicit=(
            {"decision": "approve", "proposal": ["²"]},
            {"decision": "approve", "proposal": ["2147483648", "9223372036854775808"]},
            # both offices approve p: the objection and award forms have work
            {
                "decision": "approve",
                "proposal": [str(p.id) for p in ps],
                "amount": "60.000,00",
                "reason": "Einwand",
            },
            {"decision": "approve", "amount": "10.000,00"},
        ),
    )

"""Scoring: the aggregation of DOMAIN.md against hand-computed values, and the rules of a review.

Total = Σ weight × (mean score of the criterion ÷ 5) × 100 with the default catalogue (weights 20, 20,
20 (feasibility, knock-out below 2), 15, 10, 15 %); "not applicable" is left out of the mean; a criterion
nobody could score leaves the total and the other weights are renormalised; fundable from 50 points.
"""

from __future__ import annotations

import pytest
from conftest import berlin, fill_draft, login
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.policy.reading import can_view_proposal, reviewer_may_read
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.reviews.models import ConflictDeclaration, Review
from foerdercall.reviews.operations import (
    assign_reviewer,
    declare_conflict,
    save_review,
    score_proposal,
    sign_neutrality,
)
from foerdercall.workflow.engine import fire

KEYS = ("innovation", "economic_effect", "feasibility", "networking", "city_effect", "costs")


def in_review(world, clock, reviewers=("rev1", "rev2")):
    """A submitted, opened, eligible proposal in review with the given reviewers assigned."""
    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    submit(p, world.applicant)
    db.session.commit()
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "declare_eligible", world.ka)
    reviews = [assign_reviewer(p, getattr(world, key), world.ka) for key in reviewers]
    fire(p, "start_review", world.ka)
    db.session.commit()
    return p, reviews


def ready(p, reviewer):
    """Neutrality for the call, no conflict with the proposal."""
    sign_neutrality(p.call, reviewer)
    declare_conflict(p, reviewer, False)
    db.session.commit()


def scores_of(p, values, justification="Begründet"):
    assert [c.key for c in p.call.criteria] == list(KEYS)
    return {c.id: (v, f"{justification}: {c.key}") for c, v in zip(p.call.criteria, values, strict=True)}


def submit_review(p, review, reviewer, values):
    save_review(review, reviewer, scores_of(p, values), submit=True)
    db.session.commit()


def refused(fn, *args, **kw) -> str:
    with pytest.raises(ActionRefused) as exc:
        fn(*args, **kw)
    db.session.rollback()
    return exc.value.message


# --- aggregation ------------------------------------------------------------------------------------------

# (rev1 scores, rev2 scores, means, total, knocked out, fundable); None = "not applicable".
# Criteria order: innovation 20, economic effect 20, feasibility 20 (k.o. < 2), networking 15,
# city effect 10, costs 15.
CASES = {
    # .2*3/5 + .2*3/5 + .2*4.5/5 + .15*3/5 + .1*2/5 + .15*4.5/5 = .12+.12+.18+.09+.04+.135 = 68.5
    "plain": ([4, 3, 5, 2, 1, 4], [2, 3, 4, 4, 3, 5], [3, 3, 4.5, 3, 2, 4.5], 68.5, False, True),
    # networking: only rev2's 4 counts (mean 4, not 2): .16+.16+.12+.12+.06+.12 = 74 (68 if N/A were 0)
    "one_not_applicable": ([5, 4, 3, None, 2, 3], [3, 4, 3, 4, 4, 5], [4, 4, 3, 4, 3, 4], 74.0, False, True),
    # city effect N/A for everyone: (20*5/5 + 20*4/5 + 20*3/5 + 15*3/5 + 15*3/5) / 90 = 66/90 -> 73.33
    # (66 without renormalising)
    "all_not_applicable": (
        [5, 4, 3, 2, None, 4],
        [5, 4, 3, 4, None, 2],
        [5, 4, 3, 3, None, 3],
        73.33,
        False,
        True,
    ),
    # feasibility 1.5 < 2: knocked out although the total is high: .2+.2+.06+.15+.1+.15 = 86
    "knock_out": ([5, 5, 1, 5, 5, 5], [5, 5, 2, 5, 5, 5], [5, 5, 1.5, 5, 5, 5], 86.0, True, False),
    # feasibility exactly 2 is not below 2: .2+.2+.08+.15+.1+.15 = 88
    "knock_out_boundary": ([5, 5, 1, 5, 5, 5], [5, 5, 3, 5, 5, 5], [5, 5, 2, 5, 5, 5], 88.0, False, True),
    # every mean 2.5: exactly the minimum of 50 points, fundable
    "minimum_reached": ([2] * 6, [3] * 6, [2.5] * 6, 50.0, False, True),
    # costs 2, all else 2.5: 50 - .15*.5/5*100 = 48.5, below the minimum
    "below_minimum": ([2] * 6, [3, 3, 3, 3, 3, 2], [2.5, 2.5, 2.5, 2.5, 2.5, 2], 48.5, False, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_total_matches_hand_computed_value(app, world, clock, case):
    values1, values2, means, total, knocked, fundable = CASES[case]
    p, (r1, r2) = in_review(world, clock)
    for reviewer, review, values in ((world.rev1, r1, values1), (world.rev2, r2, values2)):
        ready(p, reviewer)
        submit_review(p, review, reviewer, values)

    result = score_proposal(p)
    assert result.reviews == 2
    assert [c.mean for c in result.criteria] == pytest.approx(means)
    assert result.total == pytest.approx(total, abs=0.005)
    assert result.knocked_out is knocked
    assert result.fundable is fundable
    assert [c.knocked_out for c in result.criteria] == [
        knocked if k == "feasibility" else False for k in KEYS
    ]
    spreads = [
        None
        if a is None and b is None
        else max(v for v in (a, b) if v is not None) - min(v for v in (a, b) if v is not None)
        for a, b in zip(values1, values2, strict=True)
    ]
    assert [c.spread for c in result.criteria] == spreads


def test_spread_shows_disagreement_between_reviewers(app, world, clock):
    p, (r1, r2) = in_review(world, clock)
    for reviewer, review, values in (
        (world.rev1, r1, [0, 3, 5, 2, 1, 4]),
        (world.rev2, r2, [5, 3, 4, 4, 3, 5]),
    ):
        ready(p, reviewer)
        submit_review(p, review, reviewer, values)
    assert [c.spread for c in score_proposal(p).criteria] == [5, 0, 1, 2, 2, 1]


def test_only_submitted_reviews_count(app, world, clock):
    p, (r1, r2) = in_review(world, clock)
    ready(p, world.rev1)
    ready(p, world.rev2)
    assert score_proposal(p).total is None and score_proposal(p).fundable is False
    submit_review(p, r1, world.rev1, [5, 5, 5, 5, 5, 5])
    save_review(r2, world.rev2, scores_of(p, [0, 0, 0, 0, 0, 0]), submit=False)  # a draft does not count
    db.session.commit()
    result = score_proposal(p)
    assert result.reviews == 1
    assert result.total == pytest.approx(100.0)
    submit_review(p, r2, world.rev2, [0, 0, 0, 0, 0, 0])
    result = score_proposal(p)
    assert result.reviews == 2
    assert result.total == pytest.approx(50.0)
    assert result.fundable is True


# --- the rules of a review --------------------------------------------------------------------------------


def test_every_criterion_needs_a_justification_to_submit(app, world, clock):
    p, (r1, _r2) = in_review(world, clock)
    ready(p, world.rev1)
    crit = {c.key: c for c in p.call.criteria}
    scores = scores_of(p, [4, 4, 4, 4, 4, 4])
    scores[crit["networking"].id] = (4, "")
    scores[crit["costs"].id] = (None, "   ")  # not applicable needs a reason too
    message = refused(save_review, r1, world.rev1, scores, submit=True)
    assert message == f"Bitte begründen Sie jede Bewertung: {crit['networking'].name}; {crit['costs'].name}."
    review = db.session.get(Review, r1.id)
    assert review.submitted_at is None
    assert db.session.get(type(p), p.id).state == "in_review"
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submit_review")).all()

    # saving a draft needs no justification yet; submitting once they are all there works
    save_review(review, world.rev1, scores, submit=False)
    db.session.commit()
    assert {s.criterion_id: s.score for s in review.scores}[crit["networking"].id] == 4
    assert review.submitted_at is None
    scores[crit["networking"].id] = (4, "Zwei Partnerstädte")
    scores[crit["costs"].id] = (None, "Kalkulation fehlt, nicht bewertbar")
    save_review(review, world.rev1, scores, submit=True)
    db.session.commit()
    assert review.submitted_at is not None
    assert (
        refused(save_review, review, world.rev1, scores, submit=True)
        == "Das Gutachten ist bereits abgegeben."
    )


@pytest.mark.parametrize("bad", [6, -1])
def test_scores_outside_the_scale_are_refused(app, world, clock, bad):
    p, (r1, _r2) = in_review(world, clock)
    ready(p, world.rev1)
    scores = scores_of(p, [4, 4, bad, 4, 4, 4])
    for submit_ in (True, False):
        assert (
            refused(save_review, r1, world.rev1, scores, submit=submit_)
            == "Die Punkte müssen zwischen 0 und 5 liegen."
        )
    review = db.session.get(Review, r1.id)
    assert review.submitted_at is None and review.scores == []
    # the ends of the scale are fine
    save_review(review, world.rev1, scores_of(p, [0, 5, 0, 5, 0, 5]), submit=True)
    db.session.commit()
    assert review.submitted_at is not None


def test_neutrality_and_no_conflict_come_before_scoring(app, world, clock):
    p, (r1, _r2) = in_review(world, clock)
    scores = scores_of(p, [4] * 6)
    assert not reviewer_may_read(world.rev1, p)
    assert (
        refused(save_review, r1, world.rev1, scores, submit=False)
        == "Bitte erklären Sie zuerst, dass kein Interessenkonflikt besteht."
    )
    assert (
        refused(declare_conflict, p, world.rev1, False)
        == "Bitte unterzeichnen Sie zuerst die Neutralitätserklärung des Aufrufs."
    )

    sign_neutrality(p.call, world.rev1)
    db.session.commit()
    assert not reviewer_may_read(world.rev1, p)  # neutrality alone is not enough
    assert (
        refused(save_review, r1, world.rev1, scores, submit=False)
        == "Bitte erklären Sie zuerst, dass kein Interessenkonflikt besteht."
    )

    declare_conflict(p, world.rev1, False)
    db.session.commit()
    assert reviewer_may_read(world.rev1, p)
    assert (  # "no conflict" once; a conflict recognised later would still count (test_official_neutrality)
        refused(declare_conflict, p, world.rev1, False)
        == "Sie haben für dieses Angebot bereits eine Erklärung abgegeben."
    )
    save_review(r1, world.rev1, scores, submit=True)
    db.session.commit()
    assert r1.submitted_at is not None


def test_a_conflicted_reviewer_loses_the_assignment_and_the_proposal(app, world, clock):
    world.call.reviewers_per_proposal = 2
    p, (r1, r2) = in_review(world, clock)
    client = app.test_client()
    login(client, "rev2@x.test")
    assert p.file_number in client.get("/reviews").get_data(as_text=True)  # assigned: listed
    sign_neutrality(p.call, world.rev2)
    assert (
        refused(declare_conflict, p, world.rev2, True, "  ")
        == "Bitte nennen Sie den Grund des Interessenkonflikts."
    )
    sign_neutrality(p.call, world.rev2)
    declare_conflict(p, world.rev2, True, "Ich berate die Antragstellerin.")
    db.session.commit()

    assert db.session.get(Review, r2.id) is None
    assert db.session.scalars(select(Review.reviewer_id).where(Review.proposal_id == p.id)).all() == [
        world.rev1.id
    ]
    assert not can_view_proposal(world.rev2, p)
    decl = db.session.scalar(select(ConflictDeclaration).where(ConflictDeclaration.user_id == world.rev2.id))
    assert decl.has_conflict and decl.reason == "Ich berate die Antragstellerin."
    assert (
        refused(assign_reviewer, p, world.rev2, world.ka)
        == "Diese Person hat einen Interessenkonflikt mit dem Angebot."
    )

    assert client.get(f"/reviews/{r2.id}").status_code == 404
    assert client.get(f"/proposals/{p.id}").status_code == 404
    assert p.file_number not in client.get("/reviews").get_data(as_text=True)

    # the other reviewer's review is then the last one, but the call asks for two: the proposal waits for a
    # second reviewer, or for the officials' recorded decision to go on with one
    ready(p, world.rev1)
    submit_review(p, r1, world.rev1, [3] * 6)
    assert p.state == "in_review"
    assert refused(fire, p, "finish_review_short", world.ka) == "Bitte geben Sie eine Begründung an."
    fire(p, "finish_review_short", world.ka, reason="Kein weiterer Gutachter ohne Konflikt verfügbar.")
    assert p.state == "reviewed"


def test_a_late_conflict_leaves_a_gap_that_a_new_reviewer_fills(app, world, clock):
    world.call.reviewers_per_proposal = 2
    from foerdercall.mail.models import OutboxMail
    from foerdercall.tasks.lists import tasks_for

    p, (r1, r2) = in_review(world, clock)
    ready(p, world.rev1)
    submit_review(p, r1, world.rev1, [4] * 6)
    sign_neutrality(p.call, world.rev2)
    declare_conflict(p, world.rev2, True, "Ich berate die Antragstellerin.")
    db.session.commit()
    assert p.state == "in_review"
    # the officials are told (a mail and their task list), and the page offers both ways on
    told = db.session.scalars(select(OutboxMail.to_address).where(OutboxMail.kind == "review_declined")).all()
    assert sorted(told) == ["afw@x.test", "ka2@x.test", "ka@x.test"]
    assert "replace" in {t.key for t in tasks_for(world.ka)}
    client = app.test_client()
    login(client, "ka@x.test")
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Begutachtung mit weniger Gutachten abschließen" in page
    assert "Gutachter/in zuweisen" in page
    # a third reviewer takes it over; their review completes it
    from conftest import PASSWORD

    from foerdercall.accounts.operations import create_user

    rev3 = create_user("rev3@x.test", "Rosa Reviewer", PASSWORD, roles=("reviewer",))
    r3 = assign_reviewer(p, rev3, world.ka)
    ready(p, rev3)
    submit_review(p, r3, rev3, [3] * 6)
    assert p.state == "reviewed"


def test_the_last_review_moves_the_proposal_to_reviewed(app, world, clock):
    p, (r1, r2) = in_review(world, clock)
    ready(p, world.rev1)
    ready(p, world.rev2)
    submit_review(p, r1, world.rev1, [4] * 6)
    assert p.state == "in_review"
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "finish_review")).all()

    submit_review(p, r2, world.rev2, [3] * 6)
    db.session.expire_all()
    assert db.session.get(type(p), p.id).state == "reviewed"
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.proposal_id == p.id, AuditEvent.action.in_(("submit_review", "finish_review")))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor_id, e.actor_name) for e in events] == [
        ("submit_review", world.rev1.id, world.rev1.name),
        ("submit_review", world.rev2.id, world.rev2.name),
        ("finish_review", None, "System"),
    ]
    assert (events[-1].from_state, events[-1].to_state) == ("in_review", "reviewed")
    # the scores are in the audit trail as given
    assert events[0].data["scores"]["feasibility"] == {"score": 4, "justification": "Begründet: feasibility"}


# --- over HTTP --------------------------------------------------------------------------------------------


def test_reviewer_scores_over_http(app, world, clock):
    p, (r1,) = in_review(world, clock, reviewers=("rev1",))
    crit = p.call.criteria
    client = app.test_client()
    login(client, "rev1@x.test")
    assert client.get(f"/reviews/{r1.id}").status_code == 404  # not before the declarations

    resp = client.post(f"/calls/{p.call_id}/neutrality", data={"confirm": "y"})
    assert resp.status_code == 302
    resp = client.post(f"/reviews/{r1.id}/conflict", data={"has_conflict": "no"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/reviews/{r1.id}")
    page = client.get(f"/reviews/{r1.id}").get_data(as_text=True)
    assert crit[0].name in page

    # one justification missing: refused with a message, what was typed is kept as a draft
    form = {"action": "submit"}
    for i, c in enumerate(crit):
        form[f"score_{c.id}"] = str(i % 6)
        form[f"justification_{c.id}"] = f"Text zu {c.key}" if c.key != "costs" else ""
    form[f"score_{crit[3].id}"] = "na"
    resp = client.post(f"/reviews/{r1.id}", data=form, follow_redirects=True)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Bitte begründen Sie jede Bewertung" in page
    assert crit[5].name in page
    assert "Text zu innovation" in page  # kept in the form
    db.session.expire_all()
    review = db.session.get(Review, r1.id)
    assert review.submitted_at is None
    saved = {s.criterion.key: (s.score, s.justification) for s in review.scores}
    assert saved == {
        "innovation": (0, "Text zu innovation"),
        "economic_effect": (1, "Text zu economic_effect"),
        "feasibility": (2, "Text zu feasibility"),
        "networking": (None, "Text zu networking"),
        "city_effect": (4, "Text zu city_effect"),
        "costs": (5, ""),
    }
    assert db.session.get(type(p), p.id).state == "in_review"

    # a missing score is refused too, and keeps the justifications
    form[f"justification_{crit[5].id}"] = "Angemessen kalkuliert"
    form[f"score_{crit[1].id}"] = ""
    page = client.post(f"/reviews/{r1.id}", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Bitte prüfen Sie die markierten Felder." in page  # the summary links to the criterion
    assert f'<a href="#score_{crit[1].id}">{crit[1].name}: Bitte bewerten Sie dieses Kriterium' in page
    assert "Angemessen kalkuliert" in page
    db.session.expire_all()
    assert db.session.get(Review, r1.id).submitted_at is None

    # a value off the scale (a hand-made post) never replaces the score saved before, on saving nor submitting
    for action in ("save", "submit"):
        bad = {
            **form,
            "action": action,
            f"score_{crit[0].id}": "9",
            f"justification_{crit[0].id}": "Neu begründet",
        }
        resp = client.post(f"/reviews/{r1.id}", data=bad)
        assert resp.status_code == 422
        page = resp.get_data(as_text=True)
        assert "Bitte wählen Sie Punkte von 0 bis 5" in page and "Neu begründet" in page
        db.session.expire_all()
        saved = {s.criterion.key: (s.score, s.justification) for s in db.session.get(Review, r1.id).scores}
        assert saved["innovation"] == (0, "Neu begründet")  # the old score, the new text
        assert db.session.get(Review, r1.id).submitted_at is None
    form[f"justification_{crit[0].id}"] = "Neu begründet"

    # complete: submitted, and as the only reviewer the proposal is reviewed
    form[f"score_{crit[1].id}"] = "1"
    resp = client.post(f"/reviews/{r1.id}", data=form)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/reviews")
    db.session.expire_all()
    review = db.session.get(Review, r1.id)
    assert review.submitted_at is not None
    assert db.session.get(type(p), p.id).state == "reviewed"
    # 0,1,2,N/A,4,5 -> (20*0 + 20*1 + 20*2 + 10*4 + 15*5) / 5 / 85 * 100 = 175/425*100 = 41.18
    assert score_proposal(db.session.get(type(p), p.id)).total == pytest.approx(41.18, abs=0.005)
    assert "Gutachten abgegeben" in client.get("/reviews").get_data(as_text=True)

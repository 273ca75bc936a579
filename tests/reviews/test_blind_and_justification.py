"""Blind review (the others' scores only after one's own), the applicant's identity hidden from reviewers,
and the call's justification rule (every score, or only the ends of the scale)."""

from __future__ import annotations

import pytest
from assign_helpers import opened, score, submitted
from conftest import login

from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire


def two_reviewers(world, clock):
    p = submitted(world, 1)[0]
    opened(world, clock, [p])
    r1 = assign_reviewer(p, world.rev1, world.ka)
    r2 = assign_reviewer(p, world.rev2, world.ka)
    fire(p, "start_review", world.ka)
    db.session.commit()
    return p, r1, r2


@pytest.mark.parametrize("blind", [True, False])
def test_blind_review_shows_the_others_scores_only_after_ones_own(app, world, clock, blind):
    world.call.blind_review = blind
    p, r1, r2 = two_reviewers(world, clock)
    score(p, world.rev1, [5, 4, 3, 2, 1, 0], text="Rita meint")
    sign_neutrality(p.call, world.rev2)
    declare_conflict(p, world.rev2, False)
    db.session.commit()

    client = app.test_client()
    login(client, "rev2@x.test")
    page = client.get(f"/reviews/{r2.id}").get_data(as_text=True)
    if blind:
        assert "Rita meint" not in page and "Rita Reviewer" not in page
        assert (
            "Sie sehen die Bewertungen der anderen erst, wenn Sie Ihr eigenes Gutachten abgegeben haben"
            in page
        )
    else:
        assert "Rita meint: innovation" in page and "Rita Reviewer" in page

    save_review(r2, world.rev2, {c.id: (3, "Rolf meint") for c in p.call.criteria}, submit=True)
    db.session.commit()
    page = client.get(f"/reviews/{r2.id}").get_data(as_text=True)
    assert "Rita meint: innovation" in page  # after submitting, always
    assert "Rolf meint" in page  # and one's own, read-only
    assert 'name="action"' not in page


def test_the_reviewers_pages_never_name_the_applicant(app, world, clock):
    world.call.hide_applicant = True
    p, r1, r2 = two_reviewers(world, clock)
    score(p, world.rev1, [5, 4, 3, 2, 1, 0], text="Rita meint")
    score(p, world.rev2, [3] * 6, text="Rolf meint")
    p.answers = {
        **p.answers,
        "team": "Ada Lovelace leitet, Ben Berg kocht",
    }  # the default form's personal answer
    db.session.commit()
    client = app.test_client()
    login(client, "rev2@x.test")
    page = client.get(f"/reviews/{r2.id}").get_data(as_text=True)
    assert "Rita meint: innovation" in page and "Rita Reviewer" in page
    assert world.applicant.name not in page
    assert world.applicant.name not in client.get("/reviews").get_data(as_text=True)
    # nor the proposal's own page (its content, without who applied and without the history naming them)
    proposal_page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert p.title in proposal_page and world.applicant.name not in proposal_page
    assert "Ada Lovelace" not in proposal_page  # nor the personal answers: their questions say so
    assert "Verborgen: persönliche Angabe (blinde Begutachtung)" in proposal_page
    # the officials still see who applied, and the personal answers
    official = app.test_client()
    login(official, world.ka.email)
    official_page = official.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert world.applicant.name in official_page and "Ada Lovelace leitet, Ben Berg kocht" in official_page


def test_justification_only_at_the_ends_of_the_scale_when_the_call_says_so(app, world, clock):
    world.call.justify_every_score = False
    p, r1, _r2 = two_reviewers(world, clock)
    sign_neutrality(p.call, world.rev1)
    declare_conflict(p, world.rev1, False)
    db.session.commit()
    crit = p.call.criteria
    scores = {c.id: (3, "") for c in crit}
    scores[crit[0].id] = (5, "")  # top of the scale, no reason
    scores[crit[1].id] = (0, "")  # bottom of the scale, no reason
    scores[crit[2].id] = (None, "")  # not applicable, no reason
    with pytest.raises(ActionRefused) as exc:
        save_review(r1, world.rev1, scores, submit=True)
    db.session.rollback()
    assert exc.value.message == (
        "Bitte begründen Sie jede Bewertung am Rand der Skala (0 oder 5) und jedes „nicht anwendbar“: "
        f"{crit[0].name}; {crit[1].name}; {crit[2].name}."
    )
    scores[crit[0].id] = (5, "herausragend")
    scores[crit[1].id] = (0, "nicht erkennbar")
    scores[crit[2].id] = (None, "nicht bewertbar")
    save_review(r1, world.rev1, scores, submit=True)  # the middle scores need none
    db.session.commit()
    assert r1.submitted_at is not None

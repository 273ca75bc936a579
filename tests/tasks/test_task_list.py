"""The start page: each role's tasks, from the submission to the last payment. A task appears only when the
rulebook lets this person take its step, and it leaves the list when the step is done."""

from __future__ import annotations

import pytest
from conftest import berlin, fill_draft, login, review_after_deadline
from sqlalchemy import select

from foerdercall.awards.models import Milestone
from foerdercall.awards.operations import accept_milestone, make_award, report_milestone, sign_off
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.tasks.lists import tasks_for
from foerdercall.workflow.engine import fire


def keys(user) -> dict[str, list[str]]:
    """The person's tasks: kind -> the titles of its items, in their order."""
    return {t.key: [i.title for i in t.items] for t in tasks_for(user)}


def page(app, email: str) -> str:
    client = app.test_client()
    login(client, email)
    resp = client.get("/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


@pytest.fixture
def submitted(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    submit(p, world.applicant)
    db.session.commit()
    return p


def test_an_applicant_starts_with_the_next_step_and_its_deadline(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Netzwerk Plagwitz")
    db.session.commit()
    assert keys(world.applicant) == {"mine": ["Netzwerk Plagwitz"]}
    html = page(app, "app@x.test")
    assert "Ihre nächsten Schritte" in html and "Netzwerk Plagwitz" in html
    assert "31.10.2026, 23:59 Uhr" in html  # the submission deadline
    assert f"/proposals/{p.id}/edit" in html
    mine = app.test_client()
    login(mine, "app@x.test")
    my = mine.get("/my").get_data(as_text=True)  # "Meine Einreichungen": each one's next step and deadline
    assert "Nächster Schritt" in my and "31.10.2026, 23:59 Uhr" in my
    submit(p, world.applicant)
    db.session.commit()
    # submitted: now the office acts; the applicant sees it for information only
    assert keys(world.applicant) == {"waiting": ["Netzwerk Plagwitz"]}
    assert "Zurzeit wartet nichts auf Sie." in page(app, "app@x.test")


def test_the_opening_is_a_task_for_two_people(app, world, clock, submitted):
    assert keys(world.ka) == {}  # before the deadline: nothing to do
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    db.session.commit()
    assert keys(world.ka) == {"opening": ["Kreativwirtschaft 2026"]}
    request_opening(world.call, world.ka)
    db.session.commit()
    assert "opening" not in keys(world.ka)  # the one who asked cannot confirm
    assert keys(world.ka2) == {"opening": ["Kreativwirtschaft 2026"]}
    assert "als zweite Person" in page(app, "ka2@x.test")
    confirm_opening(world.call, world.ka2)
    db.session.commit()
    for u in (world.ka, world.ka2, world.afw):
        assert keys(u) == {"formal-check": [f"{submitted.file_number} · Netzwerk Plagwitz"]}


def test_an_answer_to_a_request_comes_back_as_a_task(app, world, clock, submitted):
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(submitted, "request_documents", world.ka, reason="Bitte den Finanzplan nachreichen.")
    db.session.commit()
    assert keys(world.ka) == {}
    assert keys(world.applicant)["mine"] == ["Netzwerk Plagwitz"]
    fire(submitted, "answer_request", world.applicant, reason="Anbei.")
    db.session.commit()
    assert list(keys(world.ka)) == ["answers"]
    assert "Antworten auf Nachforderungen" in page(app, "ka@x.test")


def test_sign_offs_wait_for_each_office_until_it_signed(app, world, clock, submitted):
    review_after_deadline(world, clock, world.call, submitted)
    db.session.commit()
    for u in (world.ka, world.ka2, world.afw):
        assert "sign-off" in keys(u)
    assert keys(world.rev1) == {}  # the review is in
    sign_off(submitted, world.ka, "approve")
    db.session.commit()
    assert "sign-off" not in keys(world.ka) and "sign-off" not in keys(world.ka2)  # KA has signed
    assert "sign-off" in keys(world.afw)
    sign_off(submitted, world.afw, "approve")
    db.session.commit()
    assert "award" in keys(world.ka)


def test_a_reviewer_sees_open_reviews_and_not_the_ones_with_a_conflict(app, world, clock, submitted):
    world.call.reviewers_per_proposal = 2
    from foerdercall.reviews.operations import assign_reviewer, declare_conflict, sign_neutrality

    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(submitted, "declare_eligible", world.ka)
    db.session.commit()
    assert "assign" in keys(world.ka)
    sign_neutrality(world.call, world.rev1)
    sign_neutrality(world.call, world.rev2)
    assign_reviewer(submitted, world.rev1, world.ka)
    assign_reviewer(submitted, world.rev2, world.ka)
    fire(submitted, "start_review", world.ka)
    db.session.commit()
    assert keys(world.rev1) == {"reviews": [submitted.file_number]}
    html = page(app, "rev1@x.test")
    assert "Offene Gutachten" in html and "Netzwerk Plagwitz" not in html  # not read before the declaration
    declare_conflict(submitted, world.rev2, True, "Mein Bruder")
    db.session.commit()
    assert keys(world.rev2) == {}
    # the call asks for two reviews and one was given back: an official replaces the reviewer
    assert keys(world.ka)["replace"] == [f"{submitted.file_number} · Netzwerk Plagwitz"]


def test_reports_and_payments_of_a_measure(app, world, clock, submitted):
    review_after_deadline(world, clock, world.call, submitted)
    sign_off(submitted, world.ka, "approve")
    sign_off(submitted, world.afw, "approve")
    make_award(submitted, world.ka)
    fire(submitted, "accept_award", world.applicant)
    db.session.commit()
    m = db.session.scalars(select(Milestone).where(Milestone.proposal_id == submitted.id)).first()
    assert keys(world.ka) == {}
    report_milestone(m, world.applicant, "Auftakt mit 40 Gästen")
    db.session.commit()
    assert list(keys(world.ka)) == ["milestones"]
    assert "Meilensteine abnehmen" in page(app, "ka@x.test")
    accept_milestone(m, world.ka)
    db.session.commit()
    assert "milestones" not in keys(world.ka)
    assert ("payments" in keys(world.ka)) == (m.share is not None)

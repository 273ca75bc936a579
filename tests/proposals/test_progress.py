"""The applicant's progress view: the proposal's path (derived from the workflow), the current step and the
next step with its date, on the proposal's page."""

from __future__ import annotations

from conftest import DEADLINE, award_after_deadline, berlin, fill_draft, login
from sqlalchemy import select

from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.proposals.progress import main_path, proposal_progress
from foerdercall.workflow.engine import fire


def _states(progress, status):
    return [s.state for s in progress.steps if s.status == status]


def test_the_regular_path_comes_from_the_workflow():
    assert main_path() == (
        "draft",
        "submitted",
        "eligible",
        "in_review",
        "reviewed",
        "approved",
        "awarded",
        "in_implementation",
        "final_report_submitted",
        "completed",
    )


def test_a_draft_shows_the_submission_deadline_as_the_next_step(app, world):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    progress = proposal_progress(p)
    assert _states(progress, "current") == ["draft"]
    assert _states(progress, "ahead")[-1] == "completed"
    assert progress.next.by_applicant and progress.next.due_at == berlin(*DEADLINE)

    client = app.test_client()
    login(client, "app@x.test")
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Wo Ihr Angebot steht" in page and "Ihr nächster Schritt" in page
    assert "31.10.2026, 23:59 Uhr" in page
    assert 'aria-current="step"' in page


def test_a_clarification_is_a_detour_with_its_due_date(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    clock.set(berlin(2026, 11, 2, 9, 0))
    from foerdercall.calls.operations import confirm_opening, request_opening

    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "request_documents", world.ka, reason="Bitte Referenzen nachreichen.")
    db.session.commit()
    progress = proposal_progress(p)
    assert _states(progress, "done") == ["draft", "submitted"]
    assert _states(progress, "current") == ["clarification"]
    assert _states(progress, "ahead")[0] == "eligible"
    assert progress.next.by_applicant
    assert progress.next.due_at == p.clarifications[-1].due_at
    assert not progress.finished


def test_an_award_shows_the_acceptance_deadline_and_officials_see_no_progress_view(app, world, clock):
    from foerdercall.awards.models import Award

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    db.session.commit()
    progress = proposal_progress(p)
    assert _states(progress, "done") == [
        "draft",
        "submitted",
        "eligible",
        "in_review",
        "reviewed",
        "approved",
    ]
    assert _states(progress, "current") == ["awarded"]
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    assert progress.next.due_at == award.accept_by and progress.next.by_applicant

    official = app.test_client()
    login(official, "ka@x.test")
    assert "Wo Ihr Angebot steht" not in official.get(f"/proposals/{p.id}").get_data(as_text=True)


def test_a_withdrawn_proposal_ends_its_path(app, world):
    p = start_draft(world.call, world.applicant)
    fire(p, "withdraw", world.applicant)
    db.session.commit()
    progress = proposal_progress(p)
    assert [s.state for s in progress.steps] == ["draft", "withdrawn"]
    assert progress.finished and progress.next is None

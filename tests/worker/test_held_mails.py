"""Decision mails held for release, per call: an award mail of a call that holds them waits in the outbox (no
dispatch, no sweep sends it) until an official releases it; then it goes out once. Reminders and the
decision mails of a call without the flag go out by themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import award_after_deadline, berlin, fill_draft, login, publish
from sqlalchemy import func, select

from foerdercall.aftercommit import discard
from foerdercall.audit.models import AuditEvent
from foerdercall.calls.operations import create_call
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import release_held_mail
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire
from worker.sweep import sweep


def _call(world, hold: bool):
    call = create_call(
        world.ka,
        code="KW26H" if hold else "KW26S",
        title="Aufruf mit Freigabe",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 10, 31, 23, 59),
        reviewers_per_proposal=1,
        hold_decision_mails=hold,
    )
    publish(call, world.ka)
    return call


def _awarded(world, clock, *, hold: bool):
    """A proposal through opening, review and both sign-offs to the award; returns its award mail."""
    call = _call(world, hold)
    p = fill_draft(start_draft(call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    q = fill_draft(start_draft(call, world.applicant2), world.applicant2, title="Zweites Angebot")
    fire(q, "submit", world.applicant2)
    db.session.commit()  # the receipts go after the commit
    award_after_deadline(world, clock, call, p, q)
    db.session.commit()  # what a request does: its mails go after the commit
    return db.session.scalar(
        select(OutboxMail).where(OutboxMail.kind == "award", OutboxMail.proposal_id == p.id)
    )


def _files(app, mail: OutboxMail) -> list[Path]:
    return sorted(Path(app.config["OUTBOX_DIR"]).glob(f"{mail.id:08d}-*.eml"))


def _row(mail_id: int) -> OutboxMail:
    db.session.expire_all()
    return db.session.get(OutboxMail, mail_id)


def test_a_held_award_mail_waits_until_an_official_releases_it_then_goes_out_once(app, world, clock):
    award = _awarded(world, clock, hold=True)
    ineligible = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "ineligible"))
    assert award.held and ineligible.held  # decision mails of this call are held
    receipts = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt")).all()
    assert receipts and all(not m.held and m.status == "sent" for m in receipts)  # not a decision
    # neither the dispatch after a commit nor the sweep sends it, not even much later
    clock.advance(days=2)
    sweep()
    assert discard("mail") == []
    db.session.commit()
    assert (_row(award.id).status, _row(award.id).held, _files(app, award)) == ("pending", True, [])
    # the officials see it as held and can read it
    client = app.test_client()
    login(client, "ka@x.test")
    outbox = client.get("/outbox").get_data(as_text=True)
    assert "Zurückgehalten" in outbox and f"/outbox/{award.id}/release" in outbox
    page = client.get(f"/messages/{award.id}").get_data(as_text=True)
    assert award.subject in page and f"/outbox/{award.id}/release" in page
    # the applicant does not read it before it is released
    applicant = app.test_client()
    login(applicant, "app@x.test")
    assert award.subject not in applicant.get("/messages").get_data(as_text=True)
    assert applicant.get(f"/messages/{award.id}").status_code == 404
    # released: an audit event, then sent like any mail (after the request's commit)
    resp = client.post(f"/outbox/{award.id}/release", data={})
    assert resp.status_code == 302
    r = _row(award.id)
    assert (r.held, r.status, r.attempts) == (False, "sent", 1)
    assert len(_files(app, award)) == 1
    assert award.subject in applicant.get("/messages").get_data(as_text=True)
    assert applicant.get(f"/messages/{award.id}").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "release_mail"))
    assert event is not None and event.actor_id == world.ka.id
    # once: a second release is refused, the sweep sends nothing again
    client.post(f"/outbox/{award.id}/release", data={})
    with pytest.raises(ActionRefused):
        release_held_mail(_row(award.id), world.afw)
    db.session.rollback()
    sweep()
    assert len(_files(app, award)) == 1 and _row(award.id).attempts == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "release_mail")) == 1


def test_a_call_without_the_flag_sends_its_decision_mails_at_once(app, world, clock):
    award = _awarded(world, clock, hold=False)
    r = _row(award.id)
    assert (r.held, r.status) == (False, "sent")
    assert len(_files(app, award)) == 1


def test_a_non_official_cannot_release(app, world, clock):
    award = _awarded(world, clock, hold=True)
    for email in ("app@x.test", "rev1@x.test", "admin@x.test", "advisor@x.test"):
        client = app.test_client()
        login(client, email)
        resp = client.post(f"/outbox/{award.id}/release", data={})
        assert resp.status_code in (403, 404), email
        r = _row(award.id)
        assert (r.held, r.status) == (True, "pending"), email
    assert _files(app, award) == []
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "release_mail")) == 0

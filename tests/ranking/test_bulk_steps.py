"""Eligibility and award in bulk (issue 19): the formal check passed and the award for several proposals at
once, each exactly as on its own page (the rulebook, fire, the audit, the mails), a refusal reported for that
proposal only; many of them through the same job as the bulk sign-off."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import login
from rank_helpers import opened, score, submitted
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.operations import sign_off
from foerdercall.extensions import db
from foerdercall.jobs.models import BulkJob
from foerdercall.proposals.models import Proposal
from foerdercall.reviews.operations import assign_reviewer
from foerdercall.workflow.engine import fire

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from job_helpers import follow, job_id  # noqa: E402


def states(ps):
    db.session.expire_all()
    return [db.session.get(Proposal, p.id).state for p in ps]


def test_the_formal_check_passed_for_several_at_once(app, world, clock):
    a, b, c = submitted(world, 3, titles=["Erstes", "Zweites", "Drittes"])
    opened(world, clock, [], eligible=False)
    fire(c, "request_documents", world.ka, reason="Bitte den Finanzplan nachreichen.")
    db.session.commit()
    ka = app.test_client()
    login(ka, "ka@x.test")
    page = ka.get(f"/calls/{world.call.id}/proposals").get_data(as_text=True)
    assert f'name="proposal" value="{a.id}"' in page and f'name="proposal" value="{c.id}"' not in page
    assert "Ausgewählte als formal zulässig erklären" in page
    resp = ka.post(
        f"/calls/{world.call.id}/bulk/declare_eligible",
        data={"proposal": [str(a.id), str(b.id), str(c.id)]},
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert f"Als formal zulässig erklärt: {a.file_number}, {b.file_number}." in page
    assert (
        f"{c.file_number} nicht erledigt: „Formal zulässig“ ist im Status „Nachforderung offen“ nicht möglich."
        in page
    )
    assert states([a, b, c]) == ["eligible", "eligible", "clarification"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "declare_eligible")).all()
    assert sorted(e.proposal_id for e in events) == sorted([a.id, b.id])
    assert {e.actor_id for e in events} == {world.ka.id}
    # nothing chosen: a message, nothing done
    resp = ka.post(f"/calls/{world.call.id}/bulk/declare_eligible", data={}, follow_redirects=True)
    assert "Bitte wählen Sie mindestens ein Angebot aus." in resp.get_data(as_text=True)
    assert ka.post(f"/calls/{world.call.id}/bulk/withdraw", data={}).status_code == 404


def approved(world, clock, n, amounts):
    ps = submitted(world, n, amounts=amounts)
    opened(world, clock, ps)
    for p in ps:
        assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    for i, p in enumerate(ps):
        score(p, world.rev1, [5 - i] * 6)  # no ties
    for p in ps:
        sign_off(p, world.ka, "approve")
        sign_off(p, world.afw, "approve")
    db.session.commit()
    return ps


def test_the_award_for_several_at_once_each_within_the_budget(app, world, clock):
    a, b, c = approved(world, clock, 3, [20_000_00, 20_000_00, 20_000_00])  # budget 50.000
    ka = app.test_client()
    login(ka, "ka@x.test")
    page = ka.get(f"/calls/{world.call.id}/decision").get_data(as_text=True)
    assert "Zuschlag für die ausgewählten erteilen" in page
    resp = ka.post(
        f"/calls/{world.call.id}/bulk/award",
        data={"proposal": [str(a.id), str(b.id), str(c.id)]},
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert f"Zuschlag erteilt: {a.file_number}, {b.file_number}." in page
    assert f"{c.file_number} nicht erledigt: Das verbleibende Budget des Aufrufs" in page
    assert states([a, b, c]) == ["awarded", "awarded", "approved"]
    awards = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "award")).all()
    assert len(awards) == 2
    assert world.call.committed_cents == 40_000_00


def test_many_at_once_go_through_a_job(app, world, clock):
    app.config["SIGN_OFF_SYNC_LIMIT"] = 1
    ps = submitted(world, 3)
    opened(world, clock, [], eligible=False)
    ka = app.test_client()
    login(ka, "ka@x.test")
    jid = job_id(
        ka.post(f"/calls/{world.call.id}/bulk/declare_eligible", data={"proposal": [str(p.id) for p in ps]})
    )
    status = follow(ka, jid)[-1]
    assert status["message"] == "3 von 3 als formal zulässig erklärt."
    assert states(ps) == ["eligible"] * 3
    assert db.session.get(BulkJob, jid).kind == "bulk_eligible"
    page = ka.get(f"/jobs/{jid}").get_data(as_text=True)
    assert "Formale Prüfung für mehrere Angebote" in page and f"{ps[0].file_number}</td><td>erledigt" in page

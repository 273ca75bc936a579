"""Retention of funded records (issue 19): every record gets its end (a funded one 3 years after the award, and
not before the measure ended; an ERDF one 5 years from the end of the year of its last payment); officials put a
record on legal hold and lift it, with reasons; the worker anonymises what is due and not on hold, keeping what
the audit needs; a page lists what ends in the next 90 days."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import award_after_deadline, berlin, fill_draft, login, published_call
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award, Milestone, Payment, Report
from foerdercall.awards.operations import (
    accept_milestone,
    record_payment,
    report_milestone,
    review_interim_report,
    submit_final_report,
    submit_interim_report,
)
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.privacy.models import Anonymisation, LegalHold
from foerdercall.privacy.retention import lift_hold, place_hold, record_end_of
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire
from worker.sweep import sweep


def completed_measure(world, clock, call):
    """A measure of `call` awarded on 2.11.2026, paid 10.000 € on 1.3.2027, completed on 1.6.2027."""
    p = fill_draft(start_draft(call, world.applicant), world.applicant, title="Kreativort am Kanal")
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, call, p)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    for m in db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).all():
        report_milestone(m, world.applicant, f"{m.title}: erreicht")
        accept_milestone(m, world.ka)
    review_interim_report(submit_interim_report(p, world.applicant, "Zwischenstand", "", 0), world.ka, True)
    clock.set(berlin(2027, 3, 1, 10, 0))
    record_payment(p, world.ka, 10_000_00, "Erste Rate")
    clock.set(berlin(2027, 6, 1, 10, 0))
    submit_final_report(p, world.applicant, "Alles erreicht", "Honorare", 10_000_00)
    fire(p, "accept_final_report", world.ka)
    fire(call, "decide", world.ka)
    db.session.commit()
    assert p.state == "completed"
    return p


def erdf_call(world):
    return published_call(world, code="EFRE27", title="Kreativorte EFRE", eu_funded=True)


def test_a_funded_record_ends_three_years_after_the_award(app, world, clock):
    p = completed_measure(world, clock, world.call)
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    end = record_end_of(p)
    assert end.basis == "award" and end.ends_at == award.awarded_at.replace(year=award.awarded_at.year + 3)


def test_an_erdf_record_ends_five_years_after_the_year_of_its_last_payment(app, world, clock):
    q = completed_measure(world, clock, erdf_call(world))
    end = record_end_of(q)  # last payment in 2027: kept to the end of 2032
    assert end.basis == "erdf" and end.ends_at == berlin(2032, 12, 31, 23, 59)


def test_the_worker_anonymises_a_funded_record_when_due_unless_on_hold(app, world, clock):
    p = completed_measure(world, clock, world.call)
    due = record_end_of(p).ends_at
    clock.set(due - dt.timedelta(days=30))
    ka = app.test_client()
    login(ka, "ka@x.test")
    page = ka.get("/retention").get_data(as_text=True)
    assert p.file_number in page and "gefördert: 3 Jahre nach dem Zuschlag" in page

    # a legal hold, with its reason; one at a time
    resp = ka.post(f"/proposals/{p.id}/hold", data={"reason": " "}, follow_redirects=True)
    assert "Bitte geben Sie eine Begründung an." in resp.get_data(as_text=True)
    resp = ka.post(
        f"/proposals/{p.id}/hold", data={"reason": "Klage vor dem Verwaltungsgericht"}, follow_redirects=True
    )
    assert f"Die Aufbewahrung von {p.file_number} ist angeordnet." in resp.get_data(as_text=True)
    hold = db.session.scalar(select(LegalHold))
    with pytest.raises(ActionRefused, match="bereits angeordnet"):
        place_hold(p, world.afw, "noch einmal")
    db.session.rollback()

    clock.set(due + dt.timedelta(minutes=1))
    sweep()
    assert db.session.get(Anonymisation, p.id) is None  # held: kept whole
    assert db.session.get(Proposal, p.id).title == "Kreativort am Kanal"

    lift_hold(hold, world.afw, "Verfahren abgeschlossen")
    db.session.commit()
    sweep()
    db.session.expire_all()
    p = db.session.get(Proposal, p.id)
    assert db.session.get(Anonymisation, p.id) is not None
    assert p.title == "(anonymisiert)" and p.answers == {}
    # what the audit must keep stays: the award, its payment, the file number; the texts written go
    assert db.session.scalar(select(Payment.amount_cents)) == 10_000_00
    assert db.session.scalar(select(Award.amount_cents).where(Award.proposal_id == p.id)) == 10_000_00
    assert p.file_number == "KW26-0001"
    assert {r.narrative for r in db.session.scalars(select(Report))} == {"(anonymisiert)"}
    assert all(m.report in (None, "(anonymisiert)") for m in db.session.scalars(select(Milestone)))
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "legal_holds").order_by(AuditEvent.seq)
    ).all()
    assert actions == ["place_hold", "lift_hold"]


def test_a_running_measure_is_kept_and_only_officials_hold(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    fire(p, "accept_award", world.applicant)
    fire(world.call, "decide", world.ka)
    db.session.commit()
    end = record_end_of(p)
    assert end.ends_at is None and end.basis == "running"
    with pytest.raises(ActionRefused):
        place_hold(p, world.applicant, "meins")
    db.session.rollback()
    applicant = app.test_client()
    login(applicant, "app@x.test")
    assert applicant.get("/retention").status_code == 403

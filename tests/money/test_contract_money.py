"""The money of a contract (issue 19): a payment plan per award, a tranche per milestone of the contractor's plan
(its share of the award, due once the milestone is accepted) and the final payment (the rest, due once the final
report is accepted); invoices are booked against a tranche, never above it nor above the award."""

from __future__ import annotations

import pytest
from conftest import award_after_deadline, berlin, fill_draft, login
from money_helpers import youth_measure
from sqlalchemy import select

from foerdercall.awards.models import Milestone, Payment
from foerdercall.awards.operations import (
    accept_milestone,
    record_payment,
    report_milestone,
    review_interim_report,
    submit_final_report,
    submit_interim_report,
)
from foerdercall.awards.queries import award_of, payment_plan
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire


def refused(fn, *args, **kw) -> str:
    with pytest.raises(ActionRefused) as exc:
        fn(*args, **kw)
    db.session.rollback()
    return exc.value.message


def contract_in_implementation(world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, amount=20_000_00)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    return p


def test_the_final_payment_waits_for_the_accepted_final_report(app, world, clock):
    p = contract_in_implementation(world, clock)
    plan = payment_plan(p, award_of(p))
    assert [(t.key, t.amount_cents, t.due) for t in plan] == [
        ("final", 20_000_00, False)
    ]  # no shares planned
    assert refused(record_payment, p, world.ka, 20_000_00, tranche="final", invoice="R-2027-17") == (
        "Die Schlusszahlung ist erst nach der Abnahme des Abschlussberichts fällig."
    )
    assert "gibt es im Zahlungsplan nicht" in refused(record_payment, p, world.ka, 1_00, tranche="m999")

    for m in db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).all():
        report_milestone(m, world.applicant, "erreicht")
        accept_milestone(m, world.ka)
    review_interim_report(submit_interim_report(p, world.applicant, "Zwischenstand", "", 0), world.ka, True)
    clock.set(berlin(2027, 6, 1, 10, 0))
    submit_final_report(p, world.applicant, "Alles erreicht", "Honorare", 20_000_00)
    fire(p, "accept_final_report", world.ka)
    db.session.commit()
    assert p.state == "completed"

    ka = app.test_client()
    login(ka, "ka@x.test")
    page = ka.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Zahlungsplan" in page and "Schlusszahlung nach Abnahme des Abschlussberichts" in page
    resp = ka.post(
        f"/proposals/{p.id}/payments",
        data={"amount": "20.000,01", "tranche": "final", "invoice": "R-2027-17"},
    )
    assert resp.status_code == 422 and "noch offen: 20.000,00" in resp.get_data(as_text=True)
    resp = ka.post(
        f"/proposals/{p.id}/payments",
        data={"amount": "20.000,00", "tranche": "final", "invoice": "R-2027-17", "note": "Schlussrechnung"},
        follow_redirects=True,
    )
    assert "Zahlung erfasst." in resp.get_data(as_text=True)
    pay = db.session.scalar(select(Payment))
    assert (pay.tranche, pay.invoice, pay.amount_cents) == ("final", "R-2027-17", 20_000_00)
    assert "Rechnung R-2027-17" in ka.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert payment_plan(p, award_of(p))[-1].paid_cents == 20_000_00


def test_a_tranche_per_milestone_of_the_contractors_plan_due_once_it_is_accepted(app, world, clock):
    plan = [
        {"title": "Auftakt", "due": "15.11.2026", "share": "40"},
        {"title": "Werkschau", "due": "15.06.2027", "share": "60"},
    ]
    _call, p = youth_measure(world, clock, plan=plan)

    first, second = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all()
    tranches = payment_plan(p, award_of(p))
    assert [(t.key, t.title, t.amount_cents, t.due) for t in tranches] == [
        (f"m{first.id}", "Auftakt", 2_000_00, False),
        (f"m{second.id}", "Werkschau", 3_000_00, False),
        ("final", "", 0, False),
    ]
    assert refused(record_payment, p, world.ka, 2_000_00, tranche=f"m{first.id}") == (
        "Diese Rate ist erst fällig, wenn der Meilenstein „Auftakt“ abgenommen ist."
    )
    report_milestone(first, world.applicant, "Auftakt gefeiert")
    accept_milestone(first, world.ka)
    db.session.commit()
    assert "offen ist (2.000,00" in refused(record_payment, p, world.ka, 2_000_01, tranche=f"m{first.id}")
    record_payment(p, world.ka, 2_000_00, "1. Rate", tranche=f"m{first.id}", invoice="R-1")
    db.session.commit()
    assert payment_plan(p, award_of(p))[0].paid_cents == 2_000_00

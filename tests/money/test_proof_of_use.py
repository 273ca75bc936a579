"""A grant's proof of use (issue 19): the final report states, per line of the approved cost plan, the planned and
the actual amount; the official reads the statement and accepts it, asks for corrections, or claims the difference
back with a reason (it returns to the budget once repaid)."""

from __future__ import annotations

from conftest import berlin, login
from money_helpers import youth_measure
from sqlalchemy import select

from foerdercall.awards.models import Milestone, Report
from foerdercall.awards.operations import (
    accept_milestone,
    claim_back,
    pay_drawdown,
    record_repayment,
    report_milestone,
    request_drawdown,
    review_interim_report,
    submit_interim_report,
)
from foerdercall.extensions import db


def test_the_proof_of_use_states_planned_against_actual_per_cost_plan_line(app, world, clock):
    call, p = youth_measure(world, clock)
    pay_drawdown(
        request_drawdown(p, world.applicant, 3_000_00, "Honorare", "Honorare Workshopleitung"), world.ka
    )
    for m in db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).all():
        report_milestone(m, world.applicant, "erreicht")
        accept_milestone(m, world.ka)
    review_interim_report(submit_interim_report(p, world.applicant, "Zwischenstand", "", 0), world.ka, True)
    db.session.commit()
    clock.set(berlin(2027, 6, 1, 10, 0))

    applicant = app.test_client()
    login(applicant, "app@x.test")
    page = applicant.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Verwendungsnachweis: tatsächliche Ausgaben je Posten des Kostenplans" in page
    assert "Honorare Workshopleitung" in page
    # a wrong amount: the report comes back with the text kept, the error at its line
    resp = applicant.post(
        f"/proposals/{p.id}/reports/final", data={"narrative": "Drei Workshops gehalten.", "actual-0": "viel"}
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Drei Workshops gehalten." in page and "Bitte geben Sie einen Betrag in Euro an" in page
    resp = applicant.post(
        f"/proposals/{p.id}/reports/final",
        data={"narrative": "Drei Workshops gehalten.", "actual-0": "2.400,00"},
        follow_redirects=True,
    )
    assert resp.status_code == 200
    report = db.session.scalar(select(Report).where(Report.kind == "final"))
    assert report.cost_lines == [
        {"item": "Honorare Workshopleitung", "planned_cents": 3_000_00, "actual_cents": 2_400_00}
    ]
    assert report.spent_cents == 2_400_00

    ka = app.test_client()
    login(ka, "ka@x.test")
    page = ka.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Verwendungsnachweis: zahlenmäßiger Nachweis" in page and "-600,00" in page
    # 600 € less spent than paid: claimed back, repaid, back in the budget
    before = call.remaining_cents
    record_repayment(claim_back(p, world.ka, 600_00, "600 € weniger ausgegeben als ausgezahlt"), world.ka)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(call), call.id).remaining_cents == before + 600_00
    # the statement accepted: the measure is complete, and the open data show what was paid net
    resp = ka.post(f"/proposals/{p.id}/fire/accept_final_report", data={}, follow_redirects=True)
    assert "Maßnahme ist abgeschlossen" in resp.get_data(as_text=True)
    grants = ka.get(f"/calls/{call.id}/open-data/360giving.json").get_json()["grants"]
    assert grants[0]["amountDisbursed"] == 2400.0

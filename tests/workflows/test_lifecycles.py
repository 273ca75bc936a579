"""The lifecycles of their own (workflows/opening.py, objection.py, milestone.py, report.py, payment.py): each
change of state goes through fire() and leaves an audit event from one state to the other, in the history of the
proposal and the record of the call; a step from the wrong state is refused with a message; the database refuses
a state its workflow does not know (proposals and calls too)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import login
from sqlalchemy import func, select
from test_transitions import drive, make_proposals, reload_state

import workflows
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award, Claim, Drawdown, Milestone, Payment, Report
from foerdercall.awards.operations import (
    accept_milestone,
    record_objection,
    record_payment,
    report_milestone,
    resolve_objection,
    review_interim_report,
    submit_interim_report,
)
from foerdercall.calls.models import Call, Opening
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.i18n import format_money
from foerdercall.outcomes.models import IndicatorValue
from foerdercall.privacy.models import LegalHold
from foerdercall.proposals.models import Proposal, ReasonRequest
from foerdercall.ranking.models import Standstill, TieBreak
from foerdercall.reviews.operations import declare_conflict, sign_neutrality
from foerdercall.timeutil import minute_end
from foerdercall.workflow.engine import fire
from worker.sweep import sweep


def refused(fn, *args, **kw) -> str:
    with pytest.raises(ActionRefused) as exc:
        fn(*args, **kw)
    db.session.rollback()
    return exc.value.message


def events(object_type: str, object_id: int) -> list[tuple]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state, AuditEvent.actor_id)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        )
    ]


def page(app, email: str, url: str) -> str:
    client = app.test_client()
    login(client, email)
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def milestones_of(p) -> list[Milestone]:
    return db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all()


# --- the data -----------------------------------------------------------------------------------------------


MODELS = {
    "proposal": Proposal,
    "call": Call,
    "opening": Opening,
    "objection": Standstill,
    "milestone": Milestone,
    "report": Report,
    "payment": Payment,
    "indicator": IndicatorValue,
    "tie": TieBreak,
    "reasons": ReasonRequest,
    "hold": LegalHold,
    "drawdown": Drawdown,
    "claim": Claim,
}


@pytest.mark.parametrize("name", list(workflows.WORKFLOWS))
def test_every_workflow_is_data_on_its_table_with_its_check(name):
    module = workflows.WORKFLOWS[name]
    assert module.NAME == name and workflows.BY_TABLE[module.TABLE] == name
    assert set(module.STATE_LABELS) == set(module.STATES) and module.INITIAL in module.STATES
    assert set(module.TERMINAL) <= set(module.STATES)
    for t in module.TRANSITIONS:
        assert set(t["source"]) <= set(module.STATES) and t["dest"] in module.STATES, t
        assert bool(t["who"]) != bool(t.get("part_of")), (
            f"{t['trigger']}: who fires it, or what it is part of"
        )
        assert len(t["label"]) == 2
    model = MODELS[name]
    assert model.__tablename__ == module.TABLE
    checks = {
        c.name: str(c.sqltext) for c in model.__table__.constraints if isinstance(c, sa.CheckConstraint)
    }
    assert checks[f"ck_{module.TABLE}_state"] == workflows.state_check(module)


def test_the_json_export_names_the_table_and_what_a_transition_is_part_of():
    import json

    data = json.loads(workflows.to_json(workflows.report))
    assert data["table"] == "reports"
    final = next(t for t in data["transitions"] if t["trigger"] == "accept_final_report")
    assert final["part_of"] == "proposal" and final["who"] == []
    assert "part_of" not in next(t for t in data["transitions"] if t["trigger"] == "accept_interim_report")


# --- the database refuses an unknown state --------------------------------------------------------------------


def test_the_database_refuses_a_state_its_workflow_does_not_know(app, world, clock):
    """Every state column keeps to its workflow's STATES (a CHECK; on SQLite triggers that refuse the same)."""
    standstill, running = make_proposals(world, clock, ["standstill", "in_implementation"])
    record_objection(standstill, world.ka, "Rüge eines Bieters")
    report_milestone(milestones_of(running)[0], running.applicant, "Erreicht")
    submit_interim_report(running, running.applicant, "Halbzeit", "", 0)
    record_payment(running, world.ka, 1_000_00)
    db.session.commit()
    rows = {
        "proposals": running.id,
        "calls": world.call.id,
        "openings": db.session.scalar(select(Opening.id)),
        "standstills": db.session.scalar(select(Standstill.id)),
        "milestones": milestones_of(running)[0].id,
        "reports": db.session.scalar(select(Report.id)),
        "payments": db.session.scalar(select(Payment.id)),
    }
    for table, row_id in rows.items():
        module = workflows.WORKFLOWS[workflows.BY_TABLE[table]]
        for state in module.STATES:  # every state of the workflow is accepted ...
            with db.session.begin_nested() as savepoint:
                db.session.execute(
                    sa.text(f"UPDATE {table} SET state = :s WHERE id = :id"), {"s": state, "id": row_id}
                )
                savepoint.rollback()
        with pytest.raises(sa.exc.IntegrityError):  # ... and no other
            with db.session.begin_nested():
                db.session.execute(
                    sa.text(f"UPDATE {table} SET state = 'verschollen' WHERE id = :id"), {"id": row_id}
                )
    db.session.rollback()
    assert reload_state(running) == "in_implementation"


# --- the opening ----------------------------------------------------------------------------------------------


def test_the_opening_is_requested_and_confirmed_by_two_officials(app, world, clock):
    p = drive(world, clock, "draft")
    fire(p, "submit", world.applicant)
    db.session.commit()
    call = db.session.get(Call, world.call.id)
    assert (
        refused(request_opening, call, world.ka)
        == "Die Angebote können erst nach Ablauf der Einreichungsfrist geöffnet werden."
    )
    assert db.session.scalar(select(func.count(Opening.id))) == 0  # a refused request leaves no row
    assert refused(request_opening, call, world.rev1).startswith("Sie dürfen „Öffnung angestoßen“")
    clock.set(minute_end(call.submission_deadline))
    fire(call, "close", None)
    opening = request_opening(call, world.ka)
    db.session.commit()
    assert opening.state == "requested" and opening.requested_by_id == world.ka.id
    # the two-person rule, a named condition
    assert refused(confirm_opening, call, world.ka) == "Die Öffnung muss eine zweite Person bestätigen."
    assert db.session.get(Call, call.id).is_sealed
    clock.advance(minutes=5)
    confirm_opening(db.session.get(Call, call.id), world.afw)
    db.session.commit()
    opening = db.session.get(Opening, opening.id)
    assert (opening.state, opening.confirmed_by_id, opening.record["proposals"][0]["file_number"]) == (
        "opened",
        world.afw.id,
        p.file_number,
    )
    assert events("openings", opening.id) == [
        ("request_opening", "sealed", "requested", world.ka.id),
        ("confirm_opening", "requested", "opened", world.afw.id),
    ]
    # in the call's record
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.call_id == call.id, AuditEvent.object_type == "openings")
    ).all()
    assert actions == ["request_opening", "confirm_opening"]
    assert (
        refused(fire, db.session.get(Opening, opening.id), "confirm_opening", world.ka2)
        == "„Öffnung bestätigt“ ist im Status „Geöffnet“ nicht möglich."
    )
    html = page(app, world.ka.email, f"/calls/{call.id}/opening")
    assert "Öffnungsniederschrift" in html and p.file_number in html and world.afw.name in html


# --- the objection ----------------------------------------------------------------------------------------------


def test_an_objection_is_recorded_and_resolved_through_its_workflow(app, world, clock):
    (p,) = make_proposals(world, clock, ["standstill"])
    st = db.session.scalar(select(Standstill).where(Standstill.proposal_id == p.id))
    assert st.state == "no_objection"
    assert (
        refused(fire, st, "resolve_objection", world.ka, reason="geprüft", outcome="dismissed")
        == "„Einwand erledigt“ ist im Status „Kein Einwand“ nicht möglich."
    )
    record_objection(p, world.ka, "Bieter B rügt die Bewertung.")
    db.session.commit()
    assert (
        refused(record_objection, p, world.afw, "Noch eine Rüge")
        == "„Einwand erfasst (Stillhaltefrist)“ ist im Status „Einwand offen“ nicht möglich."
    )
    resolve_objection(p, world.afw, "Geprüft: nachvollziehbar.", "dismissed")
    db.session.commit()
    st = db.session.get(Standstill, st.id)
    assert (st.state, st.objection_outcome, st.resolved_by_id) == ("resolved", "dismissed", world.afw.id)
    assert events("standstills", st.id) == [
        ("record_objection", "no_objection", "open", world.ka.id),
        ("resolve_objection", "open", "resolved", world.afw.id),
    ]
    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "resolve_objection", AuditEvent.object_id == st.id)
    ).one()
    assert (ev.proposal_id, ev.call_id, ev.data, ev.reason) == (
        p.id,
        p.call_id,
        {"outcome": "dismissed"},
        "Geprüft: nachvollziehbar.",
    )
    # a second objection after a dismissed one, while the period runs
    record_objection(p, world.ka, "Bieter C rügt ebenfalls.")
    db.session.commit()
    assert db.session.get(Standstill, st.id).state == "open"
    html = page(app, world.ka.email, f"/calls/{p.call_id}/decision")
    assert "Einwand offen" in html and "Bieter C rügt ebenfalls." in html
    history = page(app, world.ka.email, f"/proposals/{p.id}")
    assert "Einwand erfasst (Stillhaltefrist)" in history and "Einwand erledigt" in history
    assert "→ Einwand offen" not in history and "Kein Einwand →" not in history


def test_an_official_with_a_conflict_cannot_record_an_objection(app, world, clock):
    (p,) = make_proposals(world, clock, ["standstill"])
    sign_neutrality(p.call, world.ka)
    declare_conflict(p, world.ka, True, "Mein Bruder ist im Team")
    db.session.commit()
    assert refused(record_objection, p, world.ka, "Rüge").startswith("Sie dürfen „Einwand erfasst")
    record_objection(p, world.ka2, "Rüge")
    db.session.commit()


# --- milestones ------------------------------------------------------------------------------------------------


def test_a_milestone_is_reported_accepted_or_marked_overdue(app, world, clock):
    p = drive(world, clock, "in_implementation")
    first, second = milestones_of(p)
    assert (first.state, second.state) == ("planned", "planned")
    assert (
        refused(accept_milestone, first, world.ka)
        == "„Meilenstein abgenommen“ ist im Status „Geplant“ nicht möglich."
    )
    # only the contractor reports, only an official without a conflict accepts
    assert refused(report_milestone, first, world.applicant2, "fremd").startswith(
        "Sie dürfen „Meilenstein berichtet“"
    )
    report_milestone(first, world.applicant, "Kick-off erledigt")
    db.session.commit()
    assert refused(accept_milestone, first, world.applicant).startswith("Sie dürfen „Meilenstein abgenommen“")
    accept_milestone(first, world.ka)
    db.session.commit()
    assert (
        refused(report_milestone, first, world.applicant, "nachträglich")
        == "„Meilenstein berichtet“ ist im Status „Abgenommen“ nicht möglich."
    )
    assert events("milestones", first.id) == [
        ("report_milestone", "planned", "reported", world.applicant.id),
        ("accept_milestone", "reported", "accepted", world.ka.id),
    ]
    # the worker marks the second overdue once (a second sweep changes nothing); it can still be reported
    sweep(minute_end(second.due_at))
    sweep(minute_end(second.due_at))
    second = db.session.get(Milestone, second.id)
    assert second.state == "overdue" and second.overdue_at == minute_end(second.due_at)
    report_milestone(second, world.applicant, "Halbzeit, verspätet")
    db.session.commit()
    assert events("milestones", second.id) == [
        ("milestone_overdue", "planned", "overdue", None),
        ("report_milestone", "overdue", "reported", world.applicant.id),
    ]
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.proposal_id == p.id, AuditEvent.action.like("%milestone%")
            )
        )
        == 4
    )
    html = page(app, world.applicant.email, f"/proposals/{p.id}")
    assert "Kick-off erledigt" in html and "Halbzeit, verspätet" in html and "✓" in html
    assert "Meilenstein überfällig" in html and "Meilenstein abgenommen" in html
    assert "→ Berichtet" not in html and "→ Abgenommen" not in html  # the proposal's states only
    # the applicant's progress still follows the proposal's states
    assert 'aria-current="step">In Umsetzung' in html


# --- reports ---------------------------------------------------------------------------------------------------


def test_the_interim_report_is_submitted_returned_and_accepted(app, world, clock):
    p = drive(world, clock, "in_implementation")
    r = submit_interim_report(p, world.applicant, "Halbzeit", "Honorare", 4_000_00)
    db.session.commit()
    assert r.state == "submitted" and r.submitted_by_id == world.applicant.id
    assert (
        refused(submit_interim_report, p, world.applicant, "noch einer", "", 0)
        == "Ein Zwischenbericht liegt bereits vor."
    )
    assert refused(review_interim_report, r, world.ka, False, " ") == "Bitte begründen Sie die Nachbesserung."
    review_interim_report(db.session.get(Report, r.id), world.ka, False, "Bitte die Ausgaben belegen.")
    db.session.commit()
    assert (
        refused(review_interim_report, db.session.get(Report, r.id), world.afw, True)
        == "„Zwischenbericht abgenommen“ ist im Status „Nachbesserung angefordert“ nicht möglich."
    )
    again = submit_interim_report(p, world.applicant, "Halbzeit, belegt", "Honorare", 4_000_00)
    review_interim_report(again, world.afw, True)
    db.session.commit()
    assert events("reports", r.id) == [
        ("submit_interim_report", "draft", "submitted", world.applicant.id),
        ("return_interim_report", "submitted", "changes_requested", world.ka.id),
    ]
    assert events("reports", again.id) == [
        ("submit_interim_report", "draft", "submitted", world.applicant.id),
        ("accept_interim_report", "submitted", "accepted", world.afw.id),
    ]
    html = page(app, world.applicant.email, f"/proposals/{p.id}")
    assert "Nachbesserung angefordert" in html and "abgenommen" in html
    assert "Bitte die Ausgaben belegen." in html


def test_the_final_report_moves_with_the_proposal(app, world, clock):
    p = drive(world, clock, "final_report_submitted")
    final = db.session.scalars(select(Report).where(Report.proposal_id == p.id, Report.kind == "final")).one()
    assert final.state == "submitted"
    # never fired alone: only with the proposal's transition
    assert refused(fire, final, "accept_final_report", world.ka).startswith("Sie dürfen")
    fire(p, "request_report_changes", world.ka, reason="Bitte die Zahlen ergänzen.")
    db.session.commit()
    assert db.session.get(Report, final.id).state == "changes_requested"
    fire(p, "submit_final_report", world.applicant, narrative="Ergänzt", spent_cents=9_000_00)
    fire(p, "accept_final_report", world.afw)
    db.session.commit()
    states = db.session.scalars(
        select(Report.state).where(Report.proposal_id == p.id, Report.kind == "final").order_by(Report.id)
    ).all()
    assert states == ["changes_requested", "accepted"]
    assert events("reports", final.id) == []  # the proposal's events record them
    assert reload_state(p) == "completed"


# --- payments --------------------------------------------------------------------------------------------------


def test_a_payment_is_recorded_as_paid_and_never_exceeds_the_award(app, world, clock):
    p = drive(world, clock, "in_implementation")
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    pay = record_payment(p, world.ka, 4_000_00, "1. Abschlag")
    db.session.commit()
    assert (pay.state, pay.recorded_by_id) == ("paid", world.ka.id)
    assert events("payments", pay.id) == [("record_payment", "pending", "paid", world.ka.id)]
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "record_payment")).one()
    assert (ev.proposal_id, ev.call_id, ev.data, ev.reason) == (
        p.id,
        p.call_id,
        {"amount_cents": 4_000_00, "paid_cents": 4_000_00},
        "1. Abschlag",
    )
    left = award.amount_cents - 4_000_00
    assert refused(record_payment, p, world.ka, left + 1) == (
        f"Die Zahlung überschreitet die Auftragssumme (noch offen: {format_money(left)})."
    )
    assert refused(record_payment, p, world.applicant, 1_00).startswith("Sie dürfen „Zahlung erfasst“")
    assert db.session.scalar(select(func.count(Payment.id))) == 1  # refused: no row
    assert (
        refused(fire, db.session.get(Payment, pay.id), "record_payment", world.afw)
        == "„Zahlung erfasst“ ist im Status „Gezahlt“ nicht möglich."
    )
    record_payment(p, world.afw, left)
    db.session.commit()
    assert db.session.scalar(select(Award).where(Award.proposal_id == p.id)).paid_cents == award.amount_cents
    html = page(app, world.ka.email, f"/proposals/{p.id}")
    assert "1. Abschlag" in html and "Zahlung erfasst" in html


def test_payments_wait_for_the_accepted_award(app, world, clock):
    approved, awarded = make_proposals(world, clock, ["approved", "awarded"])
    assert (
        refused(record_payment, approved, world.ka, 1_00)
        == "Zahlungen sind nur für beauftragte Maßnahmen möglich."
    )
    assert (
        refused(record_payment, awarded, world.ka, 1_00)
        == "Zahlungen sind nur für beauftragte Maßnahmen möglich."
    )
    assert reload_state(awarded) == "awarded"

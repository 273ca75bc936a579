"""Small rules (issue 17, hole 9): an award never exceeds the offered price, a running call's deadline is
never corrected into the past, and a number 0 is a number (not "missing") in every form."""

from __future__ import annotations

import pytest
from conftest import approve_after_deadline, berlin, criteria_fields, field_rows, fill_draft, login
from sqlalchemy import select

from foerdercall.errors import ActionRefused
from foerdercall.extensions import db

# --- an award is at most the offered price -----------------------------------------------------------------


@pytest.fixture
def approved(app, world, clock):
    from foerdercall.proposals.operations import start_draft
    from foerdercall.workflow.engine import fire

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, amount=10_000_00)
    fire(p, "submit", world.applicant)
    approve_after_deadline(world, clock, world.call, p)
    db.session.commit()
    return p


def test_an_award_above_the_offered_price_is_refused_with_a_message(app, world, approved):
    from foerdercall.awards.models import Award

    p = approved
    client = app.test_client()
    login(client, world.ka.email)
    resp = client.post(f"/proposals/{p.id}/award", data={"amount": "10.000,01"}, follow_redirects=True)
    text = resp.get_data(as_text=True).replace("\xa0", " ")
    assert "Der Zuschlag darf den Angebotspreis von 10.000,00 € nicht übersteigen." in text, text[-3000:]
    db.session.expire_all()
    assert p.state == "approved" and db.session.scalar(select(Award.id)) is None
    with pytest.raises(ActionRefused):
        from foerdercall.awards.operations import make_award

        make_award(p, world.ka, 10_000_01)
    db.session.rollback()
    # the offered price or less is awarded
    resp = client.post(f"/proposals/{p.id}/award", data={"amount": "9.500"})
    db.session.expire_all()
    assert p.state == "awarded" and db.session.scalar(select(Award.amount_cents)) == 9_500_00


def test_a_standstill_is_not_started_for_more_than_the_offered_price(app, world, approved):
    from foerdercall.workflow.engine import fire

    approved.call.standstill_threshold_cents = 5_000_00
    with pytest.raises(ActionRefused, match="Angebotspreis"):
        fire(approved, "start_standstill", world.ka, amount_cents=12_000_00)


def test_an_award_of_zero_is_refused_not_made_at_the_full_price(app, world, approved):
    """0 is an amount (a falsy zero must not fall back to the offered price)."""
    from foerdercall.awards.operations import make_award

    with pytest.raises(ActionRefused):
        make_award(approved, world.ka, 0)
    db.session.rollback()
    client = app.test_client()
    login(client, world.ka.email)
    resp = client.post(f"/proposals/{approved.id}/award", data={"amount": "0"}, follow_redirects=True)
    assert "Der Betrag muss zwischen 0 und der Obergrenze" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert approved.state == "approved"


def test_a_payment_of_zero_is_refused_with_its_own_message(app, world, approved):
    from foerdercall.awards.operations import make_award, record_payment
    from foerdercall.workflow.engine import fire

    make_award(approved, world.ka)
    fire(approved, "accept_award", world.applicant)
    with pytest.raises(ActionRefused, match="größer als 0"):
        record_payment(approved, world.ka, 0)


# --- a running call's deadline is not corrected into the past -----------------------------------------------


def test_a_running_calls_deadline_cannot_be_corrected_into_the_past(app, world, clock):
    from foerdercall.calls.operations import correct_call

    call = world.call
    deadline = call.submission_deadline
    client = app.test_client()
    login(client, world.ka.email)
    resp = client.post(
        f"/calls/{call.id}/correct",
        data={
            "description": "neu",
            "submission_deadline": "2026-09-30T12:00",
            "reason": "Frist vorgezogen, mühsam begründet",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Die berichtigte Einreichungsfrist liegt in der Vergangenheit" in html
    assert "Frist vorgezogen, mühsam begründet" in html  # the typed reason is kept
    db.session.expire_all()
    assert (call.submission_deadline, call.version, call.description) == (deadline, 1, "Testaufruf")
    # this very minute is past as well once its 59th second is gone; a later moment is accepted
    clock.set(berlin(2026, 10, 1, 9, 0))
    with pytest.raises(ActionRefused):
        correct_call(call, world.ka, "x", submission_deadline=berlin(2026, 10, 1, 8, 59))
    db.session.rollback()
    correct_call(call, world.ka, "verlängert", submission_deadline=berlin(2026, 11, 30, 23, 59))
    db.session.commit()
    assert call.version == 2


def test_a_correction_that_leaves_a_passed_deadline_alone_is_not_refused_for_it(app, world, clock):
    """After the deadline, before the worker closed the call: the description can still be corrected."""
    from foerdercall.calls.operations import correct_call

    clock.set(berlin(2026, 11, 1, 0, 0, 30))
    correct_call(
        world.call,
        world.ka,
        "Tippfehler",
        description="berichtigt",
        submission_deadline=world.call.submission_deadline,
    )
    assert world.call.version == 2


# --- 0 is a number ----------------------------------------------------------------------------------------

CALL = {
    "code": "NULL26",
    "title": "Null",
    "description": "",
    **field_rows("networks"),
    "deciding_offices": ["KA", "AfWiFoe"],
    "mode": "procurement",
    "budget": "10000",
    "max_amount": "5000",
    "estimated_value": "10000",
    "opens_at": "2026-12-01T00:00",
    "submission_deadline": "2027-01-31T23:59",
    "clarification_days": "14",
    "acceptance_days": "28",
    "implementation_months": "12",
    "scale_max": "5",
    "min_total": "0",
    **criteria_fields("100 | - | Qualität"),
    "standstill_threshold": "0",
    "signoff_reminder_days": "3",
    "signoff_escalation_days": "5",
    "milestone_reminder_days": "7",
    "implementation_reminder_days": "30",
    "retention_months": "6",
}


def test_a_minimum_total_of_0_and_a_standstill_threshold_of_0_are_kept(app, world):
    from foerdercall.calls.models import Call

    client = app.test_client()
    login(client, world.ka.email)
    resp = client.post("/calls/new", data=CALL)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    call = db.session.scalar(select(Call).where(Call.code == "NULL26"))
    assert (call.min_total, call.standstill_threshold_cents) == (0, 0)


def test_no_number_field_takes_0_for_missing(app):
    """The class: DataRequired tests truthiness, so 0 reads as "missing". A field that parses a number says
    "required" with InputRequired (the range or the service says what is allowed)."""
    from test_hand_made_values import _bound, _forms
    from wtforms import DecimalField, FloatField, IntegerField
    from wtforms.validators import DataRequired

    from forms.fields import DaysField, DaysListField, MoneyField

    numbers = (IntegerField, DecimalField, FloatField, MoneyField, DaysField, DaysListField)
    problems = [
        f"{name}.{field.name}"
        for name, cls in sorted(_forms().items())
        for field in _bound(cls, app)
        if isinstance(field, numbers) and any(isinstance(v, DataRequired) for v in field.validators)
    ]
    assert problems == []

"""Deadlines exact to the minute, in Leipzig time, across both clock changes of 2026.

A deadline "23:59" holds through 23:59:59; at 00:00:00 the submission is refused with a clear message and
the draft (its text and its attachments) stays as it was.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import DEADLINE, berlin, criteria_fields, field_rows, fill_draft, login, publish
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import DataRequired

from foerdercall import timeutil
from foerdercall.audit.models import AuditEvent
from foerdercall.calls.models import Call
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.i18n import format_dt
from foerdercall.proposals.models import Attachment, Proposal
from foerdercall.proposals.operations import extend_deadline, start_draft, submit
from forms.fields import BerlinDateTimeField
from worker.sweep import sweep

UTC = dt.UTC

# (call code, deadline in Leipzig, the same moment in UTC, the clock while the call is set up)
CASES = {
    "regular": ("KW26", DEADLINE, dt.datetime(2026, 10, 31, 22, 59, tzinfo=UTC), None),
    # 25.10.2026: clocks go back at 03:00 CEST; from then on the day is CET (UTC+1)
    "autumn-change-day": (
        "HERBST",
        (2026, 10, 25, 23, 59),
        dt.datetime(2026, 10, 25, 22, 59, tzinfo=UTC),
        None,
    ),
    # 29.03.2026: clocks go forward at 02:00 CET; from then on the day is CEST (UTC+2)
    "spring-change-day": (
        "FRUEH",
        (2026, 3, 29, 23, 59),
        dt.datetime(2026, 3, 29, 21, 59, tzinfo=UTC),
        berlin(2026, 3, 1, 9, 0),
    ),
}


def call_for(world, clock, case):
    """The world's call, or a published call whose deadline falls on a clock-change day."""
    code, deadline, _utc, setup_at = CASES[case]
    if code == "KW26":
        return world.call
    if setup_at is not None:
        clock.set(setup_at)
    opens = berlin(deadline[0], deadline[1], 1, 0, 0) - dt.timedelta(days=20)
    call = create_call(
        world.ka,
        code=code,
        title=f"Aufruf {code}",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=opens,
        submission_deadline=berlin(*deadline),
    )
    publish(call, world.ka)
    db.session.commit()
    return call


def shown(deadline) -> str:
    """The deadline as the application writes it: 31.10.2026, 23:59 Uhr."""
    year, month, day, hour, minute = deadline
    return f"{day:02d}.{month:02d}.{year}, {hour:02d}:{minute:02d} Uhr"


def next_midnight(deadline) -> dt.datetime:
    day = dt.date(*deadline[:3]) + dt.timedelta(days=1)
    return berlin(day.year, day.month, day.day, 0, 0, 0)


def draft_of(call, user, title):
    p = start_draft(call, user)
    fill_draft(p, user, title=title)
    db.session.commit()
    return p


def stored(p) -> Proposal:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Proposal, p.id)


def attachment_names(p) -> list[str]:
    return sorted(db.session.scalars(select(Attachment.filename).where(Attachment.proposal_id == p.id)))


@pytest.mark.parametrize("case", list(CASES))
def test_deadline_holds_through_its_last_second(app, world, clock, case):
    code, deadline, utc, _ = CASES[case]
    call = call_for(world, clock, case)
    assert call.submission_deadline == utc
    assert format_dt(call.submission_deadline, "de") == shown(deadline)
    on_time = draft_of(call, world.applicant, "Pünktlich")
    late = draft_of(call, world.applicant2, "Zu spät, aber gespeichert")

    clock.set(berlin(*deadline, 59))  # 23:59:59 Leipzig time
    submit(on_time, world.applicant)
    db.session.commit()
    on_time = stored(on_time)
    assert (on_time.state, on_time.submitted_at) == ("submitted", utc + dt.timedelta(seconds=59))
    assert on_time.file_number == f"{code}-0001"

    clock.set(next_midnight(deadline))  # 00:00:00 the next day
    assert clock.t == utc + dt.timedelta(minutes=1)
    with pytest.raises(ActionRefused) as exc:
        submit(late, world.applicant2)
    assert exc.value.message == (
        f"Die Einreichungsfrist ist am {shown(deadline)} abgelaufen. Ihr Entwurf bleibt gespeichert."
    )
    db.session.commit()  # what the caller has is kept; the refusal itself wrote nothing
    late = stored(late)
    assert (late.state, late.title, late.file_number, late.submitted_at) == (
        "draft",
        "Zu spät, aber gespeichert",
        None,
        None,
    )
    assert attachment_names(late) == ["declarations.pdf", "offer.pdf"]
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.proposal_id == late.id, AuditEvent.action == "submit"
            )
        )
        == 0
    )


@pytest.mark.parametrize("case", list(CASES))
def test_worker_closes_the_call_at_midnight_leipzig_time(app, world, clock, case):
    _code, deadline, utc, _ = CASES[case]
    call = call_for(world, clock, case)
    for seconds_after in (0, 59):  # 23:59:00 and 23:59:59 still belong to the applicants
        sweep(utc + dt.timedelta(seconds=seconds_after))
        assert db.session.get(Call, call.id).state == "published"
    sweep(next_midnight(deadline))
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert (call.state, call.closed_at) == ("closed", utc + dt.timedelta(minutes=1))


# --- through the web form -----------------------------------------------------------------------------------


def form_data(title, action="submit"):
    return {
        "title": title,
        "field_of_action": "networks",
        "summary": "Kurz",
        "description": "Konzept aus dem Browser",
        "work_plan": "Plan",
        "team": "Team",
        "leipzig_relation": "Leipzig",
        "requested_amount": "10.000,00",
        "action": action,
    }


@pytest.mark.parametrize("case", list(CASES))
def test_submission_over_http_at_the_deadline(app, world, clock, case):
    code, deadline, utc, _ = CASES[case]
    call = call_for(world, clock, case)
    on_time = draft_of(call, world.applicant, "Alt")
    late = draft_of(call, world.applicant2, "Alt")

    ada = app.test_client()
    login(ada, "app@x.test")
    clock.set(berlin(*deadline, 59))
    resp = ada.post(f"/proposals/{on_time.id}/edit", data=form_data("Im letzten Moment"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/proposals/{on_time.id}")
    page = ada.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"{code}-0001" in page
    on_time = stored(on_time)
    assert (on_time.state, on_time.title) == ("submitted", "Im letzten Moment")
    assert on_time.submitted_at == utc + dt.timedelta(seconds=59)

    bruno = app.test_client()
    login(bruno, "app2@x.test")
    clock.set(next_midnight(deadline))
    typed = "Neu getippt um Mitternacht – bitte nicht verlieren"
    resp = bruno.post(f"/proposals/{late.id}/edit", data=form_data(typed))
    assert resp.status_code == 422  # the draft page again, with the reason
    page = resp.get_data(as_text=True)
    assert (
        f"Die Einreichungsfrist ist am {shown(deadline)} abgelaufen. Ihr Entwurf bleibt gespeichert." in page
    )
    assert typed in page  # the form shows what was typed
    late = stored(late)
    assert (late.state, late.title, late.description) == ("draft", typed, "Konzept aus dem Browser")
    assert late.requested_amount_cents == 10_000_00
    assert late.file_number is None
    assert attachment_names(late) == ["declarations.pdf", "offer.pdf"]


class TickingClock:
    """Every reading is one second later than the last: a request that takes its time."""

    def __init__(self, start):
        self.t = start

    def __call__(self):
        value = self.t
        self.t += dt.timedelta(seconds=1)
        return value


def test_a_submission_started_before_the_deadline_counts_even_if_it_ends_after(app, world, clock):
    p = draft_of(world.call, world.applicant, "Knapp")
    client = app.test_client()
    login(client, "app@x.test")
    ticking = TickingClock(berlin(*DEADLINE, 59))
    timeutil.set_clock(ticking)
    resp = client.post(f"/proposals/{p.id}/edit", data=form_data("Knapp"))
    timeutil.set_clock(clock)
    assert ticking.t > berlin(2026, 11, 1, 0, 0)  # the request did run past the deadline
    assert resp.status_code == 302
    p = stored(p)
    assert p.state == "submitted"
    assert p.submitted_at == berlin(*DEADLINE, 59)  # the time of receipt is when the request came in


# --- the date-time field ---------------------------------------------------------------------------------------


class DeadlineForm(Form):
    deadline = BerlinDateTimeField("Frist", validators=[DataRequired()])  # as in the call and extension forms


def parse(raw):
    form = DeadlineForm(formdata=MultiDict({"deadline": raw}))
    ok = form.validate()
    return ok, form.deadline.data, [str(e) for e in form.deadline.errors]


VALID = [
    ("2026-10-31T23:59", dt.datetime(2026, 10, 31, 22, 59, tzinfo=UTC)),
    ("31.10.2026 23:59", dt.datetime(2026, 10, 31, 22, 59, tzinfo=UTC)),
    ("2026-07-01T12:00", dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("2026-03-29T01:59", dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),  # just before the spring gap
    ("2026-03-29T03:00", dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # just after it
    ("2026-10-25T01:59", dt.datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),  # before the repeated hour
    ("2026-10-25T03:00", dt.datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),  # after it
]
SKIPPED_OR_REPEATED = [
    "2026-03-29T02:00",
    "2026-03-29T02:30",
    "2026-10-25T02:00",
    "2026-10-25T02:30",
    "2026-10-25T02:59",
]


def test_berlin_datetime_field(app):
    for raw, utc in VALID:
        assert parse(raw) == (True, utc, []), raw
    for raw in SKIPPED_OR_REPEATED:
        assert parse(raw) == (
            False,
            None,
            [
                "Diese Uhrzeit gibt es wegen der Zeitumstellung in Leipzig nicht eindeutig; "
                "bitte wählen Sie eine andere."
            ],
        ), raw
    assert parse("morgen früh") == (False, None, ["Bitte Datum und Uhrzeit angeben, z. B. 31.10.2026 23:59."])
    assert parse("")[:2] == (False, None)


def call_form(deadline_raw, code="NEU27"):
    return {
        "code": code,
        "title": "Neuer Aufruf",
        "description": "",
        **field_rows("networks"),
        "deciding_offices": ["KA", "AfWiFoe"],
        "mode": "procurement",
        "legal_regime": "",
        "procedure_type": "",
        "procedure_reason": "",
        "estimated_value": "50.000,00",
        "budget": "50.000,00",
        "max_amount": "25.000,00",
        "opens_at": "2026-10-02T00:00",
        "submission_deadline": deadline_raw,
        "review_deadline": "",
        "clarification_days": "14",
        "acceptance_days": "28",
        "implementation_months": "12",
        "scale_max": "5",
        "min_total": "50",
        **criteria_fields("60 | - | Innovation\n40 | 2 | Umsetzbarkeit"),
    }


def test_a_time_the_clock_change_skips_or_repeats_is_a_form_error_not_a_500(app, world, clock):
    client = app.test_client()
    login(client, "ka@x.test")
    for raw in ("2027-03-28T02:30", "2026-10-25T02:30"):
        resp = client.post("/calls/new", data=call_form(raw))
        assert resp.status_code == 422, raw
        assert "wegen der Zeitumstellung in Leipzig nicht eindeutig" in resp.get_data(as_text=True), raw
        db.session.expire_all()
        assert db.session.scalar(select(Call.id).where(Call.code == "NEU27")) is None
    # the same form with a real time is accepted
    resp = client.post("/calls/new", data=call_form("2027-03-28T03:30"))
    assert resp.status_code == 302
    db.session.expire_all()
    new = db.session.scalars(select(Call).where(Call.code == "NEU27")).one()
    assert new.submission_deadline == dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


# --- a personal extension ----------------------------------------------------------------------------------

EXTENDED = berlin(2026, 11, 3, 12, 0)


def test_personal_extension_is_documented_and_lets_one_applicant_submit_late(app, world, clock):
    ada = draft_of(world.call, world.applicant, "Mit Verlängerung")
    bruno = draft_of(world.call, world.applicant2, "Ohne Verlängerung")
    for bad_reason, bad_deadline, message in (
        ("", EXTENDED, "begründen"),
        ("Krankheit", berlin(*DEADLINE), "nach der Frist des Aufrufs"),
    ):
        with pytest.raises(ActionRefused, match=message):
            extend_deadline(ada, world.ka, bad_deadline, bad_reason)
        db.session.rollback()
    extend_deadline(ada, world.ka, EXTENDED, "Krankheit der Projektleitung (Attest liegt vor)")
    db.session.commit()
    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.proposal_id == ada.id, AuditEvent.action == "extend_deadline")
    ).one()
    assert (ev.actor_id, ev.actor_office, ev.reason) == (
        world.ka.id,
        "KA",
        "Krankheit der Projektleitung (Attest liegt vor)",
    )
    assert ev.data == {"from": None, "to": EXTENDED.isoformat()}
    call = db.session.get(Call, world.call.id)
    assert (call.submission_deadline, call.version) == (berlin(*DEADLINE), 1)  # the call is unchanged

    # the worker closes the call at its deadline; Bruno is late, Ada is not
    clock.set(berlin(2026, 11, 1, 0, 0))
    sweep()
    assert db.session.get(Call, world.call.id).state == "closed"
    with pytest.raises(ActionRefused, match="am 31.10.2026, 23:59 Uhr abgelaufen"):
        submit(stored(bruno), world.applicant2)
    clock.set(berlin(2026, 11, 3, 12, 0, 59))
    submit(stored(ada), world.applicant)
    db.session.commit()
    ada = stored(ada)
    assert (ada.state, ada.submitted_at) == ("submitted", berlin(2026, 11, 3, 12, 0, 59))
    assert stored(bruno).state == "draft"


def test_personal_extension_ends_to_the_minute(app, world, clock):
    p = draft_of(world.call, world.applicant, "Verlängert")
    extend_deadline(p, world.afw, EXTENDED, "Technische Störung beim Upload")
    db.session.commit()
    clock.set(berlin(2026, 11, 3, 12, 1))
    with pytest.raises(ActionRefused) as exc:
        submit(stored(p), world.applicant)
    assert exc.value.message == (
        "Die Einreichungsfrist ist am 03.11.2026, 12:00 Uhr abgelaufen. Ihr Entwurf bleibt gespeichert."
    )
    assert stored(p).state == "draft"


def test_opening_waits_for_a_running_extension(app, world, clock):
    """Sealed until the deadline: the officials may not open (and read) the offers while one applicant
    may still submit; once they have opened, no extension is granted any more."""
    p = draft_of(world.call, world.applicant, "Verlängert")
    extend_deadline(p, world.ka, EXTENDED, "Technische Störung beim Upload")
    db.session.commit()
    clock.set(berlin(2026, 11, 2, 9, 0))
    sweep()
    call = db.session.get(Call, world.call.id)
    with pytest.raises(
        ActionRefused, match="verlängerte Einreichungsfrist läuft noch bis 03.11.2026, 12:00 Uhr"
    ):
        request_opening(call, world.ka)
    db.session.rollback()
    assert db.session.get(Call, world.call.id).opening is None
    clock.set(berlin(2026, 11, 3, 12, 1))
    call = db.session.get(Call, world.call.id)
    request_opening(call, world.ka)
    confirm_opening(call, world.afw)
    db.session.commit()
    other = db.session.get(Proposal, p.id)
    with pytest.raises(ActionRefused, match="Nach der Öffnung"):
        extend_deadline(other, world.ka, berlin(2026, 11, 10, 12, 0), "noch einmal")


def test_extension_through_the_web_form(app, world, clock):
    p = draft_of(world.call, world.applicant, "Verlängert")
    official = app.test_client()
    login(official, "ka@x.test")
    data = {"email": "app@x.test", "deadline": "2026-11-03T12:00", "reason": "Krankheit"}
    resp = official.post(f"/calls/{world.call.id}/extend", data=data)
    assert resp.status_code == 302
    assert stored(p).personal_deadline == EXTENDED
    # a time that does not exist in Leipzig is refused, the extension stays as it was
    resp = official.post(
        f"/calls/{world.call.id}/extend", data={**data, "deadline": "2027-03-28T02:30"}, follow_redirects=True
    )
    assert "Bitte geben Sie E-Mail-Adresse, Frist und Begründung an." in resp.get_data(as_text=True)
    assert stored(p).personal_deadline == EXTENDED
    # the applicant sees the extended deadline; an applicant cannot extend
    ada = app.test_client()
    login(ada, "app@x.test")
    page = ada.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert "03.11.2026, 12:00 Uhr" in page and "für Sie verlängert" in page
    resp = ada.post(f"/calls/{world.call.id}/extend", data={**data, "deadline": "2026-12-24T12:00"})
    assert resp.status_code == 403
    assert stored(p).personal_deadline == EXTENDED

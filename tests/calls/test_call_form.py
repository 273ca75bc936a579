"""Bad input on the call form gets a clear message on the field and creates nothing."""

import re

import pytest
from conftest import PASSWORD, call_form, field_rows, login
from sqlalchemy import func, select

from foerdercall.accounts.operations import create_user
from foerdercall.extensions import db
from foerdercall.models import AuditEvent, Call

GOOD = call_form()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"budget": "zwölf Euro"}, "Bitte einen Betrag in Euro eingeben"),
        ({"budget": "99999999999999999999"}, "Der Betrag ist zu groß"),
        ({"max_amount": "200.000,00"}, "Die Obergrenze darf das Budget nicht übersteigen"),
        ({"submission_deadline": "2027-03-28T02:30"}, "Zeitumstellung"),  # does not exist in Leipzig
        ({"submission_deadline": "morgen"}, "Bitte Datum und Uhrzeit angeben"),
        (
            {"submission_deadline": "2026-12-31T23:59"},
            "Die Frist muss nach dem Beginn der Einreichung liegen",
        ),
        ({"criteria-0-weight": "sechzig"}, "Kriterium 1: Das Gewicht ist eine ganze Zahl"),
        (
            {"criteria-1-knockout_min": "9"},
            "Kriterium 2: Das K.-o.-Minimum ist leer oder eine ganze Zahl von 0 bis 5",
        ),
        ({"criteria-1-name": " "}, "Kriterium 2: Bitte geben Sie einen Namen an."),
        ({"code": "KW 27/<script>"}, "Nur Buchstaben, Ziffern und -"),
        ({"fields_of_action-0-de": ""}, "Handlungsfeld 1: Bitte geben Sie die Bezeichnung an."),
        (
            {"fields_of_action-1-key": "", "fields_of_action-1-de": "netzwerke"},
            "Handlungsfeld 2: Dieses Handlungsfeld steht schon in der Liste.",
        ),
        (
            {"milestone_plan-0-de": "Start", "milestone_plan-0-month": "13"},
            "Meilenstein 1: Der Monat ist eine ganze Zahl von 1 bis 12",
        ),
        ({"title": ""}, "Dieses Feld wird benötigt"),
        ({"clarification_days": "100000000000000000000"}, "Tage"),
    ],
)
def test_bad_call_input_is_refused_on_the_field(app, changes, message):
    create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
    db.session.commit()
    client = app.test_client()
    login(client, "ka@example.org")
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    resp = client.post("/calls/new", data={**GOOD, **changes})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422, body[:500]
    assert "Bitte prüfen Sie die markierten Felder" in body
    assert message in body or message == "Tage", body
    # the error is linked to its field for screen readers
    assert re.search(r'aria-describedby="([a-z0-9_-]+)-err"', body) and 'class="error" id="' in body
    assert db.session.scalar(select(func.count(Call.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_good_input_creates_a_draft_call_with_the_typed_values(app):
    create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
    db.session.commit()
    client = app.test_client()
    login(client, "ka@example.org")
    assert client.post("/calls/new", data=GOOD).status_code == 302
    call = db.session.scalar(select(Call))
    assert (call.budget_cents, call.max_amount_cents, call.state) == (100_000_00, 25_000_00, "draft")
    assert [(c.weight, c.knockout_min) for c in call.criteria] == [(60, 2), (40, None)]
    assert call.submission_deadline.isoformat() == "2027-03-31T21:59:00+00:00"  # 23:59 summer time


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"reminder_days": "7, eins"}, "Bitte ganze Tage von 1 bis 365 angeben, durch Kommas getrennt"),
        ({"reminder_days": "7, 0"}, "Bitte ganze Tage von 1 bis 365 angeben, durch Kommas getrennt"),
        ({"reminder_days": "-3"}, "Bitte ganze Tage von 1 bis 365 angeben, durch Kommas getrennt"),
        ({"reminder_days": "7,,1"}, "Bitte ganze Tage von 1 bis 365 angeben, durch Kommas getrennt"),
        ({"review_reminder_days": "99999999999999999999"}, "Bitte ganze Tage von 1 bis 365 angeben"),
        ({"signoff_reminder_days": "0"}, "Bitte ganze Tage von 1 bis 365 angeben"),
        ({"signoff_escalation_days": "2,5"}, "Bitte ganze Tage von 1 bis 365 angeben"),
        ({"milestone_reminder_days": "-7"}, "Bitte ganze Tage von 1 bis 365 angeben"),
        ({"implementation_reminder_days": "100000000000000000000"}, "Bitte ganze Tage von 1 bis 365 angeben"),
        ({"implementation_reminder_days": ""}, "Dieses Feld wird benötigt"),
        (
            {"signoff_reminder_days": "6", "signoff_escalation_days": "5"},
            "Die Eskalation kann nicht vor der Erinnerung liegen",
        ),
    ],
)
def test_bad_reminder_days_are_refused_on_the_field(app, changes, message):
    create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
    db.session.commit()
    client = app.test_client()
    login(client, "ka@example.org")
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    resp = client.post("/calls/new", data={**GOOD, **changes})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422, body[:500]
    assert message in body, body
    field = next(iter(changes)) if len(changes) == 1 else "signoff_escalation_days"
    assert f'aria-describedby="{field}-err"' in body
    assert db.session.scalar(select(func.count(Call.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_reminder_days_and_the_hold_flag_are_stored_and_editable_while_draft(app):
    create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
    db.session.commit()
    client = app.test_client()
    login(client, "ka@example.org")
    # without the fields: the defaults
    assert client.post("/calls/new", data=GOOD).status_code == 302
    call = db.session.scalar(select(Call))
    assert (
        call.reminder_days,
        call.review_reminder_days,
        call.signoff_reminder_days,
        call.signoff_escalation_days,
        call.milestone_reminder_days,
        call.implementation_reminder_days,
        call.hold_decision_mails,
    ) == ([7, 1], [3, 1], 3, 5, 7, 30, False)
    form = client.get(f"/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="7, 1"' in form and 'value="3, 1"' in form
    resp = client.post(
        f"/calls/{call.id}/edit",
        data={
            **GOOD,
            "reminder_days": "1, 14 ,7",
            "review_reminder_days": "",
            "signoff_reminder_days": "2",
            "signoff_escalation_days": "4",
            "milestone_reminder_days": "10",
            "implementation_reminder_days": "60",
            "hold_decision_mails": "y",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    call = db.session.scalar(select(Call))
    assert (
        call.reminder_days,
        call.review_reminder_days,
        call.signoff_reminder_days,
        call.signoff_escalation_days,
        call.milestone_reminder_days,
        call.implementation_reminder_days,
        call.hold_decision_mails,
    ) == ([14, 7, 1], [], 2, 4, 10, 60, True)
    assert 'value="14, 7, 1"' in client.get(f"/calls/{call.id}/edit").get_data(as_text=True)


def test_the_fields_of_action_and_the_milestone_plan_are_rows_of_the_call(app):
    """An official names the call's own fields of action (German and English) and its milestone plan in the
    editor; a renamed field keeps its key (proposals and mail templates name it), a new one gets a key."""
    create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
    db.session.commit()
    client = app.test_client()
    login(client, "ka@example.org")
    rows = {
        **field_rows("networks"),
        "fields_of_action-1-key": "",
        "fields_of_action-1-de": "Jugendkultur im Stadtteil",
        "fields_of_action-1-en": "",
        "milestone_plan-0-de": "Auftakt",
        "milestone_plan-0-en": "Kick-off",
        "milestone_plan-0-month": "1",
        "milestone_plan-1-de": "Werkschau",
        "milestone_plan-1-en": "",
        "milestone_plan-1-month": "6",
    }
    # without JavaScript: "add a milestone" shows the form again with one more row and everything typed
    page = client.post("/calls/new", data={**GOOD, **rows, "row_action": "milestone_plan:add"}).get_data(
        as_text=True
    )
    assert 'name="milestone_plan-2-de"' in page and 'value="Jugendkultur im Stadtteil"' in page
    assert db.session.scalar(select(func.count(Call.id))) == 0

    assert client.post("/calls/new", data={**GOOD, **rows}).status_code == 302
    call = db.session.scalar(select(Call).where(Call.code == "KW27"))
    new_key = call.fields_of_action[1]["key"]
    assert call.fields_of_action == [
        {"key": "networks", "de": "Netzwerke", "en": "Networks"},
        {"key": new_key, "de": "Jugendkultur im Stadtteil", "en": "Jugendkultur im Stadtteil"},
    ]
    assert new_key not in ("", "networks")
    assert call.milestone_plan == [
        {"de": "Auftakt", "en": "Kick-off", "month": 1},
        {"de": "Werkschau", "en": "Werkschau", "month": 6},
    ]

    # renamed and moved: the keys stay with their rows
    edited = {
        **GOOD,
        "fields_of_action-0-key": new_key,
        "fields_of_action-0-de": "Jugendkultur im Stadtteil",
        "fields_of_action-0-en": "Youth culture",
        "fields_of_action-1-key": "networks",
        "fields_of_action-1-de": "Netzwerke und Kooperation",
        "fields_of_action-1-en": "Networks",
        "milestone_plan-0-de": "Werkschau",
        "milestone_plan-0-en": "Showcase",
        "milestone_plan-0-month": "6",
    }
    assert client.post(f"/calls/{call.id}/edit", data=edited).status_code == 302
    db.session.expire_all()
    assert [(f["key"], f["de"]) for f in call.fields_of_action] == [
        (new_key, "Jugendkultur im Stadtteil"),
        ("networks", "Netzwerke und Kooperation"),
    ]
    assert call.milestone_plan == [{"de": "Werkschau", "en": "Showcase", "month": 6}]
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Jugendkultur im Stadtteil · Netzwerke und Kooperation" in page and "Werkschau (Monat 6)" in page

"""The per-call settings of reviewing, ranking and the award on the call form."""

from __future__ import annotations

from conftest import PASSWORD, call_form, login
from sqlalchemy import select

from foerdercall.accounts.operations import create_user
from foerdercall.calls.models import Call
from foerdercall.extensions import db

FORM = call_form()


def test_defaults_and_chosen_settings_are_stored_and_shown(app):
    create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
    db.session.commit()
    client = app.test_client()
    login(client, "ka@example.org")
    page = client.get("/calls/new").get_data(as_text=True)
    assert "Begutachtung, Rangliste und Zuschlag" in page and 'value="50.000,00"' in page

    assert client.post("/calls/new", data=FORM).status_code == 302
    call = db.session.scalar(select(Call).where(Call.code == "KW27"))
    assert (
        call.reviewers_per_proposal,
        call.reviewer_from_each_office,
        call.justify_every_score,
        call.blind_review,
        call.hide_applicant,
        call.score_aggregation,
        call.standstill_threshold_cents,
    ) == (2, False, True, False, False, "mean", 50_000_00)

    chosen = {
        **FORM,
        "code": "KW28",
        "reviewers_per_proposal": "3",
        "reviewer_from_each_office": "y",
        "justify_ends_only": "y",
        "blind_review": "y",
        "hide_applicant": "y",
        "score_aggregation": "median",
        "standstill_threshold": "40.000,00",
    }
    assert client.post("/calls/new", data=chosen).status_code == 302
    call = db.session.scalar(select(Call).where(Call.code == "KW28"))
    assert (
        call.reviewers_per_proposal,
        call.reviewer_from_each_office,
        call.justify_every_score,
        call.blind_review,
        call.hide_applicant,
        call.score_aggregation,
        call.standstill_threshold_cents,
    ) == (3, True, False, True, True, "median", 40_000_00)
    page = client.get(f"/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="40.000,00"' in page and '<option selected value="median">' in page
    assert (
        client.post("/calls/new", data={**chosen, "code": "KW29", "reviewers_per_proposal": "0"}).status_code
        == 422
    )

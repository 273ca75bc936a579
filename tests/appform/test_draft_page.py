"""The draft page asks the call's own questions: a call with a form of every question type is filled in through
the page (German amounts, a table grown without JavaScript, a declaration), saved as answers (the role answers in
their columns), and submitted only when every required answer and file is there."""

from __future__ import annotations

import io

import pytest
from appform.cases import EVERY_TYPE
from conftest import DEADLINE, PDF, berlin, login, publish

from foerdercall.extensions import db


@pytest.fixture
def own_call(app, world):
    from foerdercall.calls.operations import create_call

    call = create_call(
        world.ka,
        code="JK27",
        title="Jugendkultur 2027",
        description="Ein Aufruf mit eigenen Fragen",
        fields_of_action=["networks", "marketing"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(*DEADLINE),
        application_form=EVERY_TYPE,
    )
    publish(call, world.ka)
    db.session.commit()
    return call


def _draft(app, world, call):
    from foerdercall.proposals.operations import start_draft

    p = start_draft(call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    return p, client


ANSWERS = {
    "title": "Sommer im Hof",
    "summary": "Ein Fest für alle.",
    "field": "marketing",
    "audience": ["kids", "teens"],
    "venue": "outside",
    "participants": "250",
    "share": "12,5",
    "start": "2027-05-01",
    "amount": "12.500,00",
    "costs-0-item": "Bühne",
    "costs-0-sum": "8.000,00",
    "targets-visitors": "300",
    "targets-events": "4",
    "truth": "y",
}


def test_the_page_asks_the_calls_questions_and_saves_the_answers(app, world, own_call, clock):
    clock.set(berlin(2026, 10, 1, 12, 0))
    p, client = _draft(app, world, own_call)
    html = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    for label in ("Zielgruppen", "Kostenplan", "Besucher (Personen)", "Ich versichere", "Lebenslauf"):
        assert label in html
    assert "Angebotspreis" not in html  # the default form's question is not this call's
    resp = client.post(f"/proposals/{p.id}/edit", data={**ANSWERS, "action": "save"})
    assert resp.status_code == 302
    db.session.expire_all()
    p = db.session.get(type(p), p.id)
    assert p.answers["amount"] == 1_250_000 and p.answers["share"] == "12.5"
    assert p.answers["costs"] == [{"item": "Bühne", "sum": 800_000}]
    assert (p.title, p.field_of_action, p.requested_amount_cents) == ("Sommer im Hof", "marketing", 1_250_000)
    # shown again as typed in German
    html = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert 'value="12.500,00"' in html and 'value="8.000,00"' in html and 'value="12,5"' in html


def test_a_table_row_is_added_without_javascript_and_nothing_typed_is_lost(app, world, own_call, clock):
    clock.set(berlin(2026, 10, 1, 12, 0))
    p, client = _draft(app, world, own_call)
    resp = client.post(f"/proposals/{p.id}/edit", data={**ANSWERS, "costs-add": "Zeile hinzufügen"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'name="costs-1-item"' in html and 'value="Bühne"' in html
    db.session.expire_all()
    assert db.session.get(type(p), p.id).answers["title"] == "Sommer im Hof"  # saved on the way


def test_a_wrong_value_is_a_message_and_the_rest_is_kept(app, world, own_call, clock):
    clock.set(berlin(2026, 10, 1, 12, 0))
    p, client = _draft(app, world, own_call)
    resp = client.post(f"/proposals/{p.id}/edit", data={**ANSWERS, "start": "31.02.2027", "action": "save"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Diesen Tag gibt es nicht." in html and 'value="31.02.2027"' in html and "Sommer im Hof" in html
    db.session.expire_all()
    assert db.session.get(type(p), p.id).answers == {}  # nothing half-written


def test_a_refused_submission_shows_every_gap_at_its_question_and_keeps_the_text(app, world, own_call, clock):
    """Three gaps (a choice, a declaration, a file): each at its own question, all in the summary at the top, the
    text typed kept; the draft is saved, not submitted."""
    clock.set(berlin(2026, 10, 1, 12, 0))
    p, client = _draft(app, world, own_call)
    partial = {k: v for k, v in ANSWERS.items() if k not in ("truth", "venue")}
    partial["milestones-0-title"], partial["milestones-0-due"], partial["milestones-0-share"] = (
        "Start",
        "2027-01-15",
        "60",
    )
    resp = client.post(f"/proposals/{p.id}/edit", data={**partial, "action": "submit"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    for target in ('href="#venue', 'href="#truth"', 'href="#cv"', 'href="#milestones"'):
        assert target in summary, target
    assert "Lebenslauf:" in summary and "Meilensteine" in summary
    assert "Die Anteile ergeben zusammen 60 %, nicht 100 %." in summary
    assert "Bitte füllen Sie noch aus" not in html  # the summary says it, with a link to each question
    assert 'id="truth"' in html and html.count('aria-invalid="true"') >= 2
    cv = html.split('id="cv"')[1].split("</div>")[0]
    assert 'class="error"' in cv
    assert 'value="Sommer im Hof"' in html and "Ein Fest für alle." in html  # kept as typed
    assert "Entwurf gespeichert, aber noch nicht eingereicht." in html
    db.session.expire_all()
    saved = db.session.get(type(p), p.id)
    assert saved.state == "draft" and saved.answers["title"] == "Sommer im Hof"


def test_submission_needs_every_required_answer_and_file(app, world, own_call, clock):
    clock.set(berlin(2026, 10, 1, 12, 0))
    p, client = _draft(app, world, own_call)
    partial = {k: v for k, v in ANSWERS.items() if k not in ("truth", "venue")}
    resp = client.post(f"/proposals/{p.id}/edit", data={**partial, "action": "submit"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    for label in ("Ort", "Lebenslauf", "Ich versichere"):
        assert label in summary, label
    from foerdercall.proposals.operations import add_attachment

    for kind in [q.key for q in own_call.form_definition.questions() if q.type == "attachment"]:
        add_attachment(db.session.get(type(p), p.id), world.applicant, kind, io.BytesIO(PDF), f"{kind}.pdf")
    db.session.commit()
    resp = client.post(f"/proposals/{p.id}/edit", data={**ANSWERS, "action": "submit"}, follow_redirects=True)
    assert "Ihr Angebot ist eingegangen" in resp.get_data(as_text=True)

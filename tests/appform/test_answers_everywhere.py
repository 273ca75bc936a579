"""Everything that shows or uses answers follows the call's form (issue 14): the receipt, the Vergabevermerk, the
officials' answers export and the personal-data export show a call's own questions with their labels, in the
reader's format; a proposal the official has a conflict with keeps its line without its answers."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from appform.cases import valid_answers
from conftest import PDF, berlin, login, neutral, publish
from documents.test_documents import text_of

from foerdercall.appform.answers import check_answers, format_cents
from foerdercall.calls.operations import create_call
from foerdercall.demo import YOUTH_CALL
from foerdercall.documents.operations import build
from foerdercall.extensions import db
from foerdercall.proposals.operations import add_attachment, save_draft, start_draft
from foerdercall.reviews.operations import declare_conflict, sign_neutrality
from foerdercall.workflow.engine import fire

FIELDS = {k: v for k, v in YOUTH_CALL.items() if k not in ("deciding_offices", "criteria")}


def _youth_proposal(world, clock, plan=None, submit=True):
    """A proposal on a call with the demo youth call's form (a cost plan, a milestone plan), submitted."""
    call = create_call(
        world.ka,
        **{
            **FIELDS,
            "code": "JK27",
            "opens_at": berlin(2026, 9, 1, 0, 0),
            "submission_deadline": berlin(2026, 10, 31, 23, 59),
        },
    )
    publish(call, world.ka)
    neutral(call, world.ka, world.afw)
    definition = call.form_definition
    typed = valid_answers(definition)
    typed[definition.by_role("amount").key] = format_cents(5_000_00)
    typed["age_groups"] = ["a12", "a16"]
    typed["cost_plan"] = [{"item": "Honorare Workshopleitung", "amount": "3.000,00"}]
    if plan is not None:
        typed["milestones"] = plan
    files = {q.key: 1 for q in definition.questions() if q.type == "attachment" and q.required}
    checked = check_answers(definition, typed, complete=True, attachments=files)
    assert checked.errors == {}, checked.errors
    p = start_draft(call, world.applicant)
    save_draft(p, world.applicant, {"answers": checked.answers})
    for kind in files:
        add_attachment(p, world.applicant, kind, io.BytesIO(PDF), f"{kind}.pdf")
    if submit:
        fire(p, "submit", world.applicant)
    db.session.commit()
    return call, p


def test_the_receipt_shows_the_calls_own_questions(app, world, clock):
    call, p = _youth_proposal(world, clock)
    with app.test_request_context():
        text = text_of(build(p, "receipt"))
    assert "Ihre Angaben" in text
    assert (
        "Beantragte Zuwendung (€) 5.000,00 €" in text
    )  # the form's label for the amount, not "Angebotspreis"
    assert "Angebotspreis" not in text
    assert "Altersgruppen 12 bis 15 Jahre, 16 bis 20 Jahre" in text  # the labels of the choices
    assert "Kostenplan" in text and "Honorare Workshopleitung" in text and "3.000,00 €" in text
    assert (
        "verschlossen" not in text and "nach Ablauf der Einreichungsfrist geprüft" in text
    )  # a grant: no sealing


def test_the_answers_export_has_a_column_per_question_and_hides_a_conflicted_line(app, world, clock):
    call, p = _youth_proposal(world, clock)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(call, "close", None)
    db.session.commit()
    client = app.test_client()
    login(client, world.ka.email)
    resp = client.get(f"/calls/{call.id}/export/answers.csv")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    head, line = rows[0], rows[1]
    assert "Altersgruppen" in head and "Kostenplan" in head and "Beantragte Zuwendung (€)" in head
    assert line[head.index("Altersgruppen")] == "12 bis 15 Jahre, 16 bis 20 Jahre"
    assert line[head.index("Kostenplan")].startswith("Posten: Honorare Workshopleitung; Betrag (€): 3.000,00")
    assert line[head.index("Aktenzeichen")] == p.file_number
    # an official with a conflict: the line stays, the answers do not
    sign_neutrality(call, world.ka)
    declare_conflict(p, world.ka, True, "Mitglied im Trägerverein")
    db.session.commit()
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/calls/{call.id}/export/answers.csv").get_data(as_text=True).lstrip("\ufeff")
            ),
            delimiter=";",
        )
    )
    assert rows[1][1] == p.file_number and "Honorare" not in ";".join(rows[1])
    xlsx = client.get(f"/calls/{call.id}/export/answers.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_the_personal_data_export_has_the_answers_with_their_labels(app, world, clock):
    call, p = _youth_proposal(world, clock)
    client = app.test_client()
    login(client, world.applicant.email)
    resp = client.get("/account/data/export.zip")
    assert resp.status_code == 200, resp.status_code
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        data = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith(".json"))))
    shown = {a["label"]: a["answer"] for a in data["proposals"][0]["answers_shown"]}
    assert shown["Altersgruppen"] == "12 bis 15 Jahre, 16 bis 20 Jahre"
    assert shown["Beantragte Zuwendung (€)"] == "5.000,00\u00a0€"

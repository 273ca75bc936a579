"""The applicant's own data export after the retention period (issue 5): a proposal that was anonymised does not
come back through the export's list of the person's actions. The audit trail keeps what the applicant wrote
(it cannot be rewritten), so the export masks it the way the proposal page and the Vergabevermerk do
(privacy.queries.event_reason)."""

from __future__ import annotations

import io
import json
import zipfile

from conftest import approve_after_deadline, berlin, fill_draft, login

from foerdercall.awards.operations import make_award
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.workflow.engine import fire
from worker.sweep import sweep

ERASED = ("Zweitidee Lindenau", "Honorar für Ada", "Team zerfallen")


def _export(app, email="app@x.test") -> tuple[dict, str]:
    client = app.test_client()
    login(client, email)
    resp = client.get("/account/data/export.zip")
    assert resp.status_code == 200
    raw = zipfile.ZipFile(io.BytesIO(resp.data)).read("data.json").decode()
    return json.loads(raw), raw


def test_the_export_does_not_bring_back_what_the_anonymisation_erased(app, world, clock):
    call = world.call
    funded = fill_draft(start_draft(call, world.applicant), world.applicant, title="Netzwerk Plagwitz")
    submit(funded, world.applicant)
    second = fill_draft(start_draft(call, world.applicant), world.applicant, title="Zweitidee Lindenau")
    submit(second, world.applicant)
    db.session.commit()
    approve_after_deadline(world, clock, call, funded)
    fire(second, "request_documents", world.ka, reason="Bitte reichen Sie den Kostenplan nach.")
    fire(
        second,
        "answer_request",
        world.applicant,
        reason="Kostenplan zur Zweitidee Lindenau: 3.000 € Honorar für Ada Applicant",
    )
    fire(
        second, "withdraw", world.applicant, reason="Ada zieht die Zweitidee Lindenau zurück: Team zerfallen"
    )
    make_award(funded, world.ka)
    fire(funded, "accept_award", world.applicant)
    fire(call, "decide", world.ka)
    db.session.commit()

    # before the retention period ends the export holds everything Ada wrote
    _data, raw = _export(app)
    assert all(text in raw for text in ERASED)

    clock.set(berlin(2027, 5, 3, 9, 0))
    assert sweep(clock())["proposals_anonymised"] == 1
    db.session.expire_all()

    data, raw = _export(app)
    leaked = [text for text in ERASED if text in raw]
    assert leaked == [], [
        a for a in data["actions"] if any(t in json.dumps(a, ensure_ascii=False) for t in ERASED)
    ]
    # her actions on the anonymised offer are still listed (what and when), their texts masked
    on_second = {a["action"]: a for a in data["actions"] if a["object"] == f"proposals:{second.id}"}
    assert {"submit", "answer_request", "withdraw"} <= set(on_second)
    assert on_second["withdraw"]["reason"] == on_second["answer_request"]["reason"] == "(anonymisiert)"
    assert on_second["withdraw"]["to_state"] == "withdrawn"
    # her funded measure is kept whole, with her own actions on it
    assert "Netzwerk Plagwitz" in raw
    assert any(
        a["object"] == f"proposals:{funded.id}" and a["action"] == "accept_award" for a in data["actions"]
    )
    titles = sorted(p["title"] for p in data["proposals"])
    assert titles == ["(anonymisiert)", "Netzwerk Plagwitz"]

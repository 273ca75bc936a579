"""Retention (issue 5): months after a call's selection was concluded, the worker anonymises the proposals it
did not fund (answers, files on disk, mails, the account when nothing else is left), keeps the funded ones and
the procurement record (file numbers, scores, amounts) whole, leaves the audit chain intact, and does all
that once."""

from __future__ import annotations

import io
import json
import zipfile

from conftest import award_after_deadline, berlin, fill_draft, login
from pypdf import PdfReader
from sqlalchemy import func, select

from foerdercall.accounts.models import User
from foerdercall.audit.checkpoints import verify_chain
from foerdercall.audit.models import AuditEvent
from foerdercall.documents.operations import build_call_record
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.privacy.models import Anonymisation
from foerdercall.proposals.models import Attachment, Proposal
from foerdercall.proposals.operations import attachment_path, start_draft, submit
from foerdercall.workflow.engine import fire
from worker.sweep import sweep


def _pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def _concluded_call(world, clock):
    """Ada's measure is funded (awarded, accepted); Bruno's offer excluded; Ada's second offer withdrawn.
    The selection is concluded on 02.11.2026, 09:00 (the call keeps the default of 6 months)."""
    call = world.call
    funded = fill_draft(start_draft(call, world.applicant), world.applicant, title="Netzwerk Plagwitz")
    submit(funded, world.applicant)
    excluded = fill_draft(start_draft(call, world.applicant2), world.applicant2, title="Brunos Klanglabor")
    submit(excluded, world.applicant2)
    withdrawn = fill_draft(start_draft(call, world.applicant), world.applicant, title="Zweitidee Lindenau")
    submit(withdrawn, world.applicant)
    fire(withdrawn, "withdraw", world.applicant, reason="Ada zieht zurück: Team zerfallen")
    db.session.commit()
    award_after_deadline(world, clock, call, funded, excluded)
    fire(funded, "accept_award", world.applicant)
    fire(call, "decide", world.ka)
    db.session.commit()
    return funded, excluded, withdrawn


def test_the_worker_anonymises_unfunded_proposals_after_the_retention_period(app, world, clock):
    funded, excluded, withdrawn = _concluded_call(world, clock)
    assert world.call.retention_months == 6
    gone_files = [attachment_path(a) for p in (excluded, withdrawn) for a in p.attachments]
    kept_files = [attachment_path(a) for a in funded.attachments]
    assert gone_files and kept_files and all(f.exists() for f in gone_files + kept_files)
    hashes = sorted(a.sha256 for a in excluded.attachments)
    ids = funded.id, excluded.id, withdrawn.id

    clock.set(berlin(2027, 5, 2, 8, 58))
    assert sweep(clock())["proposals_anonymised"] == 0
    assert all(f.exists() for f in gone_files)

    clock.set(berlin(2027, 5, 2, 9, 1))
    assert sweep(clock())["proposals_anonymised"] == 2
    db.session.expire_all()
    funded, excluded, withdrawn = (db.session.get(Proposal, i) for i in ids)

    # the unfunded: answers, files (disk and rows), mails gone; file number, state and amount kept
    for p in (excluded, withdrawn):
        assert p.title == "(anonymisiert)" and p.description == "" and p.team == ""
        assert p.file_number and p.requested_amount_cents == 10_000_00
        assert db.session.scalars(select(Attachment).where(Attachment.proposal_id == p.id)).all() == []
        assert all(
            (m.subject, m.body) == ("–", "")
            for m in db.session.scalars(select(OutboxMail).where(OutboxMail.proposal_id == p.id))
        )
    assert not any(f.exists() for f in gone_files)
    record = db.session.get(Anonymisation, excluded.id)
    assert sorted(f["sha256"] for f in record.files) == hashes and record.account_anonymised
    assert db.session.get(Anonymisation, withdrawn.id).account_anonymised is False  # Ada has a funded measure

    # Bruno had nothing else: his account is anonymous; Ada's is intact, and so is her funded measure
    bruno, ada = db.session.get(User, world.applicant2.id), db.session.get(User, world.applicant.id)
    assert (bruno.name, bruno.active, bruno.email.endswith("@konto.invalid")) == ("Anonymisiert", False, True)
    assert all(
        "Bruno" not in m.body
        for m in db.session.scalars(select(OutboxMail).where(OutboxMail.recipient_id == bruno.id))
    )
    assert (ada.name, ada.active) == ("Ada Applicant", True)
    assert funded.title == "Netzwerk Plagwitz" and funded.description == "Konzept"
    assert funded.state == "in_implementation" and all(f.exists() for f in kept_files)

    # the pages: the official's view of the excluded offer names nobody, its history masks the applicant
    ka = app.test_client()
    login(ka, "ka@x.test")
    page = ka.get(f"/proposals/{excluded.id}").get_data(as_text=True)
    assert "Bruno" not in page and "Klanglabor" not in page and "(anonymisiert)" in page
    assert excluded.file_number in page
    page = ka.get(f"/proposals/{withdrawn.id}").get_data(as_text=True)
    assert "Zweitidee" not in page and "Team zerfallen" not in page and "Ada Applicant" not in page
    assert "Netzwerk Plagwitz" in ka.get(f"/proposals/{funded.id}").get_data(as_text=True)

    # the ranking export and the award record keep numbers and amounts, without the unfunded names
    csv = ka.get(f"/calls/{world.call.id}/export/ranking.csv").get_data(as_text=True)
    assert "Netzwerk Plagwitz" in csv and withdrawn.file_number in csv and "Zweitidee" not in csv
    assert "Klanglabor" not in csv, [line for line in csv.splitlines() if "Klanglabor" in line]
    text = _pdf_text(build_call_record(world.call, world.ka, "de", lambda p: True))
    assert "Netzwerk Plagwitz" in text and "Ada Applicant" in text
    assert "Klanglabor" not in text and "Bruno" not in text and excluded.file_number in text

    # Ada's own export: her funded measure whole, her withdrawn offer anonymised
    client = app.test_client()
    login(client, "app@x.test")
    data = json.loads(
        zipfile.ZipFile(io.BytesIO(client.get("/account/data/export.zip").data)).read("data.json")
    )
    titles = sorted(p["title"] for p in data["proposals"])
    assert titles == ["(anonymisiert)", "Netzwerk Plagwitz"]
    assert "Zweitidee" not in json.dumps(data["proposals"], ensure_ascii=False)

    # audited by the system, the chain intact; a second sweep changes nothing
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "anonymise_proposal").order_by(AuditEvent.seq)
    ).all()
    assert [(e.proposal_id, e.actor_id, e.actor_name) for e in events] == [
        (excluded.id, None, "System"),
        (withdrawn.id, None, "System"),
    ]
    assert verify_chain().ok
    n_events = db.session.scalar(select(func.count(AuditEvent.id)))
    assert sweep(clock())["proposals_anonymised"] == 0
    clock.set(berlin(2028, 1, 1, 9, 0))
    assert sweep(clock())["proposals_anonymised"] == 0
    assert db.session.scalar(select(func.count(Anonymisation.proposal_id))) == 2
    assert (
        db.session.scalar(select(func.count(AuditEvent.id).filter(AuditEvent.action == "anonymise_proposal")))
        == 2
    )
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= n_events
    assert verify_chain().ok


def test_nothing_is_anonymised_before_the_selection_is_concluded(app, world, clock):
    excluded = fill_draft(
        start_draft(world.call, world.applicant2), world.applicant2, title="Brunos Klanglabor"
    )
    submit(excluded, world.applicant2)
    db.session.commit()
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    db.session.commit()
    clock.set(berlin(2028, 1, 1, 9, 0))
    assert sweep(clock())["proposals_anonymised"] == 0
    assert db.session.get(Proposal, excluded.id).title == "Brunos Klanglabor"


def test_the_call_sets_its_retention_and_shows_its_privacy_notice(app, world, clock):
    ka = app.test_client()
    login(ka, "ka@x.test")
    resp = ka.get("/calls/new")
    page = resp.get_data(as_text=True)
    assert 'name="retention_months"' in page and 'name="privacy_notice"' in page
    # the published call: the generated template, with the call's data and its retention period
    page = app.test_client().get(f"/calls/{world.call.id}").get_data(as_text=True)
    assert 'id="datenschutz"' in page and "Datenschutzhinweise" in page
    assert "Art. 6 Abs. 1 Buchst. e DSGVO" in page and "6 Monate nach dem Abschluss der Auswahl" in page
    assert "Sächsische Datenschutz- und Transparenzbeauftragte" in page
    assert (
        "Vorlage aus den Daten des Aufrufs erzeugt" not in page
    )  # the template's marker is for officials only
    # the applicant's form links to it before submission
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    app_client = app.test_client()
    login(app_client, "app@x.test")
    page = app_client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert f'href="/calls/{world.call.id}#datenschutz"' in page

"""GDPR: a person downloads everything stored about them as a ZIP; an applicant who never submitted deletes
their account (name, address, drafts and files gone; nothing more mailed); after a submission the city keeps
the file and says so."""

from __future__ import annotations

import io
import json
import zipfile

from conftest import PASSWORD, PDF, fill_draft, login
from sqlalchemy import select

from foerdercall.accounts.models import User
from foerdercall.audit.checkpoints import verify_chain
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail
from foerdercall.proposals.models import Attachment, Proposal
from foerdercall.proposals.operations import attachment_path, start_draft, submit
from worker.sweep import sweep


def test_the_export_holds_the_account_the_proposals_the_files_and_the_messages(app, world):
    p = fill_draft(
        start_draft(world.call, world.applicant), world.applicant, title="Klangwerkstatt <Plagwitz>"
    )
    db.session.commit()
    submit(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    resp = client.get("/account/data/export.zip")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
    assert "attachment" in resp.headers["Content-Disposition"]
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    data = json.loads(zf.read("data.json"))
    assert data["account"]["email"] == "app@x.test" and data["account"]["name"] == "Ada Applicant"
    [proposal] = data["proposals"]
    assert proposal["title"] == "Klangwerkstatt <Plagwitz>" and proposal["state"] == "submitted"
    assert proposal["file_number"] == p.file_number
    files = [a["file"] for a in proposal["attachments"]]
    assert files and all(zf.read(name) == PDF for name in files)
    assert any(p.file_number in m["subject"] + m["body"] for m in data["messages"])  # the receipt
    assert {"start_draft", "submit"} <= {a["action"] for a in data["actions"]}
    # the other applicant's export holds nothing of it
    other = app.test_client()
    login(other, world.applicant2.email)
    assert b"Klangwerkstatt" not in zipfile.ZipFile(
        io.BytesIO(other.get("/account/data/export.zip").data)
    ).read("data.json")


def test_an_applicant_without_a_submission_deletes_the_account(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Geheimes Projekt")
    queue_mail("call_corrected", world.applicant, "pending-one", call=world.call, reason="x")
    db.session.commit()
    files = [attachment_path(a) for a in p.attachments]
    assert files and all(f.exists() for f in files)
    client = app.test_client()
    login(client, world.applicant.email)
    page = client.get("/account/data").get_data(as_text=True)
    assert "Konto endgültig löschen" in page

    refused = client.post("/account/delete", data={"confirm": "y", "password": "falsch"})
    assert refused.status_code == 400 and "Das Passwort stimmt nicht." in refused.get_data(as_text=True)

    resp = client.post("/account/delete", data={"confirm": "y", "password": PASSWORD})
    assert resp.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, world.applicant.id)
    assert user.name == "Gelöschtes Konto" and user.email.endswith("@konto.invalid") and not user.active
    assert user.roles == set()
    proposal = db.session.get(Proposal, p.id)
    assert proposal.state == "withdrawn" and proposal.title == "" and proposal.description == ""
    assert db.session.scalars(select(Attachment).where(Attachment.proposal_id == p.id)).all() == []
    assert not any(f.exists() for f in files)
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient_id == user.id)).all()
    assert mails and all("Ada" not in m.body and m.to_address == user.email for m in mails)
    assert all(m.status in ("sent", "failed") for m in mails)
    # nothing is sent to the deleted account any more, the login is gone, the audit chain holds
    sweep()
    db.session.expire_all()
    assert all(
        m.status in ("sent", "failed")
        for m in db.session.scalars(select(OutboxMail).where(OutboxMail.recipient_id == user.id))
    )
    assert client.get("/my").status_code == 302
    assert (
        app.test_client().post("/login", data={"email": "app@x.test", "password": PASSWORD}).status_code
        != 302
    )
    assert verify_chain().ok


def test_after_a_submission_the_account_stays_and_the_page_says_why(app, world):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    submit(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    page = client.get("/account/data").get_data(as_text=True)  # the page says why, instead of the form
    assert "Sie haben bereits ein Angebot eingereicht" in page and "Konto endgültig löschen" not in page
    resp = client.post("/account/delete", data={"confirm": "y", "password": PASSWORD}, follow_redirects=True)
    assert "Sie haben bereits ein Angebot eingereicht" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.applicant.id).name == "Ada Applicant"


def test_staff_accounts_are_not_deleted_by_themselves(app, world):
    client = app.test_client()
    login(client, world.ka.email)
    page = client.get("/account/data").get_data(as_text=True)
    assert "Konto endgültig löschen" not in page and "löscht die Verwaltung" in page
    resp = client.post("/account/delete", data={"confirm": "y", "password": PASSWORD}, follow_redirects=True)
    assert "löscht die Verwaltung" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.ka.id).active


def test_a_deletion_that_does_not_commit_keeps_the_files(app, world):
    """The files leave the disk only when the deletion commits: rolled back, the drafts keep their files."""
    from foerdercall.privacy.operations import delete_account

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Geheimes Projekt")
    db.session.commit()
    files = [attachment_path(a) for a in p.attachments]
    assert files and all(f.exists() for f in files)
    delete_account(world.applicant, world.applicant)
    assert all(f.exists() for f in files)
    db.session.rollback()
    assert all(f.exists() for f in files)
    assert db.session.get(Proposal, p.id).state == "draft" and len(
        db.session.get(Proposal, p.id).attachments
    ) == len(files)

"""Uploads have limits (issue 17, hole 4): a verified address before the first file, and quotas in files and bytes
per proposal and per account, checked in add_attachment under locks; a refused file leaves no file and no row."""

from __future__ import annotations

import io
import pathlib
import threading

import pytest
from conftest import PDF, login, publish

from foerdercall.accounts import operations as account_ops
from foerdercall.calls.operations import create_call
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.models import Attachment, AuditEvent, Proposal
from foerdercall.proposals.operations import add_attachment, start_draft, upload_usage

MB = 1024 * 1024


def pdf_of(size: int) -> bytes:
    """A PDF of exactly `size` bytes (padding in a comment)."""
    return PDF + b"%" + b"x" * (size - len(PDF) - 2) + b"\n"


def stored_files(app) -> list[pathlib.Path]:
    return sorted(p for p in pathlib.Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


def upload(client, p, content: bytes, filename: str = "anlage.pdf", title: str = "Netzwerk Plagwitz"):
    return client.post(
        f"/proposals/{p.id}/edit",
        data={"title": title, "kind": "other", "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def second_call(world):
    from conftest import DEADLINE, berlin

    call = create_call(
        world.ka,
        code="KW27",
        title="Kreativwirtschaft 2027",
        description="Zweiter Aufruf",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(*DEADLINE),
    )
    publish(call, world.ka)
    return call


# --- a verified address first ---------------------------------------------------------------------------------


def test_an_unverified_account_cannot_upload_and_is_told_how_to_verify(app, world):
    user = account_ops.create_user(
        "new@x.test", "Nora Neu", "correct horse battery", roles=("applicant",), verified=False
    )
    p = start_draft(world.call, user)
    db.session.commit()
    client = app.test_client()
    login(client, "new@x.test")
    page = upload(client, p, PDF).get_data(as_text=True)
    assert "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse" in page  # the same rule as before submitting
    assert "„Konto“" in page  # where a new link is asked for
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).title == "Netzwerk Plagwitz"  # the typed text is kept
    assert db.session.query(Attachment).count() == 0
    assert stored_files(app) == []
    # the edit page says it before anyone picks a file
    assert "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse" in client.get(
        f"/proposals/{p.id}/edit"
    ).get_data(as_text=True)
    # once verified, the upload goes through
    db.session.get(type(user), user.id).email_verified_at = world.call.opens_at
    db.session.commit()
    upload(client, p, PDF)
    assert db.session.query(Attachment).count() == 1


def test_the_verification_rule_is_the_operations_own(app, world):
    user = account_ops.create_user(
        "new@x.test", "Nora Neu", "correct horse battery", roles=("applicant",), verified=False
    )
    p = start_draft(world.call, user)
    with pytest.raises(ActionRefused, match="E-Mail-Adresse"):
        add_attachment(p, user, "other", io.BytesIO(PDF), "a.pdf")
    assert stored_files(app) == []


# --- quotas -----------------------------------------------------------------------------------------------------


def test_the_defaults_fit_a_real_proposal(app):
    # a call asks for 4-6 documents (cost plan, CV/references, register extract, work samples, letters of intent);
    # with re-uploads, clarifications and a portfolio of a few large scans: 20 files, 100 MB a proposal; an
    # account takes part in several calls: 100 files, 500 MB
    assert app.config["UPLOAD_MAX_FILES_PER_PROPOSAL"] == 20
    assert app.config["UPLOAD_MAX_MB_PER_PROPOSAL"] == 100
    assert app.config["UPLOAD_MAX_FILES_PER_ACCOUNT"] == 100
    assert app.config["UPLOAD_MAX_MB_PER_ACCOUNT"] == 500


def test_the_files_of_one_proposal_are_limited_with_a_clear_message(app, world):
    app.config["UPLOAD_MAX_FILES_PER_PROPOSAL"] = 2
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    upload(client, p, PDF, "eins.pdf")
    upload(client, p, PDF, "zwei.pdf")
    page = upload(client, p, PDF, "drei.pdf", title="Neuer Titel").get_data(as_text=True)
    assert "höchstens 2 Dateien" in page  # the limit
    assert "belegt sind 2 Dateien" in page  # and what is used
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).title == "Neuer Titel"
    assert sorted(a.filename for a in db.session.query(Attachment)) == ["eins.pdf", "zwei.pdf"]
    assert len(stored_files(app)) == 2  # the refused file left nothing on disk
    assert db.session.query(AuditEvent).filter(AuditEvent.action == "add_attachment").count() == 2
    # removing one frees its place
    a = db.session.query(Attachment).first()
    client.post(f"/proposals/{p.id}/attachments/{a.id}/delete")
    upload(client, p, PDF, "drei.pdf")
    assert sorted(a.filename for a in db.session.query(Attachment)) == ["drei.pdf", "zwei.pdf"]


def test_the_bytes_of_one_proposal_are_limited(app, world):
    app.config["UPLOAD_MAX_MB_PER_PROPOSAL"] = 1
    p = start_draft(world.call, world.applicant)
    add_attachment(p, world.applicant, "other", io.BytesIO(pdf_of(600 * 1024)), "gross.pdf")
    db.session.commit()
    with pytest.raises(ActionRefused) as exc:
        add_attachment(p, world.applicant, "other", io.BytesIO(pdf_of(500 * 1024)), "noch-groesser.pdf")
    assert "1 MB" in exc.value.message and "0,6 MB" in exc.value.message
    db.session.rollback()
    assert len(stored_files(app)) == 1
    add_attachment(
        p, world.applicant, "other", io.BytesIO(pdf_of(400 * 1024)), "passt.pdf"
    )  # exactly the rest
    db.session.commit()
    assert db.session.query(Attachment).count() == 2


def test_the_files_and_bytes_of_one_account_are_limited_across_its_proposals(app, world):
    app.config["UPLOAD_MAX_FILES_PER_ACCOUNT"] = 3
    p = start_draft(world.call, world.applicant)
    q = start_draft(second_call(world), world.applicant)
    for name in ("a.pdf", "b.pdf"):
        add_attachment(p, world.applicant, "other", io.BytesIO(PDF), name)
    add_attachment(q, world.applicant, "other", io.BytesIO(PDF), "c.pdf")
    db.session.commit()
    with pytest.raises(ActionRefused) as exc:
        add_attachment(q, world.applicant, "other", io.BytesIO(PDF), "d.pdf")
    assert "Ihres Kontos" in exc.value.message and "höchstens 3 Dateien" in exc.value.message
    assert "belegt sind 3 Dateien" in exc.value.message
    db.session.rollback()
    assert len(stored_files(app)) == 3
    # another account is not affected
    r = start_draft(world.call, world.applicant2)
    add_attachment(r, world.applicant2, "other", io.BytesIO(PDF), "e.pdf")

    app.config["UPLOAD_MAX_FILES_PER_ACCOUNT"] = 100
    app.config["UPLOAD_MAX_MB_PER_ACCOUNT"] = 1
    add_attachment(q, world.applicant, "other", io.BytesIO(pdf_of(900 * 1024)), "gross.pdf")
    with pytest.raises(ActionRefused, match="Ihres Kontos"):
        add_attachment(p, world.applicant, "other", io.BytesIO(pdf_of(200 * 1024)), "zu-viel.pdf")


def test_the_form_shows_what_is_used_of_the_quota(app, world):
    app.config["UPLOAD_MAX_FILES_PER_PROPOSAL"] = 5
    p = start_draft(world.call, world.applicant)
    add_attachment(p, world.applicant, "other", io.BytesIO(pdf_of(512 * 1024)), "a.pdf")
    db.session.commit()
    usage = upload_usage(p, world.applicant)
    assert (usage.proposal_files, usage.proposal_bytes) == (1, 512 * 1024)
    client = app.test_client()
    login(client, "app@x.test")
    page = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert "1 von 5 Dateien" in page and "0,5 von 100 MB" in page
    assert "1 von 100 Dateien" in page and "0,5 von 500 MB" in page


def test_a_rolled_back_upload_leaves_no_file(app, world):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    add_attachment(p, world.applicant, "other", io.BytesIO(PDF), "a.pdf")
    assert len(stored_files(app)) == 1
    db.session.rollback()  # e.g. the request failed after the upload
    assert stored_files(app) == []


# --- races: two uploads at once must not both take the last free place --------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("scope", ["proposal", "account"])
def test_two_uploads_at_once_cannot_both_take_the_last_place(app, backend, world, scope):
    if backend != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    if scope == "proposal":
        app.config["UPLOAD_MAX_FILES_PER_PROPOSAL"] = 1
        p = start_draft(world.call, world.applicant)
        targets = [p.id, p.id]
    else:
        app.config["UPLOAD_MAX_FILES_PER_ACCOUNT"] = 1
        p = start_draft(world.call, world.applicant)
        q = start_draft(second_call(world), world.applicant)
        targets = [p.id, q.id]
    db.session.commit()
    user_id = world.applicant.id
    barrier = threading.Barrier(2)
    results: list[str] = []

    def run(proposal_id: int, n: int):
        with app.app_context():
            from foerdercall.accounts.models import User

            user = db.session.get(User, user_id)
            proposal = db.session.get(Proposal, proposal_id)
            barrier.wait()
            try:
                add_attachment(proposal, user, "other", io.BytesIO(PDF), f"{n}.pdf")
                db.session.commit()
                results.append("ok")
            except ActionRefused as exc:
                db.session.rollback()
                results.append("refused: " + exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(t, n)) for n, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.split(":")[0] for r in results) == ["ok", "refused"], results
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 1
    assert len(stored_files(app)) == 1

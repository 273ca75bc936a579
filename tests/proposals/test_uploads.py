"""Uploads (issue 5): the type is decided by the file's content, names are sanitised, files are stored outside
anything served statically and come back only through the access layer, with a safe Content-Disposition."""

import io
import pathlib
from urllib.parse import unquote

import pytest
from conftest import PDF, login

from foerdercall.extensions import db
from foerdercall.models import Attachment, AuditEvent, Proposal
from foerdercall.proposals.operations import add_attachment

# The first bytes of files that are not PDFs, each renamed to .pdf by the person uploading it.
NOT_PDFS = {
    "windows_executable": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200,
    "linux_executable": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200,
    "zip_office_document": b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200,
    "html_page": b"<!DOCTYPE html><script>alert(1)</script>",
    "pdf_magic_later_in_the_file": b"\n\n%PDF-1.4\n" + PDF,
    "empty_file": b"",
}


def upload(client, p, content: bytes, filename: str):
    return client.post(
        f"/proposals/{p.id}/edit",
        data={"title": "Netzwerk Plagwitz", "kind": "other", "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def stored_files(app) -> list[pathlib.Path]:
    return sorted(p for p in pathlib.Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


@pytest.mark.parametrize("kind", sorted(NOT_PDFS))
def test_a_file_that_is_not_a_pdf_is_refused_whatever_its_name(app, draft, kind):
    p, client = draft
    resp = upload(client, p, NOT_PDFS[kind], "angebot.pdf")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "„angebot.pdf“ ist keine PDF-Datei" in page
    assert "Entwurf gespeichert" in page  # the typed text is kept, only the file is refused
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 0
    assert stored_files(app) == []  # nothing of it was written to disk
    assert db.session.query(AuditEvent).filter(AuditEvent.action == "add_attachment").count() == 0
    assert db.session.get(Proposal, p.id).title == "Netzwerk Plagwitz"


@pytest.mark.parametrize(
    "hostile, shown",
    [
        ("../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ('bad"name\r\nX-Injected: yes.pdf', "badnameX-Injected yes.pdf"),
        ("<img src=x onerror=alert(1)>.pdf", "img src=x onerror=alert(1).pdf"),
        ("Übersicht – Konzept (Entwurf).pdf", "Übersicht – Konzept (Entwurf).pdf"),
    ],
)
def test_a_hostile_file_name_is_cleaned_stored_under_a_random_name_and_sent_back_safely(
    app, world, draft, hostile, shown
):
    # through the service: the browser's multipart encoding would already mangle some of these names
    p, client = draft
    add_attachment(p, world.applicant, "other", io.BytesIO(PDF), hostile)
    db.session.commit()
    a = db.session.query(Attachment).one()
    assert a.filename == shown
    assert "/" not in a.filename and "\\" not in a.filename
    upload_dir = pathlib.Path(app.config["UPLOAD_DIR"]).resolve()
    files = stored_files(app)
    assert [f.name for f in files] == [a.storage_name]  # a random name, never the one sent
    assert files[0].resolve().parent == upload_dir
    assert shown not in a.storage_name and "/" not in a.storage_name
    page = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert "<img src=x" not in page  # the name is shown escaped

    with client.get(f"/proposals/{p.id}/attachments/{a.id}") as resp:
        body = resp.data
    assert resp.status_code == 200
    assert body == PDF
    assert resp.mimetype == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")  # a download, never shown inline by the browser
    assert "\r" not in disposition and "\n" not in disposition
    assert "X-Injected" not in resp.headers
    # the name comes back as the person sees it: plain ASCII in filename=, the exact name in filename*=
    if "filename*=" in disposition:
        assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == shown
    else:
        assert f'filename="{shown}"' in disposition or f"filename={shown}" in disposition


def test_stored_files_are_not_reachable_as_static_files(app, draft):
    p, client = draft
    upload(client, p, PDF, "angebot.pdf")
    db.session.expire_all()
    a = db.session.query(Attachment).one()
    upload_dir = pathlib.Path(app.config["UPLOAD_DIR"]).resolve()
    static = pathlib.Path(app.static_folder).resolve()
    assert static not in upload_dir.parents and upload_dir != static
    for url in (
        f"/static/{a.storage_name}",
        f"/static/../{a.storage_name}",
        f"/uploads/{a.storage_name}",
        f"/{a.storage_name}",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert resp.data != PDF


def test_someone_else_gets_the_file_only_through_the_access_layer(app, world, draft):
    p, client = draft
    upload(client, p, PDF, "angebot.pdf")
    db.session.expire_all()
    a = db.session.query(Attachment).one()
    other = app.test_client()
    assert other.get(f"/proposals/{p.id}/attachments/{a.id}").status_code in (302, 401)  # not logged in
    login(other, "app2@x.test")
    resp = other.get(f"/proposals/{p.id}/attachments/{a.id}")
    assert resp.status_code in (403, 404)
    assert PDF not in resp.data and b"angebot.pdf" not in resp.data


def test_an_attachment_question_takes_no_more_files_than_it_allows(app, draft):
    """The default form's offer takes ten files: the eleventh is refused, naming the question, and the typed text
    is kept."""
    p, client = draft
    applicant = db.session.get(Proposal, p.id).applicant
    for n in range(10):
        add_attachment(db.session.get(Proposal, p.id), applicant, "offer", io.BytesIO(PDF), f"teil{n}.pdf")
    db.session.commit()
    resp = client.post(
        f"/proposals/{p.id}/edit",
        data={"title": "Netzwerk Plagwitz", "kind": "offer", "file": (io.BytesIO(PDF), "teil10.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert "Für „Leistungsangebot mit Kalkulation (PDF)“ sind höchstens 10 Dateien vorgesehen" in page
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    assert db.session.query(Attachment).filter_by(proposal_id=p.id, kind="offer").count() == 10
    assert db.session.get(Proposal, p.id).title == "Netzwerk Plagwitz"
    assert "teil10.pdf" not in page
    # the page lists each attachment question with its files
    assert "Leistungsangebot mit Kalkulation (PDF): 10 Dateien ✓" in " ".join(page.split())


def test_several_pdfs_go_up_at_once_and_a_bad_one_costs_only_itself(app, draft):
    p, client = draft
    resp = client.post(
        f"/proposals/{p.id}/edit",
        data={
            "title": "Netzwerk Plagwitz",
            "kind": "other",
            "file": [
                (io.BytesIO(PDF), "finanzplan.pdf"),
                (io.BytesIO(NOT_PDFS["html_page"]), "trick.pdf"),
                (io.BytesIO(PDF), "lebenslauf.pdf"),
            ],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert "2 Dateien hochgeladen." in page
    assert "„trick.pdf“ ist keine PDF-Datei" in page
    db.session.expire_all()
    assert sorted(a.filename for a in db.session.query(Attachment)) == ["finanzplan.pdf", "lebenslauf.pdf"]
    assert len(stored_files(app)) == 2
    assert db.session.get(Proposal, p.id).title == "Netzwerk Plagwitz"
    # the checklist beside the submit button counts them
    form = page.split('id="proposal-form"')[1].split("</form>")[0]
    assert form.index("Vor dem Einreichen") < form.index('value="submit"')

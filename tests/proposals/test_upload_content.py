"""Files that are not what they claim (issue 17, hole 5): PDFs with active content are refused, download names
are plain and end in .pdf, and a clamd server (when configured) sees every upload; it failing refuses the file."""

from __future__ import annotations

import binascii
import io
import os
import pathlib
import socket
import socketserver
import struct
import threading
import time
import zlib
from urllib.parse import unquote

import pytest
from conftest import PDF, login

from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.models import Attachment
from foerdercall.proposals.operations import add_attachment, safe_filename, start_draft


def stored_files(app) -> list[pathlib.Path]:
    return sorted(p for p in pathlib.Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


# --- building PDFs in the test ------------------------------------------------------------------------------------


def make_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF with the given object bodies (object 1 is the catalog), a cross-reference table and a trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<<" + dictionary + b"/Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def object_stream(objects: dict[int, bytes], filters: tuple[str, ...] = ("FlateDecode",)) -> bytes:
    """An object stream (/Type/ObjStm) holding the given objects, encoded with the filters."""
    header, body = [], b""
    for n, obj in objects.items():
        header.append(b"%d %d" % (n, len(body)))
        body += obj + b" "
    head = b" ".join(header) + b"\n"
    data = head + body
    for f in reversed(filters):
        data = {"FlateDecode": zlib.compress, "ASCIIHexDecode": lambda d: binascii.hexlify(d) + b">"}[f](data)
    names = b"".join(b"/" + f.encode() for f in filters)
    return stream(b"/Type/ObjStm/N %d/First %d/Filter[%s]" % (len(objects), len(head), names), data)


CATALOG = b"<</Type/Catalog/Pages 2 0 R>>"
PAGES = b"<</Type/Pages/Kids[3 0 R]/Count 1>>"
PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"
JS_ACTION = b"<</S/JavaScript/JS(app.alert\\(1\\))>>"


def with_catalog(catalog: bytes, *extra: bytes) -> bytes:
    return make_pdf([catalog, PAGES, PAGE, *extra])


HOSTILE = {
    "javascript_open_action": (
        with_catalog(b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>", JS_ACTION),
        "/JavaScript",
    ),
    "hex_escaped_names": (
        with_catalog(
            b"<</Type/Catalog/Pages 2 0 R/Open#41ction 4 0 R>>",
            b"<</S/J#61v#61Script/J#53(app.alert\\(1\\))>>",
        ),
        "/JavaScript",
    ),
    "script_in_a_compressed_object_stream": (
        with_catalog(b"<</Type/Catalog/Pages 2 0 R/OpenAction 5 0 R>>", object_stream({5: JS_ACTION})),
        "/JavaScript",
    ),
    "hex_escaped_in_a_hex_and_flate_object_stream": (
        with_catalog(
            CATALOG, object_stream({5: b"<</S/J#61vaScript/JS(x)>>"}, ("ASCIIHexDecode", "FlateDecode"))
        ),
        "/JavaScript",
    ),
    "page_additional_action": (
        make_pdf(
            [
                CATALOG,
                PAGES,
                b"<</Type/Page/Parent 2 0 R/AA<</O 4 0 R>>>>",
                b"<</S/JavaScript/JS 5 0 R>>",
                stream(b"", b"app.alert(1)"),
            ]
        ),
        "/JavaScript",
    ),
    "launch_action": (
        with_catalog(b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/Launch/F(cmd.exe)>>>>"),
        "/Launch",
    ),
    "embedded_file": (
        with_catalog(
            b"<</Type/Catalog/Pages 2 0 R/Names<</EmbeddedFiles 4 0 R>>>>",
            b"<</Names[(a.exe) 5 0 R]>>",
            b"<</Type/Filespec/F(a.exe)/EF<</F 6 0 R>>>>",
            stream(b"/Type/EmbeddedFile", b"MZ\x90\x00"),
        ),
        "/EmbeddedFile",
    ),
    "rich_media": (
        make_pdf(
            [
                CATALOG,
                PAGES,
                b"<</Type/Page/Parent 2 0 R/Annots[4 0 R]>>",
                b"<</Type/Annot/Subtype/RichMedia/Rect[0 0 9 9]>>",
            ]
        ),
        "/RichMedia",
    ),
    "submit_form": (with_catalog(CATALOG, b"<</S/SubmitForm/F(https://evil.example/)>>"), "/SubmitForm"),
    "import_data": (with_catalog(CATALOG, b"<</S/ImportData/F(data.fdf)>>"), "/ImportData"),
    "xfa_form": (
        with_catalog(
            b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[]/XFA 4 0 R>>>>", stream(b"", b"<xdp:xdp/>")
        ),
        "/XFA",
    ),
}


def upload(client, p, content: bytes, filename: str = "angebot.pdf"):
    return client.post(
        f"/proposals/{p.id}/edit",
        data={"title": "Netzwerk Plagwitz", "kind": "other", "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_pdf_with_active_content_is_refused_naming_what_was_found(app, draft, case):
    content, found = HOSTILE[case]
    p, client = draft
    page = upload(client, p, content).get_data(as_text=True)
    assert "„angebot.pdf“ enthält aktive Inhalte" in page
    assert found in page
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 0
    assert stored_files(app) == []


@pytest.mark.parametrize(
    "content",
    [
        PDF,
        # an open action that only shows the first page, links (URI) and a plain form
        with_catalog(
            b"<</Type/Catalog/Pages 2 0 R/OpenAction[3 0 R/Fit]/AcroForm<</Fields[]>>>>",
            b"<</S/URI/URI(https://leipzig.de)>>",
        ),
        # binary stream data (an image, a font) that happens to contain the bytes of short names
        with_catalog(
            CATALOG,
            stream(
                b"/Type/XObject/Subtype/Image/Width 1/Height 1", b"\x00/JS\x00/AA>>/XFA " + os.urandom(2000)
            ),
        ),
        # an ordinary compressed object stream
        with_catalog(CATALOG, object_stream({5: b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"})),
    ],
    ids=["minimal", "goto_uri_form", "binary_data", "object_stream"],
)
def test_ordinary_pdfs_pass(app, world, content):
    p = start_draft(world.call, world.applicant)
    add_attachment(p, world.applicant, "other", io.BytesIO(content), "ok.pdf")
    db.session.commit()
    assert db.session.query(Attachment).count() == 1


def test_an_encrypted_pdf_whose_objects_cannot_be_read_is_refused(app, world):
    content = make_pdf(
        [
            CATALOG,
            PAGES,
            PAGE,
            b"<</Filter/Standard/V 4/R 4/O(x)/U(y)/P -4>>",
            stream(b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode", os.urandom(64)),
        ],
        trailer=b"/Encrypt 4 0 R/ID[<00><00>]",
    )
    p = start_draft(world.call, world.applicant)
    with pytest.raises(ActionRefused, match="verschlüsselt") as exc:
        add_attachment(p, world.applicant, "other", io.BytesIO(content), "geschuetzt.pdf")
    assert "unverschlüsselte" in exc.value.message
    assert stored_files(app) == []


@pytest.mark.parametrize("case", ["bomb", "broken"])
def test_a_compressed_bomb_or_a_broken_stream_is_refused_quickly(app, world, case):
    if case == "bomb":  # 1 GB of zeros in about 1 MB
        z = zlib.compressobj(9)
        chunk = b"\x00" * (1 << 20)
        data = b"".join(z.compress(chunk) for _ in range(1024)) + z.flush()
    else:
        data = zlib.compress(b"1 0 <</S/JavaScript/JS(x)>>")[:-8] + b"garbage"
    content = with_catalog(CATALOG, stream(b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode", data))
    p = start_draft(world.call, world.applicant)
    started = time.monotonic()
    with pytest.raises(ActionRefused, match="konnte nicht auf aktive Inhalte geprüft werden"):
        add_attachment(p, world.applicant, "other", io.BytesIO(content), "bombe.pdf")
    assert time.monotonic() - started < 5
    assert stored_files(app) == []


# --- names -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile, shown",
    [
        (
            "rechnung\u202efdp.exe",
            "rechnungfdp.exe.pdf",
        ),  # right-to-left override: no longer shown as "…exe.pdf"
        ("a\u2066b\u2067c\u2068d\u2069e\u202a\u202b\u202c\u200e\u200f\u061c.pdf", "abcde.pdf"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff.pdf", "zerowidth.pdf"),
        ("hangul\u3164filler\u115f.pdf", "hangulfiller.pdf"),
        ("evil.html", "evil.html.pdf"),
        ("evil.PDF", "evil.PDF"),
        ("trailing.pdf. . ", "trailing.pdf"),
        (".pdf", "dokument.pdf"),
        ("\u202e", "dokument.pdf"),
        ("x" * 300 + ".exe", "x" * 196 + ".pdf"),
    ],
)
def test_a_file_name_loses_invisible_and_direction_characters_and_ends_in_pdf(hostile, shown):
    assert safe_filename(hostile) == shown


def downloaded(client, p, a):
    with client.get(f"/proposals/{p.id}/attachments/{a.id}") as resp:
        resp.get_data()
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    if "filename*=" in disposition:
        return unquote(disposition.split("filename*=UTF-8''", 1)[1])
    return disposition.split("filename=", 1)[1].strip('"')


def test_a_polyglot_uploaded_as_html_comes_back_as_pdf(app, draft):
    p, client = draft
    polyglot = PDF + b"<html><script>alert(document.cookie)</script></html>"
    upload(client, p, polyglot, "evil.html")
    db.session.expire_all()
    a = db.session.query(Attachment).one()
    assert a.filename == "evil.html.pdf"
    assert downloaded(client, p, a) == "evil.html.pdf"


def test_names_stored_before_are_cleaned_when_sent(app, world, draft):
    p, client = draft
    add_attachment(p, world.applicant, "other", io.BytesIO(PDF), "alt.pdf")
    db.session.commit()
    a = db.session.query(Attachment).one()
    a.filename = "rechnung\u202efdp.exe"  # as an older version stored it
    db.session.commit()
    assert downloaded(client, p, a) == "rechnungfdp.exe.pdf"
    page = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert "\u202e" not in page


# --- clamd ---------------------------------------------------------------------------------------------------------

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class _ClamdHandler(socketserver.BaseRequestHandler):
    """Speaks clamd's INSTREAM: `zINSTREAM\\0`, chunks with a 4-byte big-endian length, a zero-length chunk."""

    def handle(self):
        f = self.request.makefile("rb")
        command = b""
        while not command.endswith(b"\0"):
            byte = f.read(1)
            if not byte:
                return
            command += byte
        if command != b"zINSTREAM\0":
            self.request.sendall(b"UNKNOWN COMMAND\0")
            return
        data = b""
        while True:
            (length,) = struct.unpack(">I", f.read(4))
            if length == 0:
                break
            data += f.read(length)
        self.server.seen.append(data)
        answer = b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0"
        self.request.sendall(answer)


class _TCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Unix(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


@pytest.fixture(params=["tcp", "unix"])
def clamd(request, app, tmp_path):
    if request.param == "tcp":
        server = _TCP(("127.0.0.1", 0), _ClamdHandler)
        address = f"127.0.0.1:{server.server_address[1]}"
    else:
        path = str(tmp_path / "clamd.sock")
        server = _Unix(path, _ClamdHandler)
        address = path
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["CLAMD_SOCKET"] = address
    yield server
    server.shutdown()
    server.server_close()


def test_clamd_sees_every_upload_and_its_finding_refuses_the_file(app, world, draft, clamd):
    p, client = draft
    page = upload(client, p, PDF + b"%" + EICAR + b"\n", "infiziert.pdf").get_data(as_text=True)
    assert "„infiziert.pdf“ wurde vom Virenscanner abgewiesen (Eicar-Test-Signature)" in page
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 0
    assert stored_files(app) == []
    upload(client, p, PDF, "sauber.pdf")
    assert [a.filename for a in db.session.query(Attachment)] == ["sauber.pdf"]
    assert clamd.seen[-1] == PDF  # the whole file went to the scanner


def test_an_unreachable_clamd_refuses_the_upload_for_now(app, world, draft, caplog):
    p, client = draft
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config["CLAMD_SOCKET"] = f"127.0.0.1:{port}"
    page = upload(client, p, PDF, "angebot.pdf").get_data(as_text=True)
    assert "Die Virenprüfung ist gerade nicht erreichbar" in page
    assert "versuchen Sie es in einigen Minuten noch einmal" in page
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 0
    assert stored_files(app) == []
    assert any("clamd" in r.getMessage() for r in caplog.records)


def test_a_refused_file_with_an_answer_to_a_request_keeps_the_typed_answer(app, world, clock):
    from conftest import fill_draft

    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.models import Proposal
    from foerdercall.workflow.engine import fire

    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    fire(p, "submit", world.applicant)
    db.session.commit()
    clock.set(clock.t.replace(month=11, day=2))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "request_documents", world.ka, reason="Bitte Referenzen nachreichen.")
    db.session.commit()
    files_before = stored_files(app)
    client = app.test_client()
    login(client, "app@x.test")
    resp = client.post(
        f"/proposals/{p.id}/answer",
        data={
            "answer": "Anbei die Referenzen, mit vielen Grüßen",
            "file": (io.BytesIO(HOSTILE["launch_action"][0]), "referenzen.pdf"),
        },
        content_type="multipart/form-data",
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "„referenzen.pdf“ enthält aktive Inhalte (/Launch, /OpenAction)" in page
    assert "Anbei die Referenzen, mit vielen Grüßen" in page  # the typed answer is still there
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).state == "clarification"
    assert stored_files(app) == files_before

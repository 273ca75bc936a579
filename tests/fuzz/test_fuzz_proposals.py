"""The proposal forms fuzzed (tests/test_fuzz_forms.py): uploads with hostile file names and contents, removing
attachments, the proposal's buttons with a reason (withdraw, request documents, eligibility), the answer to a
request for missing documents (clarification) with a file. Never a 500; a refused form changes no row."""

from __future__ import annotations

import io
from urllib.parse import quote

from conftest import PDF, fill_draft, login
from hypothesis import strategies as st
from test_fuzz_forms import HOSTILE, PROPOSAL_FIELDS, VALUE, fields, fuzz, opened, post, show

from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire
from workflows.proposal import TRANSITIONS

TRIGGERS = sorted({t["trigger"] for t in TRANSITIONS})
CONTENT = st.sampled_from(
    [PDF, b"", b"%PDF", b"MZ\x90\x00 not a pdf", b"\x00" * 64, PDF * 50, "🙂 kein PDF".encode()]
)
FILENAME = st.one_of(
    HOSTILE,
    st.text(max_size=300),
    st.sampled_from(
        [
            "plan.pdf",
            "plan.PDF",
            ".pdf",
            "../../etc/passwd.pdf",
            "a\x00b.pdf",
            "CON.pdf",
            "x" * 400 + ".pdf",
            "résumé – Plan 🙂.pdf",
            "plan.pdf.exe",
            " .pdf",
            "\\\\server\\share\\plan.pdf",
        ]
    ),
)
UPLOAD = st.tuples(CONTENT, FILENAME)


def _segment(text: str) -> str:
    return quote(text, safe="") or "x"


def _file(upload):
    content, name = upload
    return {"file": (io.BytesIO(content), name)}


def test_the_draft_form_with_uploads_and_removal(app, world, backend):
    from foerdercall.proposals.models import Attachment

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    asked = [q.key for q in world.call.form_definition.questions() if q.type == "attachment"]
    kinds = st.sampled_from([*asked, "other"])

    def body(example):
        data, upload, which = example
        post(client, f"/proposals/{p.id}/edit", data, files=_file(upload))
        ids = db.session.scalars(db.select(Attachment.id).where(Attachment.proposal_id == p.id)).all()
        target = ids[which % len(ids)] if ids and which >= 0 else abs(which) + 10**6
        post(
            client,
            f"/proposals/{p.id}/attachments/{target}/delete",
            {k: v for k, v in data.items() if k == "reason"},
        )
        show(client, f"/proposals/{p.id}/edit", f"/proposals/{p.id}")

    fuzz(
        backend, st.tuples(fields(*PROPOSAL_FIELDS, "reason", kind=kinds), UPLOAD, st.integers(-3, 20)), body
    )


def test_the_proposal_buttons_and_the_clarification_answer(app, world, clock, backend):
    """After the opening: an official's buttons (request documents, eligibility, ...) with a reason; the
    applicant's answer to a request for missing documents, with a file; the applicant's withdrawal; the reasons
    of an exclusion asked for and answered."""
    ps = opened(world, clock, eligible=False)
    fire(ps[1], "request_documents", world.ka, reason="Bitte den Finanzplan nachreichen")
    db.session.commit()
    ka, applicant, applicant2 = app.test_client(), app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(applicant, world.applicant.email)
    login(applicant2, world.applicant2.email)
    trigger = st.one_of(st.sampled_from(TRIGGERS), HOSTILE)

    def body(example):
        (t1, t2), data, upload = example
        post(ka, f"/proposals/{ps[0].id}/fire/{_segment(t1)}", data)
        post(applicant2, f"/proposals/{ps[1].id}/answer", data, files=_file(upload))
        post(ka, f"/proposals/{ps[1].id}/fire/{_segment(t2)}", data)
        post(applicant, f"/proposals/{ps[0].id}/fire/{_segment(t2)}", data)
        post(applicant, f"/proposals/{ps[0].id}/reasons", data)  # once excluded: the reasons on request
        post(ka, f"/proposals/{ps[0].id}/reasons/answer", data)
        show(ka, *(f"/proposals/{p.id}" for p in ps))
        show(applicant2, f"/proposals/{ps[1].id}")

    fuzz(
        backend,
        st.tuples(st.tuples(trigger, trigger), fields("reason", "answer", "question", answer=VALUE), UPLOAD),
        body,
        explicit=(
            (
                ("request_documents", "answer_request"),
                {"reason": "Fehlt", "answer": "Anbei"},
                (PDF, "finanzplan.pdf"),
            ),
            (
                ("declare_ineligible", "withdraw"),
                {"reason": "Zu spät", "question": "Warum?", "answer": "So"},
                (PDF, "x.pdf"),
            ),
        ),
    )


def test_bodies_that_are_not_utf8(app, world, backend):
    """Bytes no browser sends as text (invalid UTF-8, NUL, a file name with them) into the draft form."""
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    urlencoded = "application/x-www-form-urlencoded"
    for body in (
        b"title=%FF%FEabc&summary=%C0%AF&requested_amount=%EF%BC%91",
        b"title=\xff\xfe\x00abc",
        b"title=" + b"%00" * 10 + b"&field_of_action=%ED%A0%80",
    ):
        resp = client.post(f"/proposals/{p.id}/edit", data=body, content_type=urlencoded)
        assert resp.status_code < 500, body
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a\xff\x00b.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--XX\r\n"
        b'Content-Disposition: form-data; name="kind"\r\n\r\nother\r\n--XX--\r\n'
    )
    resp = client.post(
        f"/proposals/{p.id}/edit", data=multipart, content_type="multipart/form-data; boundary=XX"
    )
    assert resp.status_code < 500
    assert client.get(f"/proposals/{p.id}/edit").status_code == 200

"""An upload that starts before the deadline and ends after it (issue 17, hole 9).

The rule: what counts is the moment the whole request (the text and every file) has arrived at the server. A
submission whose last byte arrives after the deadline is late; the draft keeps its text and its files. The form,
the receipt (document and mail) say so."""

from __future__ import annotations

import datetime as dt
import io

from conftest import DEADLINE, PDF, berlin, fill_draft, login
from pypdf import PdfReader
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from foerdercall import timeutil
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.models import Attachment, Proposal
from foerdercall.proposals.operations import start_draft


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


class ClockMovingStream(io.BytesIO):
    """A request body that arrives slowly: once half of it has been read, the clock stands at `then`."""

    def __init__(self, data: bytes, clock, then):
        super().__init__(data)
        self.half, self.clock, self.then = len(data) // 2, clock, then

    def _moved(self, chunk: bytes) -> bytes:
        if self.tell() >= self.half:
            self.clock.set(self.then)
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        size = 4096 if size is None or size < 0 else min(size, 4096)  # small packets, as from a slow line
        return self._moved(super().read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._moved(super().readline(4096 if size is None or size < 0 else min(size, 4096)))

    def readinto(self, buffer) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def slow_post(client, clock, p, then, action="submit", title="Späte Fassung"):
    fields = {
        "title": title,
        "summary": "Kurz",
        "description": "Konzept",
        "work_plan": "Plan",
        "team": "Team",
        "leipzig_relation": "Leipzig",
        "field_of_action": "networks",
        "requested_amount": "10000",
        "kind": "other",
        "action": action,
        "file": FileStorage(
            io.BytesIO(PDF + b"%" + b"x" * 200_000 + b"\n"), "gross.pdf", content_type="application/pdf"
        ),
    }
    boundary, body = encode_multipart(fields)
    stream = ClockMovingStream(body, clock, then)
    return client.post(
        f"/proposals/{p.id}/edit",
        input_stream=stream,
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        follow_redirects=True,
    )


def test_a_submission_whose_upload_ends_after_the_deadline_is_late_and_the_draft_keeps_everything(
    app, world, clock
):
    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    clock.set(berlin(*DEADLINE, 30))  # 23:59:30: the request starts in time
    page = slow_post(client, clock, p, berlin(2026, 11, 1, 0, 0, 20)).get_data(as_text=True)  # and ends late
    assert "Die Einreichungsfrist ist am 31.10.2026, 23:59 Uhr abgelaufen" in page
    assert "Entwurf gespeichert" in page
    db.session.expire_all()
    p = db.session.get(Proposal, p.id)
    assert p.state == "draft" and p.submitted_at is None
    assert p.title == "Späte Fassung"  # the text is kept
    assert "gross.pdf" in [a.filename for a in p.attachments]  # and the file, in the draft
    late = next(a for a in p.attachments if a.filename == "gross.pdf")
    assert late.uploaded_at == berlin(2026, 11, 1, 0, 0, 20)  # its time is when it had arrived


def test_a_submission_whose_upload_ends_before_the_deadline_counts_with_that_moment(app, world, clock):
    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    clock.set(berlin(2026, 10, 31, 23, 50))
    arrived = berlin(*DEADLINE, 59)  # 23:59:59: the last second of the deadline minute
    page = slow_post(client, clock, p, arrived).get_data(as_text=True)
    assert "Ihr Angebot ist eingegangen" in page
    db.session.expire_all()
    p = db.session.get(Proposal, p.id)
    assert p.state == "submitted" and p.submitted_at == arrived
    assert (
        db.session.query(Attachment).filter(Attachment.filename == "gross.pdf").one().uploaded_at == arrived
    )


class TickingClock:
    """A real clock, only faster: every reading is a second later than the one before."""

    def __init__(self, start):
        self.t = start

    def __call__(self):
        self.t += dt.timedelta(seconds=1)
        return self.t


def test_the_file_sent_with_the_submission_is_on_its_receipt_however_long_the_request_takes(
    app, world, clock
):
    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    timeutil.set_clock(TickingClock(berlin(2026, 10, 20, 10, 0)))
    try:
        page = slow_post(client, clock, p, berlin(2026, 10, 20, 10, 0)).get_data(as_text=True)
    finally:
        timeutil.set_clock(clock)
    assert "Ihr Angebot ist eingegangen" in page
    db.session.expire_all()
    p = db.session.get(Proposal, p.id)
    late = next(a for a in p.attachments if a.filename == "gross.pdf")
    assert late.uploaded_at == p.submitted_at  # one moment for the whole request
    text = text_of(client.get(f"/proposals/{p.id}/documents/receipt.pdf").data)
    assert "gross.pdf" in text


def test_the_rule_is_written_on_the_form_in_the_receipt_and_in_the_receipt_mail(app, world, clock):
    from foerdercall.workflow.engine import fire

    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    form = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert "Maßgeblich ist der vollständige Eingang beim Server" in form
    assert "laden Sie große Dateien rechtzeitig hoch" in form
    assert form.index("vollständige Eingang beim Server") < form.index("Verbindlich einreichen")
    fire(p, "submit", world.applicant)
    db.session.commit()
    mail = db.session.query(OutboxMail).filter(OutboxMail.subject.like("Eingangsbestätigung%")).one()
    assert "vollständige Eingang" in mail.body
    text = text_of(client.get(f"/proposals/{p.id}/documents/receipt.pdf").data)
    assert "vollständige Eingang" in text

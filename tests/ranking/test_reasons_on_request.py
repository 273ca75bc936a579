"""Reasons on request: an unsuccessful applicant asks for the reasons of the decision within the period the
notice names; an official answers in the app; both are audited, the answer is mailed, and both appear in the
Vergabevermerk (issue 19)."""

from __future__ import annotations

import io

import pytest
from conftest import berlin, login
from pypdf import PdfReader
from rank_helpers import opened, score, submitted
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.operations import sign_off
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import ReasonRequest
from foerdercall.proposals.operations import answer_reasons, request_reasons
from foerdercall.reviews.operations import assign_reviewer
from foerdercall.workflow.engine import fire


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(data)).pages).split())


def rejected(world, clock):
    (p,) = submitted(world, 1, titles=["Atelier am Kanal"])
    opened(world, clock, [p])
    assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    db.session.commit()
    score(p, world.rev1, [2] * 6)
    clock.set(berlin(2026, 11, 20, 10, 0))  # a Friday
    sign_off(p, world.ka, "reject", "Die Wirkung auf die Stadtteile bleibt unklar.")
    db.session.commit()
    assert p.state == "rejected"
    return p


def test_the_applicant_asks_within_the_period_and_the_office_answers(app, world, clock):
    p = rejected(world, clock)
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "rejection"))
    # 30 days after the notice: 20.12.2026 is a Sunday, so the period ends on Monday
    assert "Die ausführlichen Gründe der Entscheidung können Sie bis 21.12.2026, 23:59 Uhr" in mail.body

    applicant = app.test_client()
    login(applicant, "app@x.test")
    page = applicant.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Sie können die Gründe der Entscheidung bis 21.12.2026, 23:59 Uhr erfragen." in page
    resp = applicant.get(f"/proposals/{p.id}/documents/rejection.pdf")
    assert "bis 21.12.2026, 23:59 Uhr auf der Seite Ihres Angebots" in pdf_text(resp.data)

    clock.set(berlin(2026, 11, 24, 9, 30))
    resp = applicant.post(
        f"/proposals/{p.id}/reasons",
        data={"question": "Was fehlte bei der Wirkung?"},
        follow_redirects=True,
    )
    assert "Ihre Anfrage ist eingegangen. Das Amt antwortet innerhalb von 15 Tagen." in resp.get_data(
        as_text=True
    )
    rr = db.session.scalar(select(ReasonRequest))
    assert (rr.state, rr.question) == ("requested", "Was fehlte bei der Wirkung?")
    assert rr.due_at == berlin(2026, 12, 9, 23, 59)
    # once only
    with pytest.raises(ActionRefused, match="bereits erfragt"):
        request_reasons(p, world.applicant, "noch einmal")
    db.session.rollback()

    ka = app.test_client()
    login(ka, "ka@x.test")
    tasks = ka.get("/").get_data(as_text=True)
    assert "Gründe erfragt" in tasks and p.file_number in tasks
    resp = ka.post(f"/proposals/{p.id}/reasons/answer", data={"answer": " "}, follow_redirects=True)
    assert "Bitte schreiben Sie die Antwort." in resp.get_data(as_text=True)
    resp = ka.post(
        f"/proposals/{p.id}/reasons/answer",
        data={"answer": "Die Gutachten sahen keinen Bezug zu einzelnen Stadtteilen (2 von 5 Punkten)."},
        follow_redirects=True,
    )
    assert "Die Antwort ist verschickt." in resp.get_data(as_text=True)
    answer = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "reasons_answered"))
    assert answer.recipient_id == world.applicant.id
    assert "Die Gutachten sahen keinen Bezug zu einzelnen Stadtteilen" in answer.body
    page = applicant.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Antwort vom 24.11.2026, 09:30 Uhr" in page and "keinen Bezug zu einzelnen Stadtteilen" in page
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "reason_requests").order_by(AuditEvent.seq)
    ).all()
    assert actions == ["request_reasons", "answer_reasons"]

    record = pdf_text(ka.get(f"/proposals/{p.id}/documents/vergabevermerk.pdf").data)
    assert "Gründe auf Antrag Angefragt 24.11.2026, 09:30 Uhr" in record
    assert (
        "Frage Was fehlte bei der Wirkung? Beantwortet 24.11.2026, 09:30 Uhr, Karla KA Antwort Die Gutachten"
        in record
    )


def test_no_request_after_the_period_nor_for_a_successful_proposal(app, world, clock):
    p = rejected(world, clock)
    clock.set(berlin(2026, 12, 22, 0, 0))
    with pytest.raises(ActionRefused) as exc:
        request_reasons(p, world.applicant, "")
    assert exc.value.message == "Die Frist, die Gründe zu erfragen, ist am 21.12.2026, 23:59 Uhr abgelaufen."
    db.session.rollback()
    applicant = app.test_client()
    login(applicant, "app@x.test")
    page = applicant.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Gründe erfragen" not in page and "ist am 21.12.2026, 23:59 Uhr abgelaufen" in page
    # nobody but its applicant asks; nobody but an official answers
    with pytest.raises(ActionRefused):
        request_reasons(p, world.applicant2, "")
    db.session.rollback()
    clock.set(berlin(2026, 11, 21, 0, 0))
    rr = request_reasons(p, world.applicant, "")
    db.session.commit()
    with pytest.raises(ActionRefused):
        answer_reasons(rr, world.rev1, "Antwort")
    db.session.rollback()

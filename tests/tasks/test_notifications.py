"""What arrives for the offices reaches their officials: a mail each time, or one each morning with the task
list, as each official chose on their account page."""

from __future__ import annotations

import pytest
from conftest import berlin, fill_draft, login
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.workflow.engine import fire
from worker.sweep import sweep


def sent(kind: str) -> list[str]:
    return [m.to_address for m in db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind))]


@pytest.fixture
def answered(app, world, clock):
    """KA2 chose the morning mail; a request for documents is answered on 3.11.2026, 15:00."""
    world.ka2.notify_mode = "daily"
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    submit(p, world.applicant)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "request_documents", world.ka, reason="Bitte den Finanzplan nachreichen.")
    clock.set(berlin(2026, 11, 3, 15, 0))
    fire(p, "answer_request", world.applicant, reason="Anbei.")
    db.session.commit()
    return p


def test_an_answer_is_mailed_at_once_to_those_who_want_it(app, world, clock, answered):
    # the deciding offices' officials (KA, AfWiFö) who chose a mail each time; not KA2 (daily), not the admin
    assert sorted(sent("clarification_answered")) == ["afw@x.test", "ka@x.test"]
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "clarification_answered"))
    assert answered.file_number in mail.subject
    assert f"http://foerdercall.test/proposals/{answered.id}" in mail.body


def test_the_morning_mail_lists_the_tasks_once_a_day(app, world, clock, answered):
    clock.set(berlin(2026, 11, 4, 6, 59))
    sweep()
    assert sent("task_digest") == []  # not before seven
    clock.set(berlin(2026, 11, 4, 7, 0))
    assert sweep()["task_digests"] == 1
    clock.set(berlin(2026, 11, 4, 7, 1))
    assert sweep()["task_digests"] == 0  # once a day
    assert sent("task_digest") == ["ka2@x.test"]
    body = db.session.scalar(select(OutboxMail.body).where(OutboxMail.kind == "task_digest"))
    assert "Antworten auf Nachforderungen (1):" in body
    assert f"{answered.file_number} · Netzwerk Plagwitz" in body
    assert f"http://foerdercall.test/proposals/{answered.id}" in body
    assert "http://foerdercall.test/\n" in body  # the task list itself
    clock.set(berlin(2026, 11, 5, 7, 0))
    fire(answered, "declare_eligible", world.ka)
    db.session.commit()
    sweep()  # still work for KA2 (reviewers to assign): the next morning's mail
    assert sent("task_digest") == ["ka2@x.test"] * 2


def test_no_morning_mail_when_nothing_waits(app, world, clock):
    world.ka2.notify_mode = "daily"
    db.session.commit()
    clock.set(berlin(2026, 10, 2, 7, 30))
    assert sweep()["task_digests"] == 0


def test_an_official_chooses_on_the_account_page(app, world, clock):
    client = app.test_client()
    login(client, "ka@x.test")
    assert "Sofort: eine E-Mail" in client.get("/account").get_data(as_text=True)
    resp = client.post("/account/notifications", data={"notify_mode": "daily"}, follow_redirects=True)
    assert "jeden Morgen eine E-Mail" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert world.ka.notify_mode == "daily"
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "set_notify_mode"))
    resp = client.post("/account/notifications", data={"notify_mode": "weekly"}, follow_redirects=True)
    assert "Keine gültige Auswahl." in resp.get_data(
        as_text=True
    )  # a hand-made value: refused, nothing changed
    db.session.expire_all()
    assert world.ka.notify_mode == "daily"
    applicant = app.test_client()
    login(applicant, "app@x.test")
    assert "Benachrichtigungen" not in applicant.get("/account").get_data(as_text=True)
    assert applicant.post("/account/notifications", data={"notify_mode": "daily"}).status_code == 403

"""Failed mails as an official sees them (the worker page) and sends them again: in bulk by reason and time,
from the page and from the command line; a sealed call's mail shows its recipient, reason and attempts but
never its content; the outbox counts truly what it hides."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import fill_draft, login
from smtp_sink import SmtpServer
from sqlalchemy import func, insert, select

from foerdercall.aftercommit import discard
from foerdercall.audit.models import AuditEvent
from foerdercall.cli import make_cli
from foerdercall.extensions import db
from foerdercall.mail.delivery import send_mail
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail
from foerdercall.policy.reading import may_read_mail, readable_mails
from foerdercall.proposals.operations import start_draft
from foerdercall.timeutil import to_berlin
from foerdercall.workflow.engine import fire

UNKNOWN = "SMTP 550 5.1.1 Postfach unbekannt"
REFUSED = "SMTP 554 5.7.1 Abgelehnt"


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        app.config.update(server.config())
        yield server.sink


def failed(world, smtp, key: str, answer: str) -> OutboxMail:
    """A mail the server refused for good (``answer``) just now."""
    mail = queue_mail("call_corrected", world.applicant, key, call=world.call, reason="Frist")
    discard("mail")
    db.session.commit()
    smtp.refuse = answer
    assert send_mail(mail.id, f"t-{key}") == "failed"
    smtp.refuse = None
    return mail


def status(mail: OutboxMail) -> str:
    db.session.expire_all()
    return db.session.get(OutboxMail, mail.id).status


def local(at: dt.datetime) -> str:
    return to_berlin(at).strftime("%Y-%m-%dT%H:%M")


def test_the_failed_mails_of_one_reason_and_time_go_again_from_the_page(app, world, smtp, clock):
    early = [failed(world, smtp, f"e{i}", "550 5.1.1 Postfach unbekannt") for i in range(2)]
    start = clock()
    clock.advance(hours=2)
    late = failed(world, smtp, "late", "550 5.1.1 Postfach unbekannt")
    other = failed(world, smtp, "other", "554 5.7.1 Abgelehnt")
    client = app.test_client()
    login(client, world.ka.email)
    page = client.get("/worker").get_data(as_text=True)
    assert UNKNOWN in page and REFUSED in page
    assert "Alle 3 erneut senden" in page and "Diese Nachricht erneut senden" in page  # by reason

    # the end before the start: refused with the reason, nothing sent
    resp = client.post(
        "/worker/mails/retry",
        data={"reason": UNKNOWN, "failed_from": local(clock()), "failed_until": local(start)},
        follow_redirects=True,
    )
    assert "Das Ende des Zeitraums liegt vor seinem Anfang." in resp.get_data(as_text=True)
    assert smtp.keys() == []

    resp = client.post(
        "/worker/mails/retry",
        data={"reason": UNKNOWN, "failed_until": local(start + dt.timedelta(hours=1))},
        follow_redirects=True,
    )
    assert "2 Nachrichten werden erneut gesendet." in resp.get_data(as_text=True)
    assert sorted(smtp.keys()) == sorted(m.dedup_key for m in early)  # sent right after the commit
    assert [status(m) for m in (*early, late, other)] == ["sent", "sent", "failed", "failed"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retry_mail")).all()
    assert sorted(e.object_id for e in events) == sorted(m.id for m in early)
    assert {e.actor_id for e in events} == {world.ka.id}

    # nothing matches: said so
    resp = client.post(
        "/worker/mails/retry", data={"reason": "SMTP 999 gibt es nicht"}, follow_redirects=True
    )
    assert "Keine fehlgeschlagene Nachricht passt zu dieser Auswahl." in resp.get_data(as_text=True)

    # from the command line, by reason; the rest stays
    runner = app.test_cli_runner()
    counted = runner.invoke(make_cli(), ["mail", "retry", "--reason", REFUSED, "--dry-run"])
    assert "1 failed mail(s) would be sent again." in counted.output
    assert status(other) == "failed"
    done = runner.invoke(make_cli(), ["mail", "retry", "--reason", REFUSED])
    assert done.exit_code == 0 and "1 failed mail(s) sent again." in done.output, done.output
    assert status(other) == "sent" and status(late) == "failed"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "retry_mail", AuditEvent.object_id == other.id)
    )
    assert event.actor_id is None and event.actor_name == "System"
    bad = runner.invoke(make_cli(), ["mail", "retry", "--since", "gestern"])
    assert bad.exit_code != 0 and "a Leipzig time" in bad.output

    applicant = app.test_client()
    login(applicant, world.applicant.email)
    assert applicant.post("/worker/mails/retry", data={}).status_code == 403
    assert status(late) == "failed"


def test_a_sealed_call_s_failed_mail_shows_recipient_reason_and_attempts_never_its_content(app, world, smtp):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    smtp.refuse = "550 5.1.1 Postfach unbekannt"
    fire(p, "submit", world.applicant)
    db.session.commit()  # the receipt is sent after the commit, and refused for good
    receipt = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "receipt"))
    assert receipt.status == "failed" and world.call.is_sealed
    client = app.test_client()
    login(client, world.ka.email)
    page = client.get("/worker").get_data(as_text=True)
    assert receipt.to_address in page and UNKNOWN in page
    assert "Nachricht zu einem noch verschlossenen Angebot" in page
    assert receipt.subject not in page and p.title not in page


def test_the_outbox_counts_every_mail_it_hides(app, world, smtp):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    db.session.commit()
    receipt = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "receipt"))
    row = {c.name: getattr(receipt, c.name) for c in OutboxMail.__table__.columns if c.name != "id"}
    db.session.execute(  # 600 more mails about the sealed submission: more than the page lists
        insert(OutboxMail), [{**row, "dedup_key": f"receipt:copy:{i}"} for i in range(600)]
    )
    queue_mail("verify_email", world.applicant, "secret", link="https://x.test/v/abc")  # a secret link
    queue_mail("call_corrected", world.applicant, "open", call=world.call, reason="Frist")
    queue_mail("call_corrected", world.ka, "own", call=world.call, reason="Frist")
    db.session.commit()
    client = app.test_client()
    login(client, world.ka.email)
    page = client.get("/outbox").get_data(as_text=True)
    assert "602 Nachrichten sind ausgeblendet" in page  # 601 receipts and the secret link
    assert page.count("<tr>") == 2 + 1  # the two readable mails, and the head
    # the query and the rule give the same answers, mail by mail
    readable = set(db.session.scalars(select(OutboxMail.id).where(readable_mails(world.ka))))
    for mail in db.session.scalars(select(OutboxMail)):
        assert (mail.id in readable) == may_read_mail(world.ka, mail), (mail.kind, mail.recipient_id)
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 604

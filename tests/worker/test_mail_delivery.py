"""Delivering one outbox mail, in process: the message (plain text and HTML, stable ids), SMTP, the claim
that lets only one attempt send, back-off on transient errors, failure with the reason, the retry button
of the worker status page, and a web request that commits while the broker is unreachable."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from conftest import fill_draft, login
from smtp_sink import SmtpServer
from sqlalchemy import select, update

from foerdercall.aftercommit import discard
from foerdercall.audit.models import AuditEvent
from foerdercall.extensions import db
from foerdercall.mail.delivery import DeliveryDeferred, relay_due, send_batch, send_mail
from foerdercall.mail.message import to_message
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail
from foerdercall.proposals.operations import start_draft

REASON = "Frist <verlängert> & mehr\nZweite Zeile"


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        app.config.update(server.config(), MAIL_RETRY_SECONDS=60, MAIL_MAX_ATTEMPTS=3)
        yield server.sink


def queue(world, key: str = "t") -> OutboxMail:
    """A mail written, not handed over after the commit: the test delivers it itself."""
    mail = queue_mail("call_corrected", world.applicant, key, call=world.call, reason=REASON)
    discard("mail")
    db.session.commit()
    return mail


def row(mail_id: int) -> OutboxMail:
    db.session.expire_all()
    return db.session.get(OutboxMail, mail_id)


def test_a_mail_has_a_text_and_an_html_part_and_ids_that_survive_a_resend(app, world):
    mail = queue(world)
    msg = to_message(mail)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # MIME text: CRLF lines
    html = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert "Grund: Frist <verlängert> & mehr\nZweite Zeile" in text
    assert "Grund: Frist &lt;verlängert&gt; &amp; mehr<br>\nZweite Zeile" in html
    assert "<verlängert>" not in html and '<html lang="de">' in html
    assert msg["X-Foerdercall-Key"] == mail.dedup_key == f"call_corrected:t:{world.applicant.id}"
    assert msg["Message-ID"] == to_message(row(mail.id))["Message-ID"]
    assert msg["Message-ID"] != to_message(queue(world, "other"))["Message-ID"]


def test_only_one_attempt_gets_the_claim(app, world, smtp):
    mail = queue(world)
    assert send_mail(mail.id, "task-a") == "sent"
    assert send_mail(mail.id, "task-b") == "skipped"  # a second task for the same mail
    assert send_mail(mail.id, "task-a") == "skipped"  # the same task delivered twice
    assert smtp.keys() == [mail.dedup_key]
    received = smtp.messages[0]
    assert received["Message-ID"] == to_message(mail)["Message-ID"]
    assert received.get_body(("html",)) is not None
    assert (row(mail.id).status, row(mail.id).attempts) == ("sent", 1)


def test_a_retry_takes_over_its_own_attempt_s_claims_once_and_a_copy_none(app, world, smtp):
    """A copy of a task (another attempt) never gets a row claimed by a live attempt; the retry of an attempt
    (its token among ``owners``) takes the rows over, and only one retry can."""
    from foerdercall.mail import delivery

    mails = [queue(world, f"k{i}") for i in range(3)]
    ids = [m.id for m in mails]
    key = delivery.this_process().claimant.ensure()
    assert delivery._claim(ids, "task:first", key, delivery.now(), []) == ids  # claimed, then it stopped
    assert send_batch(ids, "task:copy")["skipped"] == ids  # the copy: nothing to send
    assert send_batch(ids, "task:retry", owners=["task:first"])["sent"] == ids
    assert send_batch(ids, "task:retry2", owners=["task:first"])["skipped"] == ids
    assert sorted(smtp.keys()) == sorted(m.dedup_key for m in mails)
    assert {row(i).attempts for i in ids} == {2}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_claim_of_a_process_that_is_gone_is_abandoned_at_once(app, world, smtp, clock):
    """PostgreSQL: the claimant's advisory lock goes with its connection, and its claims with it (SQLite, the
    embedded default, has one process: its claims end by their timeout)."""
    from foerdercall.mail import delivery

    clock.set(dt.datetime.now(dt.UTC))  # claims are compared with the database server's start
    mail = queue(world)
    other = delivery.Claimant()  # another process's claimant
    key = other.ensure()
    assert delivery._claim([mail.id], "task:elsewhere", key, delivery.now(), []) == [mail.id]
    assert send_batch([mail.id], "task:here")["skipped"] == [mail.id]  # it lives: its claim holds
    other._drop()  # the process dies: its connection, and the lock with it
    assert send_batch([mail.id], "task:here")["sent"] == [mail.id]
    assert smtp.keys() == [mail.dedup_key]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_mark_through_psycopg_writes_what_the_session_s_mark_writes(app, world, clock):
    """The claimant marks a mail sent with its own SQL (MARK_SENT, for speed); the session marks with
    _sent_update. Both leave the same row, and neither marks a mail whose claim another attempt holds."""
    from foerdercall.mail import delivery

    mails = [queue(world, f"m{i}") for i in range(4)]
    ids = [m.id for m in mails]
    key = delivery.this_process().claimant.ensure()
    assert delivery._claim(ids, "task:mine", key, delivery.now(), []) == ids
    claimant = delivery.this_process().claimant
    assert claimant.mark_sent(ids[0], "task:mine") and delivery._record_sent([ids[1]], ["task:mine"]) == 1
    assert (
        not claimant.mark_sent(ids[2], "task:other") and delivery._record_sent([ids[3]], ["task:other"]) == 0
    )

    def state(mail_id: int) -> dict:
        mail = row(mail_id)
        columns = ("status", "sent_at", "claimed_by", "claimant", "next_attempt_at", "attempts", "claimed_at")
        return {c: getattr(mail, c) for c in columns}

    assert state(ids[0]) == state(ids[1]) and state(ids[0])["status"] == "sent"
    assert state(ids[0])["sent_at"] == delivery.now()
    assert state(ids[2]) == state(ids[3]) and state(ids[2])["status"] == "sending"


def test_a_refusing_relay_pauses_delivery_then_the_mail_fails_with_the_reason(app, world, smtp, clock):
    app.config.update(MAIL_BREAKER_SECONDS=10, MAIL_BREAKER_MAX_SECONDS=25)
    mail = queue(world)
    smtp.refuse = "451 4.3.0 Bitte später"
    with pytest.raises(DeliveryDeferred) as first:
        send_mail(mail.id, "t1")
    assert 10 <= first.value.delay <= 15  # the first pause, with jitter
    r = row(mail.id)
    assert (r.status, r.attempts, r.failure) == ("pending", 1, "relay") and "451" in r.last_error
    assert r.next_attempt_at == clock() + dt.timedelta(seconds=first.value.delay)
    with pytest.raises(DeliveryDeferred, match="paused"):  # the relay is not asked during the pause
        send_mail(mail.id, "t2")
    assert smtp.refused == 1
    clock.advance(seconds=first.value.delay)
    with pytest.raises(DeliveryDeferred) as second:
        send_mail(mail.id, "t3")
    assert 20 <= second.value.delay <= 25  # doubled, at most MAIL_BREAKER_MAX_SECONDS
    clock.advance(seconds=second.value.delay)
    assert send_mail(mail.id, "t4") == "failed"  # MAIL_MAX_ATTEMPTS = 3
    r = row(mail.id)
    assert (r.status, r.attempts, r.next_attempt_at, r.failure) == ("failed", 3, None, "relay")
    assert r.last_error == "SMTP 451 4.3.0 Bitte später" and r.failed_at == clock()
    assert smtp.messages == [] and smtp.refused == 3


def test_a_recipient_refused_for_now_waits_alone_and_the_batch_goes_on(app, world, smtp, clock):
    first, second = queue(world, "a"), queue(world, "b")
    smtp.refuse_rcpt[first.to_address] = "450 4.2.1 Postfach voll"
    other = world.ka  # the second mail to someone else
    db.session.execute(update(OutboxMail).where(OutboxMail.id == second.id).values(to_address=other.email))
    db.session.commit()
    with pytest.raises(DeliveryDeferred) as deferred:
        send_batch([first.id, second.id], "t1")
    assert deferred.value.retry == [first.id]
    assert 60 <= deferred.value.delay <= 90  # MAIL_RETRY_SECONDS, with jitter
    assert smtp.keys() == [second.dedup_key]  # the relay is fine: the next mail went on
    r = row(first.id)
    assert (r.status, r.attempts, r.failure) == ("pending", 1, "recipient")
    assert r.last_error == "SMTP 450 4.2.1 Postfach voll"


def test_a_permanent_refusal_fails_at_once(app, world, smtp):
    mail = queue(world)
    smtp.refuse = "550 5.1.1 Postfach unbekannt"
    assert send_mail(mail.id, "t1") == "failed"
    r = row(mail.id)
    assert (r.status, r.attempts) == ("failed", 1) and "550 5.1.1 Postfach unbekannt" in r.last_error


def test_an_official_sends_a_failed_mail_again_from_the_status_page(app, world, smtp):
    mail = queue(world)
    smtp.refuse = "550 5.1.1 Postfach unbekannt"
    send_mail(mail.id, "t1")
    smtp.refuse = None
    client = app.test_client()
    login(client, world.ka.email)
    page = client.get("/worker").get_data(as_text=True)
    assert "550 5.1.1 Postfach unbekannt" in page and mail.to_address in page
    assert "Erneut senden" in page
    resp = client.post(f"/worker/mails/{mail.id}/retry")
    assert resp.status_code == 302
    assert smtp.keys() == [mail.dedup_key]  # delivered right after the commit (embedded default)
    r = row(mail.id)
    assert (r.status, r.attempts) == ("sent", 1)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retry_mail"))
    assert event.actor_id == world.ka.id and event.object_id == mail.id
    # a mail that was sent cannot be "retried" into a second copy
    client.post(f"/worker/mails/{mail.id}/retry")
    assert row(mail.id).status == "sent" and len(smtp.messages) == 1
    # applicants do not see the page
    applicant = app.test_client()
    login(applicant, world.applicant.email)
    assert applicant.get("/worker").status_code == 403


def test_the_request_succeeds_when_the_broker_is_down_and_the_relay_finds_the_mail(app, world, clock, caplog):
    app.config.update(BROKER_URL="redis://127.0.0.1:1/0", MAIL_REDISPATCH_SECONDS=60)
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    with caplog.at_level(logging.WARNING, logger="foerdercall.broker"):
        resp = client.post(f"/proposals/{p.id}/fire/submit")
        assert resp.status_code == 302
        # the request's mail is handed over a moment after the response (MAIL_DISPATCH_DELAY_SECONDS)
        deadline = time.monotonic() + 10
        while "broker unreachable" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "broker unreachable" in caplog.text
    receipt = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "receipt"))
    assert receipt.status == "pending" and row(p.id) is not None
    assert relay_due() == []  # handed over a moment ago: the worker may still have it
    clock.advance(seconds=61)
    assert relay_due() == [receipt.id]
    assert relay_due() == []  # handed over again just now

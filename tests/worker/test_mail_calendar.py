"""Mails whose point is a date carry it as an .ics attachment (RFC 5545: CRLF lines, a VEVENT at that moment
in UTC, the subject as summary, a UID stable per mail); other mails carry none."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

from conftest import berlin, fill_draft
from sqlalchemy import select
from test_held_mails import _awarded

from foerdercall.awards.models import Award
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.mail.message import message_bytes, to_message
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail
from foerdercall.proposals.models import Clarification
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire
from worker.sweep import sweep


def calendar_of(mail: OutboxMail) -> dict[str, str] | None:
    """The properties of the VEVENT of the mail's .ics attachment, read from the message as sent."""
    msg = email.message_from_bytes(message_bytes(mail), policy=email.policy.default)
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    if not parts:
        return None
    assert len(parts) == 1 and parts[0].get_filename() == "termin.ics"
    assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
    raw = parts[0].get_payload(decode=True)
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    lines = raw.decode("utf-8").replace("\r\n ", "").split("\r\n")  # unfolded
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    event = lines[lines.index("BEGIN:VEVENT") + 1 : lines.index("END:VEVENT")]
    return dict(line.split(":", 1) for line in event)


def utc(moment) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def test_an_award_mail_carries_the_acceptance_deadline(app, world, clock):
    mail = _awarded(world, clock, hold=False)
    accept_by = db.session.scalar(select(Award.accept_by).where(Award.proposal_id == mail.proposal_id))
    assert mail.event_at == accept_by
    vevent = calendar_of(mail)
    assert vevent["DTSTART"] == utc(accept_by)
    assert vevent["SUMMARY"] == mail.subject.replace(",", "\\,").replace(";", "\\;")
    assert vevent["UID"] == calendar_of(mail)["UID"]  # stable: a resend is the same event


def test_a_clarification_request_carries_its_due_date(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "request_documents", world.ka, reason="Bitte die Eigenerklärung unterschreiben.")
    db.session.commit()
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "clarification"))
    due = db.session.scalar(select(Clarification.due_at).where(Clarification.proposal_id == p.id))
    assert calendar_of(mail)["DTSTART"] == utc(due) == "20261116T225900Z"  # 16.11.2026, 23:59 Leipzig
    # the receipt is not about a date: no attachment
    receipt = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "receipt"))
    assert calendar_of(receipt) is None
    assert to_message(receipt).get_content_type() == "multipart/alternative"


def test_a_draft_reminder_carries_the_submission_deadline(app, world, clock):
    fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    clock.set(berlin(2026, 10, 24, 23, 59))  # 7 days before the deadline
    sweep()
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "draft_reminder"))
    assert calendar_of(mail)["DTSTART"] == utc(world.call.submission_deadline) == "20261031T225900Z"


def test_the_summary_is_escaped_and_folded(app, world):
    mail = queue_mail(
        "call_corrected",
        world.applicant,
        "ics",
        call=world.call,
        reason="x",
        event_at=berlin(2026, 12, 1, 12, 0),
    )
    mail.subject = "Frist; Änderung, neu \\ " + "ä" * 60
    raw = [p for p in to_message(mail).walk() if p.get_content_type() == "text/calendar"][0]
    lines = raw.get_payload(decode=True).split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert calendar_of(mail)["SUMMARY"] == "Frist\\; Änderung\\, neu \\\\ " + "ä" * 60
    assert calendar_of(mail)["DTSTART"] == "20261201T110000Z"

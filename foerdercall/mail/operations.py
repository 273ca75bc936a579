"""The outbox: every mail is a row written with the change that causes it, sent after the commit.

Embedded default: dispatch writes each pending mail as an .eml file into OUTBOX_DIR and marks it sent.
The Celery worker with SMTP (a later issue) replaces only :func:`deliver`.
"""
from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..timeutil import now
from .models import OutboxMail

log = logging.getLogger(__name__)


def queue_mail(kind: str, recipient, dedup_key: str, *, proposal=None, call=None, **context) -> OutboxMail | None:
    """Add a mail to the outbox unless one with the same key exists (then nothing happens)."""
    key = f"{kind}:{dedup_key}:{recipient.id}"
    if db.session.scalar(select(OutboxMail.id).where(OutboxMail.dedup_key == key)):
        return None
    lang = recipient.locale or "de"
    with force_locale(lang):
        text = render_template(
            f"mail/{kind}.txt", recipient=recipient, proposal=proposal, call=call, lang=lang, **context
        )
    subject, _, body = text.strip().partition("\n")
    mail = OutboxMail(
        dedup_key=key,
        kind=kind,
        recipient_id=recipient.id,
        to_address=recipient.email,
        locale=lang,
        subject=subject.removeprefix("Subject:").strip(),
        body=body.strip() + "\n",
        proposal_id=proposal.id if proposal is not None else None,
        call_id=(call.id if call is not None else (proposal.call_id if proposal is not None else None)),
        created_at=now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(mail)
    except IntegrityError:  # the same mail was queued by a concurrent transaction
        return None
    return mail


def to_message(mail: OutboxMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.created_at)
    msg["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}", domain="foerdercall")
    msg.set_content(mail.body)
    return msg


def deliver(mail: OutboxMail) -> None:
    """Embedded delivery: the local outbox folder."""
    folder = Path(current_app.config["OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{mail.id:08d}-{mail.kind}.eml").write_bytes(bytes(to_message(mail)))


def dispatch_pending(limit: int = 200) -> int:
    """Send what is pending, one row at a time, each marked sent in its own commit."""
    sent = 0
    ids = db.session.scalars(
        select(OutboxMail.id).where(OutboxMail.status == "pending").order_by(OutboxMail.id).limit(limit)
    ).all()
    for mail_id in ids:
        mail = db.session.get(OutboxMail, mail_id)
        if mail is None or mail.status != "pending":
            continue
        try:
            deliver(mail)
        except Exception as exc:  # keep the mail, record why; it is retried on the next run
            log.warning("mail %s not delivered: %s", mail_id, exc)
            mail.attempts += 1
            mail.last_error = str(exc)[:2000]
            db.session.commit()
            continue
        mail.status = "sent"
        mail.attempts += 1
        mail.sent_at = now()
        db.session.commit()
        sent += 1
    return sent

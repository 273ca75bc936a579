"""The outbox: every mail is a row written with the change that causes it, sent after the commit.

Delivery is claim → send → record, each step committed on its own (the one place outside a request's single
commit: the claim must be visible to every other worker before the SMTP conversation starts):

- :func:`send_mail` claims the row with one conditional UPDATE (``pending`` and due, or abandoned
  ``sending``, or already claimed by this very task, i.e. a redelivery after the worker died), sends it and
  marks it ``sent``. Two workers never both get the claim, so a task delivered twice sends once.
- A transient error (SMTP 4xx, a dropped connection, the database gone) puts the row back to ``pending``
  with ``next_attempt_at`` (exponential back-off) and raises :class:`DeliveryDeferred`; after
  ``MAIL_MAX_ATTEMPTS`` or a permanent refusal (5xx) the row is ``failed`` with the reason.
- :func:`dispatch_pending`: with a broker, hand what this session queued to the Celery worker (the relay,
  :func:`relay_due`, re-dispatches what never arrived); without one, deliver here (the embedded default).

:func:`deliver` speaks SMTP when ``MAIL_SMTP_HOST`` is set, else writes ``.eml`` files into OUTBOX_DIR.

Decision mails (:data:`HOLDABLE_KINDS`) of a call with ``hold_decision_mails`` are written ``held``: no
delivery path claims them until an official releases them (:func:`release_held_mail`). A mail with an
``event_at`` (the due date it is about) carries that moment as an ``.ics`` attachment (:func:`ics_event`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from ..errors import ActionRefused
from ..extensions import db
from ..timeutil import now
from .models import OutboxMail, WorkerRun

log = logging.getLogger(__name__)

DATABASE_GONE = (OperationalError, InterfaceError)
MAX_BACKOFF_SECONDS = 3600.0
_QUEUED = "foerdercall_queued_mail_ids"


class DeliveryDeferred(Exception):
    """Try this mail again later: ``sent`` says the SMTP server already took it (only record that)."""

    def __init__(self, reason: str, *, delay: float | None = None, sent: bool = False):
        super().__init__(reason)
        self.delay = delay
        self.sent = sent


# --- writing ---------------------------------------------------------------------------------------------

# Decision mails an official can hold back for reading and release (per call: Call.hold_decision_mails).
HOLDABLE_KINDS = frozenset({"rejection", "award", "ineligible"})


def mail_key(kind: str, dedup_key: str, recipient_id: int) -> str:
    """The unique key of a mail: its kind, what it is about (object and moment), and its recipient."""
    return f"{kind}:{dedup_key}:{recipient_id}"


def queue_mail(kind: str, recipient, dedup_key: str, *, proposal=None, call=None,
               event_at: dt.datetime | None = None, **context) -> OutboxMail | None:
    """Add a mail to the outbox unless one with the same key exists (then nothing happens).

    ``event_at``: the due moment the mail is about (sent along as an ``.ics`` attachment). Decision mails of
    a call that holds them are written held: they wait for an official's release.
    """
    key = mail_key(kind, dedup_key, recipient.id)
    if db.session.scalar(select(OutboxMail.id).where(OutboxMail.dedup_key == key)):
        return None
    about = call if call is not None else (proposal.call if proposal is not None else None)
    held = kind in HOLDABLE_KINDS and about is not None and bool(about.hold_decision_mails)
    lang = recipient.locale or "de"
    with force_locale(lang):
        text = render_template(
            f"mail/{kind}.txt", recipient=recipient, proposal=proposal, call=call, lang=lang, **context
        )
    subject, _nl, body = text.strip().partition("\n")
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
        held=held,
        event_at=event_at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(mail)
    except IntegrityError:  # the same mail was queued by a concurrent transaction
        return None
    if not held:
        _queued_ids().add(mail.id)
    return mail


def _queued_ids() -> set[int]:
    """The ids of the mails this session queued, handed to the worker after the commit."""
    return db.session.info.setdefault(_QUEUED, set())


def pop_queued_ids() -> list[int]:
    return sorted(db.session.info.pop(_QUEUED, set()))


def retry_failed_mail(mail: OutboxMail, actor) -> OutboxMail:
    """An official sends a failed mail again: back to pending with a fresh round of attempts."""
    from ..audit.operations import record

    if mail.status != "failed":
        raise ActionRefused(_("Nur eine fehlgeschlagene Nachricht kann erneut gesendet werden."))
    record(actor, "retry_mail", mail, from_state="failed", to_state="pending",
           data={"attempts": mail.attempts, "last_error": mail.last_error})
    mail.status = "pending"
    mail.attempts = 0
    mail.next_attempt_at = None
    mail.dispatched_at = None
    mail.claimed_by = None
    db.session.flush()
    _queued_ids().add(mail.id)
    return mail


def release_held_mail(mail: OutboxMail, actor) -> OutboxMail:
    """An official has read a held mail and releases it: from now on it is delivered like any other."""
    from ..audit.operations import record

    if not mail.held:
        raise ActionRefused(_("Diese Nachricht wird nicht zurückgehalten."))
    if mail.status != "pending":  # held mails are never claimed; this guards rows changed by hand
        raise ActionRefused(_("Diese Nachricht kann nicht freigegeben werden."))
    record(actor, "release_mail", mail, data={"kind": mail.kind, "to": mail.to_address})
    mail.held = False
    mail.dispatched_at = None
    db.session.flush()
    _queued_ids().add(mail.id)
    return mail


# --- the message -----------------------------------------------------------------------------------------

def message_id(mail: OutboxMail) -> str:
    """Stable per outbox row: a resend of the same mail carries the same Message-ID."""
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "foerdercall"
    return f"<fc.{hashlib.sha256(mail.dedup_key.encode()).hexdigest()[:24]}@{domain}>"


def to_message(mail: OutboxMail) -> EmailMessage:
    """Plain text and the same text as HTML (escaped, line breaks kept), with stable ids."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.created_at)
    msg["Message-ID"] = message_id(mail)
    msg["X-Foerdercall-Key"] = mail.dedup_key
    msg["Content-Language"] = mail.locale
    msg.set_content(mail.body)
    paragraphs = [p.split("\n") for p in mail.body.strip().split("\n\n")]
    msg.add_alternative(render_template("mail/html_part.html", mail=mail, paragraphs=paragraphs),
                        subtype="html")
    if mail.event_at is not None:  # the date is the point: into the recipient's calendar
        msg.add_attachment(ics_event(mail).encode("utf-8"), maintype="text", subtype="calendar",
                           filename="termin.ics", params={"charset": "utf-8", "method": "PUBLISH"})
    return msg


def _ics_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    """A TEXT value (RFC 5545, 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _ics_fold(line: str) -> list[str]:
    """Content lines of at most 75 octets (RFC 5545, 3.1), continued with a leading space, never
    splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return out


def ics_event(mail: OutboxMail) -> str:
    """One VEVENT at ``mail.event_at`` (UTC), its summary the subject, its UID stable per mail."""
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "foerdercall"
    uid = f"fc.{hashlib.sha256(mail.dedup_key.encode()).hexdigest()[:32]}@{domain}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//foerdercall//foerdercall//DE",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_ics_time(mail.created_at)}",
        f"DTSTART:{_ics_time(mail.event_at)}",
        f"SUMMARY:{_ics_text(mail.subject)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(f"{part}\r\n" for line in lines for part in _ics_fold(line))


# --- delivery --------------------------------------------------------------------------------------------

def deliver(mail: OutboxMail) -> None:
    """Hand one mail over: to the SMTP server when one is configured, else into the outbox folder."""
    msg = to_message(mail)
    if current_app.config.get("MAIL_SMTP_HOST"):
        _smtp_send(msg)
        return
    folder = Path(current_app.config["OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{mail.id:08d}-{mail.kind}.eml").write_bytes(bytes(msg))


def _smtp_send(msg: EmailMessage) -> None:
    cfg = current_app.config
    security = cfg["MAIL_SMTP_SECURITY"]
    port = cfg["MAIL_SMTP_PORT"] or {"ssl": 465, "starttls": 587}.get(security, 25)
    timeout = cfg["MAIL_SMTP_TIMEOUT"]
    if security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg["MAIL_SMTP_HOST"], port, timeout=timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SMTP_HOST"], port, timeout=timeout)
    try:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if cfg["MAIL_SMTP_USER"]:
            smtp.login(cfg["MAIL_SMTP_USER"], cfg["MAIL_SMTP_PASSWORD"])
        smtp.send_message(msg)
    finally:  # the server has the mail once send_message returned: a failing QUIT changes nothing
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def is_permanent(exc: Exception) -> bool:
    """A 5xx refusal of sender, recipient or content: sending again will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # a configuration problem: retried, and visible on the status page
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"SMTP {exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"SMTP {code} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                         for code, m in exc.recipients.values())
    return f"{type(exc).__name__}: {exc}"


def retry_delay(attempt: int) -> float:
    """Exponential back-off after the given (1-based) attempt."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)


def _seconds(key: str) -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config[key])


def _claim(mail_id: int, token: str, at: dt.datetime) -> bool:
    m = OutboxMail
    stmt = update(m).where(m.id == mail_id, m.held.is_(False), or_(
        and_(m.status == "pending", or_(m.next_attempt_at.is_(None), m.next_attempt_at <= at)),
        and_(m.status == "sending", or_(m.claimed_by == token,  # redelivered after this task's worker died
                                        m.claimed_at <= at - _seconds("MAIL_CLAIM_TIMEOUT_SECONDS"))),
    )).values(status="sending", claimed_at=at, claimed_by=token, attempts=m.attempts + 1)
    claimed = db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return claimed


def _mine(mail_id: int, token: str):
    return (OutboxMail.id == mail_id, OutboxMail.status == "sending", OutboxMail.claimed_by == token)


def _record_sent(mail_id: int, token: str) -> str:
    done = db.session.execute(update(OutboxMail).where(*_mine(mail_id, token)).values(
        status="sent", sent_at=now(), claimed_by=None, next_attempt_at=None)).rowcount == 1
    db.session.commit()
    return "sent" if done else "skipped"


def _record_failure(mail: OutboxMail, token: str, exc: Exception) -> None:
    """Back to pending with a back-off, or failed for good; raises DeliveryDeferred when it is retried."""
    at = now()
    reason = describe(exc)[:2000]
    failed = is_permanent(exc) or mail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    delay = retry_delay(mail.attempts)
    values = {"last_error": f"{reason} (Versuch {mail.attempts})", "claimed_by": None}
    if failed:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(status="pending", next_attempt_at=at + dt.timedelta(seconds=delay))
    mail_id = mail.id
    db.session.execute(update(OutboxMail).where(*_mine(mail_id, token)).values(**values))
    db.session.commit()
    if failed:
        log.error("mail %s failed after %s attempts: %s", mail_id, mail.attempts, reason)
        return
    log.warning("mail %s not delivered (attempt %s), again in %.1fs: %s", mail_id, mail.attempts, delay, reason)
    raise DeliveryDeferred(reason, delay=delay)


def send_mail(mail_id: int, token: str, *, already_sent: bool = False) -> str:
    """Deliver one outbox row exactly once: ``sent``, or ``skipped`` when it is not (or no longer) ours.

    ``token`` identifies the attempt (the Celery task id: a redelivery of the same task may take over its
    own claim). Raises :class:`DeliveryDeferred` when the mail is to be tried again later.
    """
    try:
        if already_sent:
            return _record_sent(mail_id, token)
        if not _claim(mail_id, token, now()):
            return "skipped"
        mail = db.session.get(OutboxMail, mail_id)  # loaded after the claim's commit: the current row
    except DATABASE_GONE as exc:
        db.session.rollback()
        raise DeliveryDeferred(f"database: {exc}", sent=already_sent) from exc
    try:
        deliver(mail)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row, none is lost
        try:
            _record_failure(mail, token, exc)
        except DATABASE_GONE as db_exc:  # not recorded: the row stays claimed by this task, which retries
            db.session.rollback()
            raise DeliveryDeferred(f"database: {db_exc}") from exc
        return "failed"
    try:
        return _record_sent(mail_id, token)
    except DATABASE_GONE as exc:  # the server has it: only the record is missing
        db.session.rollback()
        raise DeliveryDeferred(f"database: {exc}", sent=True) from exc


def due_mail_ids(limit: int = 500) -> list[int]:
    """Pending mails whose time has come and abandoned claims, oldest first."""
    at = now()
    m = OutboxMail
    return list(db.session.scalars(select(m.id).where(m.held.is_(False), or_(
        and_(m.status == "pending", or_(m.next_attempt_at.is_(None), m.next_attempt_at <= at)),
        and_(m.status == "sending", m.claimed_at <= at - _seconds("MAIL_CLAIM_TIMEOUT_SECONDS")),
    )).order_by(m.id).limit(limit)))


def relay_due(limit: int = 500) -> list[int]:
    """Mails the broker should have delivered by now, marked as handed over again (for the relay).

    Pending mails due for longer than MAIL_REDISPATCH_SECONDS (Redis was down at the commit, a retry message
    was lost) and claims older than MAIL_CLAIM_TIMEOUT_SECONDS (the worker was killed). Rows another relay
    is handing over right now are skipped (SKIP LOCKED).
    """
    at = now()
    grace = at - _seconds("MAIL_REDISPATCH_SECONDS")
    m = OutboxMail
    ids = list(db.session.scalars(select(m.id).where(
        m.held.is_(False),
        or_(m.dispatched_at.is_(None), m.dispatched_at <= grace),
        or_(and_(m.status == "pending", func.coalesce(m.next_attempt_at, m.created_at) <= grace),
            and_(m.status == "sending", m.claimed_at <= at - _seconds("MAIL_CLAIM_TIMEOUT_SECONDS"))),
    ).order_by(m.id).limit(limit).with_for_update(skip_locked=True)))
    if ids:
        db.session.execute(update(m).where(m.id.in_(ids)).values(dispatched_at=at)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return ids


def dispatch_pending(limit: int = 500) -> int:
    """After a commit: hand the mails over (with a broker) or deliver them here (embedded default)."""
    if current_app.config.get("BROKER_URL"):
        from worker.celery_app import enqueue_deliveries

        return enqueue_deliveries(pop_queued_ids())
    pop_queued_ids()
    token = f"inprocess:{uuid.uuid4().hex}"
    sent = 0
    for mail_id in due_mail_ids(limit):
        try:
            if send_mail(mail_id, token) == "sent":
                sent += 1
        except DeliveryDeferred:
            continue  # recorded on the row; the next sweep tries again when it is due
    return sent


# --- the worker's record ---------------------------------------------------------------------------------

def record_run(name: str, started_at: dt.datetime, *, report: dict | None = None, error: str = "") -> WorkerRun:
    """Remember the last run of a periodic job (shown on the worker status page)."""
    run = db.session.get(WorkerRun, name) or WorkerRun(name=name)
    run.started_at = started_at
    run.finished_at = now()
    run.report = report or {}
    run.error = error[:2000]
    db.session.add(run)
    db.session.flush()
    return run


def worker_overview(failed_limit: int = 200) -> dict:
    """What the worker status page shows: the last runs, mails per status, held and failed mails."""
    m = OutboxMail
    return {
        "runs": {r.name: r for r in db.session.scalars(select(WorkerRun))},
        "counts": dict(db.session.execute(select(m.status, func.count()).group_by(m.status)).all()),
        "held": db.session.scalar(select(func.count()).where(m.held.is_(True), m.status == "pending")),
        "failed": db.session.scalars(select(m).where(m.status == "failed").order_by(m.id.desc())
                                     .limit(failed_limit)).all(),
    }

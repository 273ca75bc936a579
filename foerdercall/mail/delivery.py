"""Delivering outbox rows, each exactly once, in batches over one SMTP connection.

Claim → send → record (the one place outside a request's single commit: the claim must be visible to every
other worker before the SMTP conversation starts):

- :func:`send_batch` claims its rows with one conditional ``UPDATE … RETURNING`` (``pending`` and due, or an
  abandoned ``sending``, or already claimed by this very task: a redelivery after its worker died) and
  commits. Two workers never both get a row, so a task delivered twice, or two tasks for the same rows,
  send each mail once.
- It sends the claimed mails over one connection and marks each ``sent`` right after the server accepted it
  (:class:`SentMarks`: one autocommit UPDATE), so a worker killed in the middle leaves at most the one mail in flight
  unrecorded (the gap no mail system can close: the server has it, the record does not). Its Message-ID is
  stable, so a resend is recognisable as the same mail.
- A transient error (SMTP 4xx, a dropped connection) puts that row back to ``pending`` with
  ``next_attempt_at`` (exponential back-off); after ``MAIL_MAX_ATTEMPTS`` or a permanent refusal (5xx) it is
  ``failed`` with the reason. The database going away stops the batch: the rows stay claimed by the task,
  which retries them (and records what the server already has).
- A batch never runs longer than a third of ``MAIL_CLAIM_TIMEOUT_SECONDS``: what it did not start by then is
  handed back, so the relay never re-dispatches a row that is still being worked on.

:class:`Transport` speaks SMTP when ``MAIL_SMTP_HOST`` is set, else writes ``.eml`` files into OUTBOX_DIR.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import Connection, CursorResult, and_, func, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from ..extensions import db
from ..timeutil import now
from .message import envelope, message_bytes
from .models import OutboxMail

log = logging.getLogger(__name__)

DATABASE_GONE = (OperationalError, InterfaceError)
MAX_BACKOFF_SECONDS = 3600.0


class DeliveryDeferred(Exception):
    """Try these mails again later. ``retry``: the ids to try again (after ``delay`` seconds); ``sent``: ids
    the SMTP server already took whose record is missing (the retry only records them)."""

    def __init__(
        self, reason: str, *, retry: Iterable[int] = (), sent: Iterable[int] = (), delay: float | None = None
    ):
        super().__init__(reason)
        self.retry = sorted(set(retry))
        self.sent = sorted(set(sent))
        self.delay = delay


# --- the transport -------------------------------------------------------------------------------------------


class Transport:
    """One SMTP connection for a batch (opened on the first mail, again after an error), or the folder."""

    def __init__(self) -> None:
        self.cfg = current_app.config
        self.smtp: smtplib.SMTP | None = None

    def send(self, mail: OutboxMail) -> None:
        data = message_bytes(mail)
        if not self.cfg.get("MAIL_SMTP_HOST"):
            folder = Path(self.cfg["OUTBOX_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{mail.id:08d}-{mail.kind}.eml").write_bytes(data)
            return
        sender, recipient = envelope(mail)
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.sendmail(sender, [recipient], data)
        except Exception:  # the connection's state is unknown: the next mail starts a fresh one
            self.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        security = cfg["MAIL_SMTP_SECURITY"]
        port = cfg["MAIL_SMTP_PORT"] or {"ssl": 465, "starttls": 587}.get(security, 25)
        timeout = cfg["MAIL_SMTP_TIMEOUT"]
        if security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg["MAIL_SMTP_HOST"], port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(cfg["MAIL_SMTP_HOST"], port, timeout=timeout)
        try:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if cfg["MAIL_SMTP_USER"]:
                smtp.login(cfg["MAIL_SMTP_USER"], cfg["MAIL_SMTP_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:  # the server has every mail it accepted: a failing QUIT changes nothing
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
        detail = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"SMTP {exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"SMTP {code} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
            for code, m in exc.recipients.values()
        )
    return f"{type(exc).__name__}: {exc}"


def retry_delay(attempt: int) -> float:
    """Exponential back-off after the given (1-based) attempt."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)


def _seconds(key: str) -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config[key])


# --- claim and record ----------------------------------------------------------------------------------------


def _claimable(at: dt.datetime, token: str | None = None):
    m = OutboxMail
    abandoned = m.claimed_at <= at - _seconds("MAIL_CLAIM_TIMEOUT_SECONDS")
    return and_(
        m.held.is_(False),
        or_(
            and_(m.status == "pending", or_(m.next_attempt_at.is_(None), m.next_attempt_at <= at)),
            and_(m.status == "sending", or_(m.claimed_by == token, abandoned) if token else abandoned),
        ),
    )


def _claim(ids: list[int], token: str, at: dt.datetime) -> list[int]:
    m = OutboxMail
    stmt = (
        update(m)
        .where(m.id.in_(ids), _claimable(at, token))
        .values(status="sending", claimed_at=at, claimed_by=token, attempts=m.attempts + 1)
        .returning(m.id)
        .execution_options(synchronize_session=False)
    )
    claimed = sorted(db.session.scalars(stmt))
    db.session.commit()
    return claimed


def _mine(ids: Iterable[int], token: str):
    return (OutboxMail.id.in_(list(ids)), OutboxMail.status == "sending", OutboxMail.claimed_by == token)


def _record_sent(ids: Iterable[int], token: str) -> int:
    result = db.session.execute(
        update(OutboxMail)
        .where(*_mine(ids, token))
        .values(status="sent", sent_at=now(), claimed_by=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    done = cast(CursorResult, result).rowcount  # an UPDATE's result
    db.session.commit()
    return done


class SentMarks:
    """Marks each mail sent right after the server accepted it. On PostgreSQL one UPDATE on a connection of
    its own in autocommit (one round trip) without waiting for the disk flush (synchronous_commit off on
    this connection while the batch runs). The mark is visible to every worker at once and survives the
    worker dying; only a crash of the database server in the next fraction of a second could lose it, and
    then the mail goes out once more with the same Message-ID. Waiting for the disk on every mail would cap
    delivery at the disk's flush rate."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.postgres = db.engine.dialect.name == "postgresql"

    def mark(self, mail_id: int, token: str) -> int:
        if not self.postgres:  # SQLite (the embedded default): one writer, so through the session itself
            return _record_sent([mail_id], token)
        if self.conn is None:
            self.conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.conn.exec_driver_sql("SET synchronous_commit TO OFF")
        return self.conn.execute(
            update(OutboxMail)
            .where(*_mine([mail_id], token))
            .values(status="sent", sent_at=now(), claimed_by=None, next_attempt_at=None)
        ).rowcount

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.exec_driver_sql("RESET synchronous_commit")  # the pooled connection as it was
            conn.close()
        except SQLAlchemyError:  # a connection that died in the batch: thrown away, never raised from here
            conn.invalidate()


def _record_failure(mail: OutboxMail, token: str, exc: Exception) -> float | None:
    """Back to pending with a back-off (returns the delay), or failed for good (returns None)."""
    reason = describe(exc)[:2000]
    attempts = mail.attempts
    failed = is_permanent(exc) or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    delay = retry_delay(attempts)
    values: dict[str, Any] = {"last_error": f"{reason} (Versuch {attempts})", "claimed_by": None}
    if failed:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(status="pending", next_attempt_at=now() + dt.timedelta(seconds=delay))
    db.session.execute(
        update(OutboxMail)
        .where(*_mine([mail.id], token))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if failed:
        log.error("mail %s failed after %s attempts: %s", mail.id, attempts, reason)
        return None
    log.warning("mail %s not delivered (attempt %s), again in %.1fs: %s", mail.id, attempts, delay, reason)
    return delay


def _hand_back(ids: list[int], token: str) -> None:
    """Claimed but not started (the batch ran out of time): pending again, the claim not counted."""
    if ids:
        db.session.execute(
            update(OutboxMail)
            .where(*_mine(ids, token))
            .values(status="pending", claimed_by=None, attempts=OutboxMail.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


# --- the batch -----------------------------------------------------------------------------------------------


def send_batch(
    mail_ids: Iterable[int], token: str, *, already_sent: Iterable[int] = ()
) -> dict[str, list[int]]:
    """Deliver these outbox rows, each exactly once. Returns the ids by outcome: ``sent``, ``failed`` (for
    good) and ``skipped`` (not ours: sent, held, not yet due, or claimed by another worker).

    ``token`` identifies the attempt (the Celery task id: a redelivery of the same task takes over its own
    claims). Raises :class:`DeliveryDeferred` with the ids to try again and the ids whose record is missing.
    """
    ids = sorted(set(mail_ids))
    already_sent = sorted(set(already_sent))
    outcome: dict[str, list[int]] = {"sent": [], "failed": [], "skipped": []}
    try:
        if already_sent:
            _record_sent(already_sent, token)
        claimed = _claim([i for i in ids if i not in already_sent], token, now())
        mails = (
            db.session.scalars(
                select(OutboxMail).where(OutboxMail.id.in_(claimed)).order_by(OutboxMail.id)
            ).all()
            if claimed
            else []
        )
        for mail in mails:  # read as claimed; the commits below must not expire (and reload) them
            db.session.expunge(mail)
        db.session.rollback()  # no transaction stays open while the batch runs (SQLite: one writer)
    except DATABASE_GONE as exc:
        db.session.rollback()
        raise DeliveryDeferred(f"database: {exc}", retry=ids, sent=already_sent) from exc
    taken = set(claimed) | set(already_sent)
    outcome["skipped"] = [i for i in ids if i not in taken]
    stop_at = time.monotonic() + current_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"] / 3
    pending = list(mails)  # claimed, not tried yet
    deferred: list[int] = []  # refused for now, back to pending with a back-off
    delays: list[float] = []
    transport, marks = Transport(), SentMarks()
    try:
        while pending:
            mail = pending[0]
            if time.monotonic() > stop_at:  # hand back the rest before the relay would think it abandoned
                _hand_back([m.id for m in pending], token)
                break
            try:
                transport.send(mail)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row, none is lost
                delay = _record_failure(mail, token, exc)
                pending.pop(0)
                if delay is None:
                    outcome["failed"].append(mail.id)
                else:
                    deferred.append(mail.id)
                    delays.append(delay)
                continue
            pending.pop(0)
            try:
                marks.mark(mail.id, token)
            except Exception as exc:  # the server has it, only the record is missing: send no more
                raise DeliveryDeferred(
                    f"database: {exc}", retry=[m.id for m in pending] + deferred, sent=[mail.id]
                ) from exc
            outcome["sent"].append(mail.id)
    except SQLAlchemyError as exc:  # recording a failure or handing back: the rows stay claimed by this task
        db.session.rollback()
        raise DeliveryDeferred(f"database: {exc}", retry=[m.id for m in pending] + deferred) from exc
    finally:
        transport.close()
        marks.close()
    if pending or deferred:
        raise DeliveryDeferred(
            f"{len(pending) + len(deferred)} mail(s) not delivered yet",
            retry=[m.id for m in pending] + deferred,
            delay=max(delays, default=0.0),
        )
    return outcome


def send_mail(mail_id: int, token: str) -> str:
    """One mail: ``sent``, ``failed`` or ``skipped`` (raises DeliveryDeferred when it is to be tried later)."""
    outcome = send_batch([mail_id], token)
    return next(k for k in ("sent", "failed", "skipped") if outcome[k])


# --- what is due ---------------------------------------------------------------------------------------------


def due_mail_ids(limit: int = 500) -> list[int]:
    """Pending mails whose time has come and abandoned claims, oldest first."""
    return list(
        db.session.scalars(
            select(OutboxMail.id).where(_claimable(now())).order_by(OutboxMail.id).limit(limit)
        )
    )


def relay_due(limit: int = 5000) -> list[int]:
    """Mails the broker should have delivered by now, marked as handed over again (for the relay).

    Pending mails due for longer than MAIL_REDISPATCH_SECONDS (Redis was down at the commit, a retry message
    was lost) and claims older than MAIL_CLAIM_TIMEOUT_SECONDS (the worker was killed). Rows another relay
    is handing over right now are skipped (SKIP LOCKED).
    """
    at = now()
    grace = at - _seconds("MAIL_REDISPATCH_SECONDS")
    m = OutboxMail
    ids = list(
        db.session.scalars(
            select(m.id)
            .where(
                m.held.is_(False),
                or_(m.dispatched_at.is_(None), m.dispatched_at <= grace),
                or_(
                    and_(m.status == "pending", func.coalesce(m.next_attempt_at, m.created_at) <= grace),
                    and_(m.status == "sending", m.claimed_at <= at - _seconds("MAIL_CLAIM_TIMEOUT_SECONDS")),
                ),
            )
            .order_by(m.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        db.session.execute(
            update(m)
            .where(m.id.in_(ids))
            .values(dispatched_at=at)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return ids


def deliver_here(mail_ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """The embedded default (no broker): deliver these mails (default: every mail that is due) in this
    process; returns the number sent. Never raises: what could not be sent stays on its row for the sweep."""
    token = f"inprocess:{uuid.uuid4().hex}"
    try:
        ids = due_mail_ids(limit) if mail_ids is None else list(mail_ids)
        return len(send_batch(ids, token)["sent"]) if ids else 0
    except DeliveryDeferred as exc:  # recorded on the rows; the next sweep tries again when they are due
        log.info("in-process delivery deferred: %s", exc)
    except DATABASE_GONE as exc:
        db.session.rollback()
        log.warning("in-process delivery: database unreachable: %s", exc)
    return 0

"""Delivering outbox rows, each exactly once, in batches over one SMTP connection.

Claim → send → record (the one place outside a request's single commit: the claim must be visible to every
other worker before the SMTP conversation starts):

- :func:`send_batch` claims its rows with one conditional ``UPDATE … RETURNING`` (``pending`` and due, or an
  abandoned ``sending``, or still claimed by the attempt this one retries) and commits. A claim belongs to one
  delivery *attempt* (``claimed_by``: the task's id and a random part), so two copies of the same task (Redis
  hands a task out again after the visibility timeout) never both get a row. On PostgreSQL it is also held
  by a process (``claimant``: the key of an advisory lock the process holds, :class:`Claimant`): when the
  process dies its lock goes with its connection, and its claims count as abandoned at once, not after
  ``MAIL_CLAIM_TIMEOUT_SECONDS``.
- It sends the claimed mails over one connection and marks each ``sent`` right after the server accepted it,
  durably (one autocommit UPDATE that waits for the log on disk), before the next mail goes: a worker killed
  or a database crashing in the middle leaves at most the one mail in flight unrecorded (the gap no mail
  system can close: the server has it, the record does not). Its Message-ID is stable, so a resend is
  recognisable as the same mail. A mark that finds the claim gone (another attempt took it) stops the batch.
- A transient error puts that row back to ``pending`` with ``next_attempt_at`` (exponential back-off with
  jitter); after ``MAIL_MAX_ATTEMPTS`` or a permanent refusal (5xx) it is ``failed`` with the reason. When the
  relay itself fails (unreachable, 4xx to the sender or the content), the process pauses delivery
  (:class:`Breaker`) and hands the rest of the batch back instead of trying each mail against it; the same
  when the database goes away. Mails that failed because the relay was away are sent again by themselves
  once it takes mail again (:func:`requeue_after_outage`).
- A batch never runs longer than a third of ``MAIL_CLAIM_TIMEOUT_SECONDS``: what it did not start by then is
  handed back, so the relay never re-dispatches a row that is still being worked on.

:class:`Transport` speaks SMTP when ``MAIL_SMTP_HOST`` is set, else writes ``.eml`` files into OUTBOX_DIR.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Connection,
    CursorResult,
    and_,
    column,
    func,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from ..extensions import db
from ..timeutil import now
from .message import envelope, message_bytes
from .models import OutboxMail

log = logging.getLogger(__name__)

DATABASE_GONE = (OperationalError, InterfaceError)


class DeliveryDeferred(Exception):
    """Try these mails again later. ``retry``: the ids to try again (after ``delay`` seconds); ``sent``: ids
    the SMTP server already took whose record is missing (the retry only records them); ``owners``: the
    attempts whose claims the retry takes over (this attempt and those it took over from)."""

    def __init__(
        self,
        reason: str,
        *,
        retry: Iterable[int] = (),
        sent: Iterable[int] = (),
        delay: float | None = None,
        owners: Iterable[str] = (),
    ):
        super().__init__(reason)
        self.retry = sorted(set(retry))
        self.sent = sorted(set(sent))
        self.delay = delay
        self.owners = list(dict.fromkeys(owners))[:4]


# --- the transport -------------------------------------------------------------------------------------------


class Transport:
    """One SMTP connection for a batch (opened on the first mail, again after an error), or the folder.

    A mail goes in two steps: :meth:`begin` (sender, recipient, the content) and :meth:`commit` (the final
    dot: only then has the server taken it). In between, the batch waits until the previous mail's "sent"
    mark is on disk; :meth:`abort` drops the connection instead, and the server discards the mail."""

    def __init__(self) -> None:
        self.cfg = current_app.config
        self.smtp: smtplib.SMTP | None = None
        self.begun: tuple[OutboxMail, bytes] | None = None

    def begin(self, mail: OutboxMail) -> None:
        data = message_bytes(mail)
        self.begun = (mail, data)
        if not self.cfg.get("MAIL_SMTP_HOST"):
            return
        sender, recipient = envelope(mail)
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            _begin_data(self.smtp, sender, recipient, data)
        except Exception:  # the connection's state is unknown: the next mail starts a fresh one
            self.begun = None
            self.close()
            raise

    def commit(self) -> None:
        assert self.begun is not None
        (mail, data), self.begun = self.begun, None
        if not self.cfg.get("MAIL_SMTP_HOST"):
            folder = Path(self.cfg["OUTBOX_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{mail.id:08d}-{mail.kind}.eml").write_bytes(data)
            return
        assert self.smtp is not None
        try:
            self.smtp.send(b".\r\n")
            code, resp = self.smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
        except Exception:
            self.close()
            raise

    def abort(self) -> None:
        """The begun mail is not to go: the connection is dropped before the final dot."""
        if self.begun is not None:
            self.begun = None
            smtp, self.smtp = self.smtp, None
            if smtp is not None:
                smtp.close()

    def send(self, mail: OutboxMail) -> None:
        self.begin(mail)
        self.commit()

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
            # the final dot goes alone, after the previous mark: at once, not held back for an ACK (Nagle)
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


def _begin_data(smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """``SMTP.sendmail`` for one recipient up to the final dot of DATA (the standard library's steps)."""
    smtp.ehlo_or_helo_if_needed()
    options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, resp = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    code, resp = smtp.rcpt(recipient)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({recipient: (code, resp)})
    smtp.putcmd("data")
    code, resp = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, resp)
    body = smtplib._quote_periods(data)  # type: ignore[attr-defined]  # the standard library's own step
    smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")


def failure_of(exc: Exception) -> str:
    """Why a mail could not be sent (``models.FAILURES``): ``permanent`` (5xx: sending again will not help),
    ``recipient`` (4xx to RCPT: this recipient, for now), ``relay`` (the relay unreachable, or refusing the
    sender or the content for now: every mail would fail the same way) or ``mail`` (an error making it)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return "permanent" if all(code >= 500 for code in codes) else "recipient"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "relay"  # a configuration problem: retried, and visible on the status page
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
        return "permanent"
    if isinstance(exc, smtplib.SMTPException | OSError):
        return "relay"
    return "mail"


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


def _jittered(seconds: float) -> float:
    """Up to MAIL_RETRY_JITTER longer, at random: what failed together does not come back together."""
    return seconds * (1 + random.random() * current_app.config["MAIL_RETRY_JITTER"])


def retry_delay(attempt: int) -> float:
    """Exponential back-off after the given (1-based) attempt, with jitter, at most MAIL_MAX_BACKOFF_SECONDS."""
    cfg = current_app.config
    base = cfg["MAIL_RETRY_SECONDS"] * 2 ** min(max(attempt - 1, 0), 30)
    return min(_jittered(base), cfg["MAIL_MAX_BACKOFF_SECONDS"])


def _seconds(key: str) -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config[key])


# --- pausing while the relay or the database is away ---------------------------------------------------------


class Breaker:
    """A circuit breaker of this process: after a failure nothing is tried for a pause (MAIL_BREAKER_SECONDS,
    doubling with each further failure up to MAIL_BREAKER_MAX_SECONDS, with jitter); then one batch tries
    (each pool process runs one task at a time); a success closes it. So a relay that is away gets a few
    connections, not one per mail and retry, and delivery resumes within seconds of its return."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0
        self.until = 0.0
        self.lock = threading.Lock()

    def pause(self) -> float:
        """Seconds until the next try may go (0: closed, or the pause is over, to the millisecond)."""
        remaining = self.until - now().timestamp()
        return remaining if remaining >= 0.001 else 0.0

    def failed(self) -> float:
        cfg = current_app.config
        with self.lock:
            self.failures += 1
            wait = min(
                _jittered(cfg["MAIL_BREAKER_SECONDS"] * 2 ** min(self.failures - 1, 30)),
                cfg["MAIL_BREAKER_MAX_SECONDS"],
            )
            self.until = now().timestamp() + wait
        if self.failures == 1:
            log.warning("mail delivery paused: the %s is away", self.name)
        return wait

    def succeeded(self) -> None:
        if self.failures:
            with self.lock:
                self.failures, self.until = 0, 0.0
            log.warning("mail delivery resumed: the %s is back", self.name)


# --- who holds a claim ---------------------------------------------------------------------------------------

ADVISORY_CLASS = 0x6663  # the first key of foerdercall's claimant locks ("fc"); the second is the claimant


class Claimant:
    """This process as the holder of mail claims. On PostgreSQL: a session-level advisory lock
    (ADVISORY_CLASS, key) on a connection of its own, kept while the process lives. PostgreSQL drops the lock
    when the connection ends, which it does when the process dies, so :func:`_abandoned` knows a dead
    worker's claims at once. The same connection writes the "sent" marks: a process that lost its lock (the
    database restarted) cannot mark, so it stops sending. SQLite (the embedded default): no claimant."""

    def __init__(self) -> None:
        self.key: int | None = None
        self.conn: Connection | None = None

    def ensure(self) -> int | None:
        """The key, the lock held (taken anew after the connection was lost). Raises when the database is away."""
        if db.engine.dialect.name != "postgresql":
            return None
        if self.conn is not None:
            try:
                self.conn.exec_driver_sql("SELECT 1")
                return self.key
            except SQLAlchemyError:
                self._drop()
        conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while True:
                key = secrets.randbelow(2**31 - 2) + 1
                lock = text("SELECT pg_try_advisory_lock(:c, :k)")
                if conn.scalar(lock, {"c": ADVISORY_CLASS, "k": key}):
                    break
        except BaseException:
            conn.invalidate()
            raise
        self.conn, self.key = conn, key
        return key

    def mark_sent(self, mail_id: int, token: str) -> bool:
        """Mark one mail sent, durably; False when this attempt no longer holds its claim."""
        if self.conn is None:  # SQLite (the embedded default): one writer, so through the session itself
            return _record_sent([mail_id], [token]) == 1
        try:  # psycopg itself: a fifth of the CPU of building and compiling the statement for every mail
            at = now().astimezone(dt.UTC).replace(tzinfo=None)  # as UTCDateTime stores it
            raw = self.conn.connection.dbapi_connection
            assert raw is not None
            return raw.execute(MARK_SENT, (at, mail_id, token)).rowcount == 1
        except Exception:
            self._drop()  # the lock may be gone with the connection: taken anew by the next batch
            raise

    def _drop(self) -> None:
        conn, self.conn, self.key = self.conn, None, None
        if conn is not None:
            conn.invalidate()

    def close(self) -> None:
        """Give the lock and the connection back (an app that is done, as at the end of a test)."""
        conn, self.conn, self.key = self.conn, None, None
        if conn is not None:
            try:
                conn.exec_driver_sql("SELECT pg_advisory_unlock_all()")  # the pool keeps the session
                conn.close()
            except SQLAlchemyError:
                conn.invalidate()


class Process:
    """What a process keeps between batches, per app: the breakers of the relay and of the database, and
    the claimant. A forked process (a pool process of the worker) starts with its own."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.relay = Breaker("relay")
        self.database = Breaker("database")
        self.claimant = Claimant()
        self._marker: ThreadPoolExecutor | None = None

    def marker(self) -> ThreadPoolExecutor:
        """The thread that writes the sent marks while the batch goes on (one: the claimant's connection)."""
        if self._marker is None:
            self._marker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foerdercall-marks")
        return self._marker


def this_process() -> Process:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask
    mine = app.extensions.get("fc_mail_process")
    if mine is None or mine.pid != os.getpid():
        mine = app.extensions["fc_mail_process"] = Process()
    return mine


class MarkFailed(Exception):
    def __init__(self, mail_id: int) -> None:
        super().__init__(f"mail {mail_id}: the sent mark failed")
        self.mail_id = mail_id


class Marks:
    """The "sent" marks of a batch. Each is on disk before the server takes the next mail: on PostgreSQL a
    thread of the process writes it on the claimant's connection (waiting for the flush of the log) while the
    batch begins the next mail, and the batch waits for it before the final dot; on SQLite it is written at
    once, through the session."""

    def __init__(self, proc: Process) -> None:
        self.holder = proc.claimant
        self.proc = proc
        self.in_flight: tuple[int, Future[bool]] | None = None

    def start(self, mail_id: int, token: str) -> None:
        future: Future[bool] = Future()
        if self.holder.conn is None:  # SQLite: at once
            try:
                future.set_result(self.holder.mark_sent(mail_id, token))
            except Exception as exc:  # noqa: BLE001 - raised from settle, as on PostgreSQL
                future.set_exception(exc)
        else:
            future = self.proc.marker().submit(self.holder.mark_sent, mail_id, token)
        self.in_flight = (mail_id, future)

    def settle(self) -> tuple[int, bool] | None:
        """(mail id, whether this attempt still held its claim) of the mark on its way, once it is on disk;
        None when there is none. Raises :class:`MarkFailed` when it could not be written."""
        if self.in_flight is None:
            return None
        (mail_id, future), self.in_flight = self.in_flight, None
        try:
            return mail_id, future.result()
        except Exception as exc:
            raise MarkFailed(mail_id) from exc

    def close(self) -> None:
        if self.in_flight is not None:  # an error left it behind: wait, the connection is the claimant's
            try:
                self.in_flight[1].result()
            except Exception:  # noqa: BLE001 - the batch is failing for another reason already
                pass
            self.in_flight = None


def close_claimant(app) -> None:
    """Give back the lock and the connection of this app's claimant (an app that is done, as a test's)."""
    mine = app.extensions.pop("fc_mail_process", None)
    if mine is not None and mine.pid == os.getpid():
        mine.claimant.close()
        if mine._marker is not None:
            mine._marker.shutdown()


# --- claim and record ----------------------------------------------------------------------------------------


def _abandoned(at: dt.datetime):
    """A claim nobody works on: older than MAIL_CLAIM_TIMEOUT_SECONDS, or (PostgreSQL) made since the server
    started and its process's lock is gone (the process died). A claim made before a restart of the server
    lost its lock with the restart while its process may well live on (it takes the rows over again when it
    retries): it waits for its timeout."""
    m = OutboxMail
    timed_out = m.claimed_at <= at - _seconds("MAIL_CLAIM_TIMEOUT_SECONDS")
    if db.engine.dialect.name != "postgresql":
        return timed_out
    locks = table("pg_locks", column("locktype"), column("classid"), column("objid"), column("objsubid"))
    held = select(locks.c.objid.cast(BigInteger)).where(
        locks.c.locktype == "advisory",
        locks.c.classid.cast(BigInteger) == ADVISORY_CLASS,
        locks.c.objsubid == 2,
        column("database")
        == select(column("oid"))
        .select_from(table("pg_database"))
        .where(column("datname") == func.current_database())
        .scalar_subquery(),
    )
    since_start = m.claimed_at > func.timezone("UTC", func.pg_postmaster_start_time())
    return or_(timed_out, and_(m.claimant.is_not(None), since_start, m.claimant.not_in(held)))


def _claimable(at: dt.datetime, owners: Iterable[str] = ()):
    m = OutboxMail
    owners = list(owners)
    taken_over = [m.claimed_by.in_(owners)] if owners else []
    return and_(
        m.held.is_(False),
        or_(
            and_(m.status == "pending", or_(m.next_attempt_at.is_(None), m.next_attempt_at <= at)),
            and_(m.status == "sending", or_(_abandoned(at), *taken_over)),
        ),
    )


def _claim(ids: list[int], token: str, key: int | None, at: dt.datetime, owners: Iterable[str]) -> list[int]:
    m = OutboxMail
    stmt = (
        update(m)
        .where(m.id.in_(ids), _claimable(at, owners))
        .values(status="sending", claimed_at=at, claimed_by=token, claimant=key, attempts=m.attempts + 1)
        .returning(m.id)
        .execution_options(synchronize_session=False)
    )
    claimed = sorted(db.session.scalars(stmt))
    db.session.commit()
    return claimed


def _mine(ids: Iterable[int], owners: Iterable[str]):
    m = OutboxMail
    return (m.id.in_(list(ids)), m.status == "sending", m.claimed_by.in_(list(owners)))


def _sent_update(ids: Iterable[int], owners: Iterable[str]):
    return (
        update(OutboxMail)
        .where(*_mine(ids, owners))
        .values(status="sent", sent_at=now(), claimed_by=None, claimant=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


# _sent_update for one mail, as psycopg runs it (prepared after its fifth use) for the marks on PostgreSQL
MARK_SENT = (
    "UPDATE outbox_mails SET status = 'sent', sent_at = %s, claimed_by = NULL, claimant = NULL, "
    "next_attempt_at = NULL WHERE id = %s AND status = 'sending' AND claimed_by = %s"
)


def _record_sent(ids: Iterable[int], owners: Iterable[str]) -> int:
    done = cast(CursorResult, db.session.execute(_sent_update(ids, owners))).rowcount  # an UPDATE's result
    db.session.commit()
    return done


def _record_failure(mail: OutboxMail, token: str, exc: Exception, failure: str, delay: float) -> bool:
    """Back to pending for ``delay`` seconds (returns True), or failed for good (returns False)."""
    reason = describe(exc)[:2000]
    attempts = mail.attempts
    failed = failure == "permanent" or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    values: dict[str, Any] = {"last_error": reason, "claimed_by": None, "claimant": None, "failure": failure}
    if failed:
        values.update(status="failed", next_attempt_at=None, failed_at=now())
    else:
        values.update(status="pending", next_attempt_at=now() + dt.timedelta(seconds=delay))
    db.session.execute(
        update(OutboxMail)
        .where(*_mine([mail.id], [token]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if failed:
        log.error("mail %s failed after %s attempts: %s", mail.id, attempts, reason)
        return False
    log.warning("mail %s not delivered (attempt %s), again in %.1fs: %s", mail.id, attempts, delay, reason)
    return True


def _hand_back(ids: list[int], token: str, delay: float = 0.0) -> None:
    """Claimed but not started (the batch ran out of time, the relay is away): pending again (for ``delay``
    seconds), the claim not counted as an attempt."""
    if ids:
        db.session.execute(
            update(OutboxMail)
            .where(*_mine(ids, [token]))
            .values(
                status="pending",
                claimed_by=None,
                claimant=None,
                attempts=OutboxMail.attempts - 1,
                next_attempt_at=now() + dt.timedelta(seconds=delay) if delay else None,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


# --- the batch -----------------------------------------------------------------------------------------------


def send_batch(
    mail_ids: Iterable[int], token: str, *, already_sent: Iterable[int] = (), owners: Iterable[str] = ()
) -> dict[str, list[int]]:
    """Deliver these outbox rows, each exactly once. Returns the ids by outcome: ``sent``, ``failed`` (for
    good) and ``skipped`` (not ours: sent, held, not yet due, or claimed by another attempt).

    ``token`` identifies this attempt (unique: two copies of one task never share it); ``owners``: the earlier
    attempts this one retries (it takes over their claims, and records ``already_sent``, the mails they sent
    without a record). Raises :class:`DeliveryDeferred` with the ids to try again.
    """
    ids = sorted(set(mail_ids))
    already_sent = sorted(set(already_sent))
    owners = list(owners)
    outcome: dict[str, list[int]] = {"sent": [], "failed": [], "skipped": []}
    proc = this_process()
    relay, database, holder = proc.relay, proc.database, proc.claimant
    if wait := max(relay.pause(), database.pause()):  # paused: the rows stay as they are
        raise DeliveryDeferred("paused", retry=ids, sent=already_sent, delay=wait, owners=owners)
    try:
        key = holder.ensure()
        if already_sent:
            _record_sent(already_sent, owners)
        claimed = _claim([i for i in ids if i not in already_sent], token, key, now(), owners)
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
        raise DeliveryDeferred(
            f"database: {exc}", retry=ids, sent=already_sent, delay=database.failed(), owners=[token, *owners]
        ) from exc
    database.succeeded()
    taken = set(claimed) | set(already_sent)
    outcome["skipped"] = [i for i in ids if i not in taken]
    stop_at = time.monotonic() + current_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"] / 3
    pending = list(mails)  # claimed, not tried yet
    deferred: list[int] = []  # refused for now, back to pending with a back-off
    delays: list[float] = []
    transport, marks = Transport(), Marks(proc)

    def settled() -> bool:
        """The previous mail's mark is on disk (True), or its claim was taken over (False: stop)."""
        try:
            done = marks.settle()
        except MarkFailed as exc:  # the server has it, only the record is missing: send no more
            transport.abort()
            raise DeliveryDeferred(
                f"database: {exc.__cause__}",
                retry=[m.id for m in pending] + deferred,
                sent=[exc.mail_id],
                owners=[token],
                delay=database.failed(),
            ) from exc
        if done is None:
            return True
        mail_id, mine = done
        if mine:
            outcome["sent"].append(mail_id)
            return True
        log.warning("mail %s: the claim was taken over; the batch stops", mail_id)
        transport.abort()
        _hand_back([m.id for m in pending], token)
        outcome["skipped"] += [mail_id] + [m.id for m in pending]
        pending.clear()
        return False

    try:
        while pending:
            mail = pending[0]
            if time.monotonic() > stop_at:  # hand back the rest before the relay would think it abandoned
                if settled():
                    _hand_back([m.id for m in pending], token)
                    pending.clear()
                break
            try:
                transport.begin(mail)  # up to the final dot
                if not settled():  # the previous mail's mark on disk before this one is taken
                    break
                pending.pop(0)
                transport.commit()
            except DeliveryDeferred:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row, none is lost
                if pending and pending[0] is mail:
                    pending.pop(0)
                failure = failure_of(exc)
                if failure == "relay":  # every mail would fail the same way: pause, hand back the rest
                    delay = relay.failed()
                    _hand_back([m.id for m in pending], token, delay)
                    deferred += [m.id for m in pending]
                    delays.append(delay)
                    pending.clear()
                else:
                    delay = retry_delay(mail.attempts)
                if _record_failure(mail, token, exc, failure, delay):
                    deferred.append(mail.id)
                    delays.append(delay)
                else:
                    outcome["failed"].append(mail.id)
                continue
            relay.succeeded()
            marks.start(mail.id, token)
        settled()
    except (
        SQLAlchemyError
    ) as exc:  # recording a failure or handing back: the rows stay claimed by this attempt
        db.session.rollback()
        raise DeliveryDeferred(
            f"database: {exc}",
            retry=[m.id for m in pending] + deferred,
            owners=[token],
            delay=database.failed(),
        ) from exc
    finally:
        transport.close()
        marks.close()
    if deferred:
        raise DeliveryDeferred(
            f"{len(deferred)} mail(s) not delivered yet", retry=deferred, delay=max(delays, default=0.0)
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
    was lost) and abandoned claims (the worker was killed: at once on PostgreSQL, else after
    MAIL_CLAIM_TIMEOUT_SECONDS). Rows another relay is handing over right now are skipped (SKIP LOCKED).
    """
    at = now()
    grace = at - _seconds("MAIL_REDISPATCH_SECONDS")
    m = OutboxMail
    ids = list(
        db.session.scalars(
            select(m.id)
            .where(
                m.held.is_(False),
                or_(
                    and_(
                        m.status == "pending",
                        func.coalesce(m.next_attempt_at, m.created_at) <= grace,
                        or_(m.dispatched_at.is_(None), m.dispatched_at <= grace),
                    ),
                    and_(m.status == "sending", _abandoned(at)),
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


def requeue_after_outage() -> list[int]:
    """Mails that failed because the relay was away, pending again once it takes mail (the relay and the
    embedded sweep call this): when a mail was sent after they failed, all of them (at most
    MAIL_AUTO_RETRIES times each); while nothing else is on its way, the oldest one alone, to find out.
    Returns the ids, to be handed over."""
    m = OutboxMail
    failed = (
        m.status == "failed",
        m.failure == "relay",
        m.requeued < current_app.config["MAIL_AUTO_RETRIES"],
    )
    first = db.session.scalar(select(func.min(m.failed_at)).where(*failed))
    if first is None:
        return []
    last_sent = db.session.scalar(select(func.max(m.sent_at)))
    if last_sent is not None and last_sent > first:
        which = and_(*failed, m.failed_at < last_sent)
    elif db.session.scalar(
        select(func.count()).where(m.held.is_(False), m.status.in_(("pending", "sending")))
    ):
        return []  # what is on its way tells whether the relay takes mail again
    else:
        which = m.id == select(m.id).where(*failed).order_by(m.failed_at, m.id).limit(1).scalar_subquery()
    ids = list(
        db.session.scalars(
            update(m)
            .where(which)
            .values(
                status="pending",
                attempts=0,
                requeued=m.requeued + 1,
                next_attempt_at=None,
                dispatched_at=None,
                failed_at=None,
                failure="",
            )
            .returning(m.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if ids:
        log.warning("%d mail(s) that failed while the relay was away are sent again", len(ids))
    return sorted(ids)


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

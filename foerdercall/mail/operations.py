"""The outbox: every mail is a row written with the change that causes it, sent after the commit.

:func:`queue_mail` writes a mail once per key (kind, object, moment, recipient); after the commit
(:mod:`foerdercall.aftercommit`, kind ``mail``) :func:`dispatch` hands what the transaction queued to the
worker. Delivery itself (claim, send, record, back-off) is in :mod:`foerdercall.mail.delivery`, the bytes
of the mail in :mod:`foerdercall.mail.message`.

Decision mails (:data:`HOLDABLE_KINDS`) of a call with ``hold_decision_mails`` are written ``held``: no
delivery path claims them until an official releases them (:func:`release_held_mail`). A mail with an
``event_at`` (the due date it is about) carries that moment as an ``.ics`` attachment.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..aftercommit import on_commit
from ..audit.trail import record
from ..broker import enqueue_deliveries
from ..errors import ActionRefused
from ..extensions import db
from ..mailtemplates.operations import official_text
from ..policy import check
from ..text import one_line, printable
from ..timeutil import now
from .delivery import deliver_here
from .models import OutboxMail, WorkerRun
from .queries import failed_by_reason, failed_mails_where

log = logging.getLogger(__name__)

# --- writing ---------------------------------------------------------------------------------------------

# Decision mails an official can hold back for reading and release (per call: Call.hold_decision_mails).
HOLDABLE_KINDS = frozenset({"rejection", "award", "ineligible"})


def mail_key(kind: str, dedup_key: str, recipient_id: int) -> str:
    """The unique key of a mail: its kind, what it is about (object and moment), and its recipient."""
    return f"{kind}:{dedup_key}:{recipient_id}"


# A line break inside a value a mail template prints (a call title, a name): marked while the template is
# rendered, so that the template's own first line break alone ends the subject line.
_BREAK = "\ue000"  # a private-use character


def _mark_breaks(value):
    if isinstance(value, str):
        return value.replace(_BREAK, "").replace("\r\n", _BREAK).replace("\r", _BREAK).replace("\n", _BREAK)
    return value


def _render_mail(template: str, **context) -> tuple[str, str]:
    """(subject, body) of a built-in mail template ("Subject: …" on its first line, then the body). A line
    break inside a printed value stays in the body and never ends the subject line early."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask
    env = app.extensions.get("fc_mail_jinja")
    if env is None:  # the app's templates, filters and globals, with the values' line breaks marked
        env = app.extensions["fc_mail_jinja"] = app.jinja_env.overlay(finalize=_mark_breaks, cache_size=100)
    app.update_template_context(context)
    text = env.get_template(template).render(context)
    subject, _nl, body = text.strip().partition("\n")
    return subject.removeprefix("Subject:").replace(_BREAK, " "), body.replace(_BREAK, "\n")


SUBJECT_LENGTH: int = OutboxMail.__table__.c.subject.type.length  # type: ignore[attr-defined]  # String(300), typed as any type


def mail_subject(text: str) -> str:
    """Every mail's subject, in one place: one line (no line break of user text reaches a mail header) and
    within the outbox's column (a long call title is cut with an ellipsis, not refused by the database)."""
    subject = " ".join(one_line(printable(text or "")).split())
    return subject if len(subject) <= SUBJECT_LENGTH else subject[: SUBJECT_LENGTH - 1].rstrip() + "…"


def _mail_values(
    kind: str,
    recipient,
    dedup_key: str,
    *,
    proposal=None,
    call=None,
    event_at: dt.datetime | None = None,
    **context,
) -> dict:
    """The outbox row of one mail: rendered in the recipient's language, held when the call holds it."""
    about = call if call is not None else (proposal.call if proposal is not None else None)
    lang = recipient.locale or "de"
    # the call's own text for this outcome, if an official previewed and activated one (foerdercall.mailtemplates)
    chosen = official_text(kind, lang, recipient=recipient, proposal=proposal, call=about, context=context)
    if chosen is not None:
        subject, body = chosen.subject, chosen.body
    else:
        with force_locale(lang):
            subject, body = _render_mail(
                f"mail/{kind}.txt", recipient=recipient, proposal=proposal, call=call, lang=lang, **context
            )
    return {
        "dedup_key": mail_key(kind, dedup_key, recipient.id),
        "kind": kind,
        "recipient_id": recipient.id,
        "to_address": recipient.email,
        "locale": lang,
        "subject": mail_subject(subject),
        "body": body.strip() + "\n",
        "proposal_id": proposal.id if proposal is not None else None,
        "call_id": about.id if about is not None else None,
        "created_at": now(),
        "held": kind in HOLDABLE_KINDS and about is not None and bool(about.hold_decision_mails),
        "event_at": event_at,
        "template_id": chosen.template_id if chosen is not None else None,
        "template_version": chosen.template_version if chosen is not None else None,
        "status": "pending",
        "attempts": 0,
        "last_error": "",
    }


def queue_mail(
    kind: str,
    recipient,
    dedup_key: str,
    *,
    proposal=None,
    call=None,
    event_at: dt.datetime | None = None,
    **context,
) -> OutboxMail | None:
    """Add a mail to the outbox unless one with the same key exists (then nothing happens).

    ``event_at``: the due moment the mail is about (sent along as an ``.ics`` attachment). Decision mails of
    a call that holds them are written held: they wait for an official's release.
    """
    values = _mail_values(
        kind, recipient, dedup_key, proposal=proposal, call=call, event_at=event_at, **context
    )
    # one statement: a mail whose key exists (written before, or by a concurrent transaction that commits
    # first: PostgreSQL waits for it) is not written again, without an error and without a savepoint
    db.session.flush()  # what the mail refers to is written first (also under no_autoflush, as in the effects)
    mail = db.session.scalars(_insert_once(db.session.get_bind().dialect.name), [values]).first()
    if mail is not None and not mail.held:
        on_commit("mail", mail.id)
    return mail


@functools.cache
def _insert_once(dialect: str):
    """``INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING`` the mail (built once per dialect)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(OutboxMail)
        .on_conflict_do_nothing(index_elements=[OutboxMail.__table__.c.dedup_key])
        .returning(OutboxMail)
        .execution_options(render_nulls=True)
    )  # every column, NULLs too


def queue_mails(mails: Iterable[tuple[str, Any, str, dict]]) -> int:
    """Many mails at once (the sweep's reminders): (kind, recipient, dedup_key, keyword arguments of
    queue_mail) each. Keys already written are skipped before rendering; the rest is written with one
    ``INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING`` per 500, so a concurrent sweep that wrote the
    same key first wins without an error. Returns the number of mails written."""
    mails = list(mails)
    keys = [mail_key(kind, key, recipient.id) for kind, recipient, key, _kw in mails]
    written: set[str] = set()
    for start in range(0, len(keys), 500):
        written.update(
            db.session.scalars(
                select(OutboxMail.dedup_key).where(OutboxMail.dedup_key.in_(keys[start : start + 500]))
            )
        )
    rows = [
        _mail_values(kind, recipient, key, **kw)
        for (kind, recipient, key, kw), full in zip(mails, keys, strict=True)
        if full not in written
    ]
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    table = OutboxMail.__table__
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.dedup_key])
        .returning(table.c.id, table.c.held)
    )
    queued = 0
    for start in range(0, len(rows), 500):  # executemany: SQLAlchemy batches the rows into multi-row INSERTs
        for mail_id, held in db.session.execute(stmt, rows[start : start + 500]):
            queued += 1
            if not held:
                on_commit("mail", mail_id)
    return queued


# A failed mail sent again: pending, with a fresh round of attempts, as if new.
_AGAIN = {
    "status": "pending",
    "attempts": 0,
    "requeued": 0,
    "next_attempt_at": None,
    "dispatched_at": None,
    "claimed_by": None,
    "claimant": None,
    "failed_at": None,
    "failure": "",
}


def retry_failed_mail(mail: OutboxMail, actor) -> OutboxMail:
    """An official sends a failed mail again: back to pending with a fresh round of attempts."""
    check(actor, "mail.retry", mail)
    _record_retry(actor, mail.id, mail.attempts, mail.last_error)
    for name, value in _AGAIN.items():
        setattr(mail, name, value)
    db.session.flush()
    on_commit("mail", mail.id)
    return mail


def _record_retry(actor, mail_id: int, attempts: int, last_error: str) -> None:
    mail = db.session.get(OutboxMail, mail_id)
    record(
        actor,
        "retry_mail",
        mail,
        from_state="failed",
        to_state="pending",  # a mail status (mail/models.py), not a workflow state
        data={"attempts": attempts, "last_error": last_error},
    )


def retry_failed_mails(
    actor,
    *,
    reason: str | None = None,
    failed_from: dt.datetime | None = None,
    failed_until: dt.datetime | None = None,
) -> list[int]:
    """Every failed mail with this reason (``last_error``, exactly) that failed in this time (both ends
    included; None: open), sent again at once, each with an audit event (``actor`` None: from the command
    line). Returns the ids."""
    if actor is not None:
        check(actor, "mail.retry_many")
    rows = db.session.execute(
        select(OutboxMail.id, OutboxMail.attempts, OutboxMail.last_error).where(
            *failed_mails_where(reason, failed_from, failed_until)
        )
    ).all()
    for mail_id, attempts, last_error in rows:
        _record_retry(actor, mail_id, attempts, last_error)
    ids = [mail_id for mail_id, _a, _e in rows]
    for start in range(0, len(ids), 1000):
        db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id.in_(ids[start : start + 1000]), OutboxMail.status == "failed")
            .values(**_AGAIN)
            .execution_options(synchronize_session="fetch")
        )
    db.session.flush()
    for mail_id in ids:
        on_commit("mail", mail_id)
    return ids


def release_held_mail(mail: OutboxMail, actor) -> OutboxMail:
    """An official has read a held mail and releases it: from now on it is delivered like any other."""
    check(actor, "mail.release", mail)
    if mail.status != "pending":  # held mails are never claimed; this guards rows changed by hand
        raise ActionRefused(_("Diese Nachricht kann nicht freigegeben werden."))
    record(actor, "release_mail", mail, data={"kind": mail.kind, "to": mail.to_address})
    mail.held = False
    mail.dispatched_at = None
    db.session.flush()
    on_commit("mail", mail.id)
    return mail


# --- handing over ------------------------------------------------------------------------------------------


def dispatch(mail_ids: list[int]) -> int:
    """After the commit that wrote them: hand these mails to the worker (with a broker; a web request's
    together with what the process's other requests commit, see DispatchBuffer), or deliver them here (the
    embedded default). Returns the number handed over or sent."""
    ids = sorted(set(mail_ids))
    if current_app.config.get("BROKER_URL"):
        return enqueue_deliveries(ids, coalesce=has_request_context())
    return deliver_here(ids)


# --- the worker's record ---------------------------------------------------------------------------------


def record_run(
    name: str, started_at: dt.datetime, *, report: dict | None = None, error: str = ""
) -> WorkerRun:
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
    """What the worker status page shows: the last runs, mails per status, held mails, the failed mails by
    reason, and the newest failed mails."""
    m = OutboxMail
    return {
        "runs": {r.name: r for r in db.session.scalars(select(WorkerRun))},
        "counts": dict(db.session.execute(select(m.status, func.count()).group_by(m.status)).all()),
        "held": db.session.scalar(select(func.count()).where(m.held.is_(True), m.status == "pending")),
        "reasons": failed_by_reason(),
        "failed": db.session.scalars(
            select(m).where(m.status == "failed").order_by(m.id.desc()).limit(failed_limit)
        ).all(),
    }

"""The periodic sweep: finds what is due with indexed queries and fires the system's transitions.

The sweep is a runner: the operations it calls flush, the sweep commits. Each item runs in its own
transaction; an item another sweep already moved on is skipped (the row lock and the state check in fire()
make a double run harmless). Deletions go in batches, each batch a transaction of its own (a short lock each,
however many rows are due). The mails of all its transactions are handed over once, at its end.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from foerdercall import aftercommit
from foerdercall.accounts.models import LoginSession, LoginUnlock
from foerdercall.accounts.operations import SESSION_SWEEP_BATCH, delete_old_login_rows
from foerdercall.audit.checkpoints import ChainBroken, write_checkpoint
from foerdercall.audit.mailing import mail_checkpoint
from foerdercall.awards.models import Award
from foerdercall.calls.models import Call
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.jobs.operations import cleanup_jobs
from foerdercall.mail.delivery import deliver_here, requeue_after_outage
from foerdercall.parking.operations import SWEEP_BATCH, delete_expired
from foerdercall.privacy.retention import RETENTION_BATCH, anonymise_if_due, due_for_anonymisation
from foerdercall.proposals.models import Clarification, Proposal
from foerdercall.reminders.operations import REMINDERS
from foerdercall.timeutil import now as clock_now
from foerdercall.workflow.engine import fire
from workflows import CallState, ProposalState

from .locks import exclusive

log = logging.getLogger(__name__)
MINUTE = dt.timedelta(minutes=1)


def _fire_each(model, ids, trigger: str, at: dt.datetime) -> int:
    done = 0
    for obj_id in ids:
        obj = db.session.get(model, obj_id)
        try:
            fire(obj, trigger, None, now=at)
            db.session.commit()
            done += 1
        except ActionRefused as exc:
            db.session.rollback()
            log.info("sweep: %s %s skipped: %s", trigger, obj_id, exc.message)
    return done


def audit_checkpoint(at: dt.datetime) -> int:
    """A signed checkpoint of the audit chain when its head moved (foerdercall/audit/checkpoints.py): 1 when one
    was written. One sweep at a time signs (several hosts: the advisory lock; one host: the file's lock too)."""
    with exclusive("audit-checkpoint") as mine:
        if not mine:
            return 0
        try:
            cp = write_checkpoint(at)
            written = cp is not None
            if cp is not None:
                mail_checkpoint(cp, at)
        except ChainBroken:  # logged as an error on foerdercall.audit; the rest of the sweep goes on
            written = False
        db.session.commit()  # the day's checkpoint mail
    return int(written)


def in_batches(step: Callable[[], tuple[int, int]], batch: int) -> int:
    """Run a deleting step (returns rows found, rows deleted) until it finds fewer than ``batch`` rows,
    committing after each. Returns how many rows were deleted."""
    deleted = 0
    while True:
        found, done = step()
        if not found:
            return deleted
        db.session.commit()
        deleted += done
        if found < batch:
            return deleted


def sweep_parked_posts(at: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """The kept text of refused posts past its day."""
    at = at or clock_now()
    return in_batches(lambda: delete_expired(at, batch), batch)


def sweep_login_sessions(at: dt.datetime | None = None, batch: int = SESSION_SWEEP_BATCH) -> int:
    """Session rows and unlock links 30 days past their lifetime; returns how many session rows went."""
    at = at or clock_now()
    deleted = in_batches(lambda: delete_old_login_rows(LoginSession, at, batch), batch)
    in_batches(lambda: delete_old_login_rows(LoginUnlock, at, batch), batch)
    return deleted


def anonymise_expired(at: dt.datetime | None = None, limit: int = RETENTION_BATCH) -> int:
    """Retention (foerdercall/privacy/retention.py): each proposal that is due in its own transaction; one
    that fails is logged and left for the next sweep. Returns how many were anonymised."""
    at = at or clock_now()
    done = 0
    for pid in due_for_anonymisation(at, limit):
        p = db.session.get(Proposal, pid)
        try:
            if anonymise_if_due(p, at):
                db.session.commit()
                done += 1
        except Exception:
            db.session.rollback()
            log.exception("retention: proposal %s not anonymised", pid)
    return done


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Close calls at their deadline, lapse unanswered requests and unaccepted awards, remind, send mail."""
    at = now or clock_now()
    with aftercommit.gathered("mail") as mails:  # handed over once, after the last commit
        report = _sweep(at)
    report["mails_sent"] = mails.result or 0
    if not current_app.config.get("BROKER_URL"):  # embedded default: also what is due again (retries)
        requeue_after_outage()
        report["mails_sent"] += deliver_here()
    return report


def _sweep(at: dt.datetime) -> dict[str, int]:
    due = at - MINUTE  # a deadline "23:59" holds through 23:59:59
    report = {
        "calls_closed": _fire_each(
            Call,
            db.session.scalars(
                select(Call.id).where(Call.state == CallState.PUBLISHED, Call.submission_deadline <= due)
            ).all(),
            "close",
            at,
        ),
        "requests_lapsed": _fire_each(
            Proposal,
            db.session.scalars(
                select(Proposal.id)
                .join(Clarification, Clarification.proposal_id == Proposal.id)
                .where(
                    Proposal.state == ProposalState.CLARIFICATION,
                    Clarification.answered_at.is_(None),
                    Clarification.due_at <= due,
                )
            ).all(),
            "lapse_request",
            at,
        ),
        "awards_lapsed": _fire_each(
            Proposal,
            db.session.scalars(
                select(Proposal.id)
                .join(Award, Award.proposal_id == Proposal.id)
                .where(Proposal.state == ProposalState.AWARDED, Award.accept_by <= due)
            ).all(),
            "lapse_award",
            at,
        ),
    }
    db.session.commit()
    report["proposals_anonymised"] = anonymise_expired(at)
    for name, remind in REMINDERS.items():  # each reminder kind: an indexed query over what is due
        report[name] = remind(at)
        db.session.commit()
    cleanup_jobs(at)  # finished bulk jobs and their files, a day after they ended (logged, not reported)
    db.session.commit()
    report["parked_posts_deleted"] = sweep_parked_posts(at)
    report["audit_checkpoints"] = audit_checkpoint(at)
    report["login_sessions_deleted"] = sweep_login_sessions(at)
    return report

"""The periodic sweep: finds what is due with indexed queries and fires the system's transitions.

Each item runs in its own transaction; an item another sweep already moved on is skipped (the row lock
and the state check in fire() make a double run harmless).
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select

from foerdercall.accounts.operations import sweep_sessions
from foerdercall.audit.checkpoints import ChainBroken, write_checkpoint
from foerdercall.audit.mailing import mail_checkpoint
from foerdercall.awards.models import Award
from foerdercall.calls.models import Call
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.jobs.operations import cleanup_jobs
from foerdercall.mail.delivery import deliver_here
from foerdercall.mail.operations import dispatch_pending
from foerdercall.parking.operations import sweep_expired as sweep_parked_posts
from foerdercall.privacy.retention import anonymise_expired
from foerdercall.proposals.models import Clarification, Proposal
from foerdercall.reminders.operations import REMINDERS
from foerdercall.timeutil import now as clock_now
from foerdercall.workflow.engine import fire

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


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Close calls at their deadline, lapse unanswered requests and unaccepted awards, remind, send mail."""
    at = now or clock_now()
    due = at - MINUTE  # a deadline "23:59" holds through 23:59:59
    report = {
        "calls_closed": _fire_each(
            Call,
            db.session.scalars(
                select(Call.id).where(Call.state == "published", Call.submission_deadline <= due)
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
                    Proposal.state == "clarification",
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
                .where(Proposal.state == "awarded", Award.accept_by <= due)
            ).all(),
            "lapse_award",
            at,
        ),
    }
    db.session.commit()
    report["proposals_anonymised"] = anonymise_expired(
        at
    )  # retention (privacy/retention.py): own transactions
    for name, remind in REMINDERS.items():  # each reminder kind: an indexed query over what is due
        report[name] = remind(at)
        db.session.commit()
    cleanup_jobs(at)  # finished bulk jobs and their files, a day after they ended (logged, not reported)
    db.session.commit()
    report["parked_posts_deleted"] = sweep_parked_posts(
        at
    )  # kept text of refused posts past its day, in batches
    report["audit_checkpoints"] = audit_checkpoint(at)
    report["login_sessions_deleted"] = sweep_sessions(at)  # rows 30 days past their lifetime, in batches
    report["mails_sent"] = dispatch_pending()
    if not current_app.config.get("BROKER_URL"):  # embedded default: also what is due again (retries)
        report["mails_sent"] += deliver_here()
    return report

"""Retention (issue 5): after a call's retention period the worker anonymises the proposals it did not fund.

**When.** A call sets ``retention_months`` (default 6). The period runs from the moment the selection was
concluded (the call's ``decide`` transition: before it the ranking can still change, objections run, the
next proposal can move up) or, for a proposal whose state changed after that (an award not accepted in time),
from that last change. A call that was never concluded is never swept: the officials conclude it first.

**What is anonymised.** Proposals that were not funded: ``UNFUNDED_STATES`` (drafts never submitted,
withdrawn, excluded, rejected, award lapsed). Funded measures (awarded, in implementation, completed,
terminated) are kept whole: their record is kept ≥ 3 years after the award (ERDF longer), see DOMAIN.md.
Of an unfunded proposal the worker

- empties the applicant's answers (the title becomes ``ANONYMISED``), the texts of requests for missing
  documents and the answers to them;
- deletes its files from disk and their rows; kind, size and SHA-256 of each stay in the
  :class:`~foerdercall.privacy.models.Anonymisation` row (the opening record keeps its own list);
- empties the mails about it in the outbox (subject and body) and stops those not yet sent;
- makes the applicant's account anonymous (:func:`~foerdercall.privacy.operations.anonymise_account`) when the
  person has nothing else left: only the applicant role and every proposal of theirs anonymised.

**What is kept** for the audit of funded measures and the procurement record: file number, call, field of
action, amount, state, dates, reviews and scores (the reviewers' justifications), sign-offs with their
reasons, ranking position. Where the applicant's name is shown with such a record (proposal page, award
record), :func:`applicant_label` replaces it.

**Audit events are not rewritten.** The trail is a hash chain (``foerdercall audit verify``): changing the
actor name or the reason of an old event would break it. So old events keep the name they were written
with, and the places that show a proposal's history mask them instead (:func:`event_actor`,
:func:`event_reason`: the applicant's name and the texts they wrote). The anonymisation itself is one new
event per proposal, by the system, without personal data.

The sweep step (``worker.sweep.anonymise_expired``) is batched (``RETENTION_BATCH`` proposals per run, each
in its own transaction) and idempotent: an anonymised proposal has its ``Anonymisation`` row and is not found again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from workflows import CallState, ProposalState

from ..accounts.models import User
from ..audit.models import AuditEvent
from ..audit.trail import record
from ..calls.models import Call
from ..extensions import db
from ..locking import lock
from ..mail.models import OutboxMail
from ..proposals.models import ANSWER_FIELDS, Proposal
from ..proposals.operations import attachment_path, delete_file_on_commit
from ..timeutil import add_months
from ..timeutil import now as clock_now
from .models import Anonymisation
from .operations import anonymise_account
from .queries import ANONYMISED, is_anonymised

ANONYMISED_NAME = "Anonymisiert"
UNFUNDED_STATES = (
    ProposalState.DRAFT,
    ProposalState.WITHDRAWN,
    ProposalState.INELIGIBLE,
    ProposalState.REJECTED,
    ProposalState.LAPSED,
    ProposalState.DECLINED,
)
CONCLUDED_CALL_STATES = (CallState.DECIDED, CallState.IN_IMPLEMENTATION, CallState.ARCHIVED)
RETENTION_BATCH = 200


# --- the anonymisation -----------------------------------------------------------------------------------


def retention_ends(p: Proposal, concluded_at: dt.datetime) -> dt.datetime:
    """The end of the proposal's retention: its call's months after the selection was concluded, or after the
    proposal's last change of state if that came later."""
    last = db.session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.proposal_id == p.id,
            AuditEvent.object_type == "proposals",
            AuditEvent.to_state.is_not(None),
        )
    )
    start = max(concluded_at, last) if last is not None else concluded_at
    return add_months(start, p.call.retention_months)


def anonymise_proposal(p: Proposal, at: dt.datetime | None = None) -> Anonymisation:
    """Anonymise one unfunded proposal (and its applicant's account if nothing else is left); flushes,
    writes one audit event by the system. Its files leave the disk when the transaction commits (a rollback
    keeps them with their rows). Doing it again does nothing."""
    at = at or clock_now()
    p = lock(p)
    done = db.session.get(Anonymisation, p.id)
    if done is not None:
        return done
    if p.state not in UNFUNDED_STATES:
        raise ValueError(f"proposal {p.id} is {p.state}: only unfunded proposals are anonymised")
    files = []
    for a in list(p.attachments):
        delete_file_on_commit(attachment_path(a))  # from disk once the rows are gone for good
        files.append({"kind": a.kind, "size": a.size, "sha256": a.sha256})
        db.session.delete(a)
    for name in ANSWER_FIELDS:
        setattr(p, name, "")
    p.answers = {}  # every answer is what the applicant wrote (the columns above mirror some of them)
    p.title = ANONYMISED
    for c in p.clarifications:
        c.message = ANONYMISED
        if c.answer is not None:
            c.answer = ANONYMISED
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.proposal_id == p.id)
        .values(subject="–", body="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.proposal_id == p.id, OutboxMail.status.in_(("pending", "sending")))
        .values(status="failed", last_error="anonymisiert", claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    done = Anonymisation(
        proposal_id=p.id, call_id=p.call_id, anonymised_at=at, files_deleted=len(files), files=files
    )
    db.session.add(done)
    db.session.flush()
    user = db.session.get_one(User, p.applicant_id)
    others = db.session.scalar(
        select(func.count(Proposal.id)).where(
            Proposal.applicant_id == user.id, Proposal.id.not_in(select(Anonymisation.proposal_id))
        )
    )
    if user.active and user.roles <= {"applicant"} and not others:
        anonymise_account(user, ANONYMISED_NAME, "anonymisiert")
        done.account_anonymised = True
    db.session.flush()
    record(
        None,
        "anonymise_proposal",
        p,
        at=at,
        data={
            "retention_months": p.call.retention_months,
            "files_deleted": len(files),
            "account_anonymised": done.account_anonymised,
        },
    )
    return done


def due_for_anonymisation(at: dt.datetime, limit: int = RETENTION_BATCH) -> list[int]:
    """Ids of unfunded, not yet anonymised proposals whose retention period has ended (at most `limit`)."""
    calls = db.session.execute(
        select(Call.id, Call.retention_months).where(Call.state.in_(CONCLUDED_CALL_STATES)).order_by(Call.id)
    ).all()
    due: list[int] = []
    for call_id, months in calls:
        concluded_at = db.session.scalar(
            select(func.max(AuditEvent.at)).where(  # the call's events: indexed
                AuditEvent.object_type == "calls",
                AuditEvent.object_id == call_id,
                AuditEvent.action == "decide",
            )
        )
        if concluded_at is None or add_months(concluded_at, months) > at:
            continue
        for p in db.session.scalars(
            select(Proposal)
            .where(
                Proposal.call_id == call_id,
                Proposal.state.in_(UNFUNDED_STATES),
                Proposal.id.not_in(select(Anonymisation.proposal_id)),
            )
            .order_by(Proposal.id)
        ):
            if retention_ends(p, concluded_at) <= at:
                due.append(p.id)
                if len(due) >= limit:
                    return due
    return due


def anonymise_if_due(p: Proposal | None, at: dt.datetime) -> bool:
    """One proposal of :func:`due_for_anonymisation`, unless it changed meanwhile (the worker commits each
    in its own transaction; worker/sweep.py). Returns whether it was anonymised."""
    if p is None or p.state not in UNFUNDED_STATES or is_anonymised(p):
        return False
    anonymise_proposal(p, at)
    return True

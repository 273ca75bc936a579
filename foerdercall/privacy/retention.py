"""Retention: every record (a proposal's file) has its end, after which the worker anonymises it, unless an
official put it on legal hold (``LegalHold``, workflows/hold.py).

**When** (:func:`record_ends`; a call that was never concluded is never swept: the officials conclude it first).

- A proposal that was not funded (``UNFUNDED_STATES``: drafts never submitted, withdrawn, excluded, rejected,
  award lapsed or declined): the call's ``retention_months`` (default 6) after the selection was concluded
  (the call's ``decide`` transition: before it the ranking can still change) or after the proposal's last
  change of state, if that came later.
- A funded measure, once it is over (completed or terminated; while it runs it is kept): 3 years after the
  award (DOMAIN.md, the award record), never before the measure ended; for a call co-funded by the EU
  (ERDF 2021–27), 5 years from the end of the year of the last payment if that is later
  (Art. 82 Regulation (EU) 2021/1060).

**What is anonymised.** Of the record the worker

- empties the applicant's answers (the title becomes ``ANONYMISED``), the texts of requests for missing
  documents and the answers to them;
- deletes its files from disk and their rows; kind, size and SHA-256 of each stay in the
  :class:`~foerdercall.privacy.models.Anonymisation` row (the opening record keeps its own list);
- empties the mails about it in the outbox (subject and body) and stops those not yet sent;
- makes the applicant's account anonymous (:func:`~foerdercall.privacy.operations.anonymise_account`) when the
  person has nothing else left: only the applicant role and every proposal of theirs anonymised.

- of a funded measure also empties what the contractor wrote in its reports and milestone reports, and the
  comments on reported values (the figures stay).

**What is kept** for the audit of funded measures and the procurement record: file number, call, field of
action, amount, state, dates, reviews and scores (the reviewers' justifications), sign-offs with their
reasons, ranking position, the award, its payments and the achieved values. Where the applicant's name is shown with such a record (proposal page, award
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
from dataclasses import dataclass

from sqlalchemy import func, select, update

from workflows import CallState, PaymentState, ProposalState

from ..accounts.models import User
from ..audit.models import AuditEvent
from ..audit.trail import record
from ..awards.models import Award, Milestone, Payment, Report
from ..calls.models import Call
from ..extensions import db
from ..locking import lock
from ..mail.models import OutboxMail
from ..outcomes.models import IndicatorValue
from ..policy.context import Context
from ..proposals.models import ANSWER_FIELDS, Proposal
from ..proposals.operations import attachment_path, delete_file_on_commit
from ..timeutil import add_months, end_of_day_berlin, to_berlin
from ..timeutil import now as clock_now
from ..workflow.engine import effect, fire
from .models import Anonymisation, LegalHold
from .operations import anonymise_account
from .queries import ANONYMISED, active_hold, held_proposals, is_anonymised

ANONYMISED_NAME = "Anonymisiert"
UNFUNDED_STATES = (
    ProposalState.DRAFT,
    ProposalState.WITHDRAWN,
    ProposalState.INELIGIBLE,
    ProposalState.REJECTED,
    ProposalState.LAPSED,
    ProposalState.DECLINED,
)
FUNDED_OVER = (ProposalState.COMPLETED, ProposalState.TERMINATED)  # a funded measure that ended
CONCLUDED_CALL_STATES = (CallState.DECIDED, CallState.IN_IMPLEMENTATION, CallState.ARCHIVED)
RETENTION_BATCH = 200
AWARD_RECORD_YEARS = 3
ERDF_YEARS = 5


@dataclass(frozen=True)
class RecordEnd:
    """When a record's retention ends (None: the measure still runs, its record is kept) and why (``basis``:
    labels.RETENTION_BASIS_LABELS)."""

    proposal_id: int
    call_id: int
    ends_at: dt.datetime | None
    basis: str


# --- when a record ends ------------------------------------------------------------------------------------


def concluded_at(call_id: int) -> dt.datetime | None:
    """When the call's selection was concluded (its ``decide`` transition), if it was."""
    return db.session.scalar(
        select(func.max(AuditEvent.at)).where(  # the call's events: indexed
            AuditEvent.object_type == "calls", AuditEvent.object_id == call_id, AuditEvent.action == "decide"
        )
    )


def record_ends(call: Call, concluded: dt.datetime) -> list[RecordEnd]:
    """The end of every record of the concluded call that is not anonymised yet (a few queries per call)."""
    rows = db.session.execute(
        select(Proposal.id, Proposal.state)
        .where(Proposal.call_id == call.id, Proposal.id.not_in(select(Anonymisation.proposal_id)))
        .order_by(Proposal.id)
    ).all()
    if not rows:
        return []
    last_change = dict(
        db.session.execute(
            select(AuditEvent.proposal_id, func.max(AuditEvent.at))
            .where(
                AuditEvent.call_id == call.id,
                AuditEvent.object_type == "proposals",
                AuditEvent.to_state.is_not(None),
            )
            .group_by(AuditEvent.proposal_id)
        ).all()
    )
    paid = (
        select(Payment.award_id, func.max(Payment.paid_at).label("last_paid"))
        .where(Payment.state == PaymentState.PAID)
        .group_by(Payment.award_id)
        .subquery()
    )
    awards = {
        pid: (awarded_at, last_paid)
        for pid, awarded_at, last_paid in db.session.execute(
            select(Award.proposal_id, Award.awarded_at, paid.c.last_paid)
            .outerjoin(paid, paid.c.award_id == Award.id)
            .where(Award.call_id == call.id)
        )
    }
    ends = []
    for pid, state in rows:
        last = last_change.get(pid)
        if state in UNFUNDED_STATES:
            start = max(concluded, last) if last is not None else concluded
            ends.append(RecordEnd(pid, call.id, add_months(start, call.retention_months), "unfunded"))
        elif state in FUNDED_OVER and pid in awards:
            awarded_at, last_paid = awards[pid]
            end, basis = add_months(awarded_at, 12 * AWARD_RECORD_YEARS), "award"
            if last is not None:
                end = max(end, last)  # never before the measure ended
            if call.eu_funded:
                year = to_berlin(last_paid or awarded_at).year
                end, basis = max(end, end_of_day_berlin(dt.date(year + ERDF_YEARS, 12, 31))), "erdf"
            ends.append(RecordEnd(pid, call.id, end, basis))
        else:
            ends.append(RecordEnd(pid, call.id, None, "running"))
    return ends


def concluded_calls(until: dt.datetime | None = None) -> list[tuple[Call, dt.datetime]]:
    """The calls whose selection was concluded, with its moment; with ``until``, only those of which a record can
    end by then (the earliest end of a call's records: its months after the conclusion, or 3 years after its first
    award), so that the worker's sweep reads no call before its time."""
    first_award = (
        select(Award.call_id, func.min(Award.awarded_at).label("first")).group_by(Award.call_id).subquery()
    )
    out = []
    for call, first in db.session.execute(
        select(Call, first_award.c.first)
        .outerjoin(first_award, first_award.c.call_id == Call.id)
        .where(Call.state.in_(CONCLUDED_CALL_STATES))
        .order_by(Call.id)
    ).all():
        if (at := concluded_at(call.id)) is None:
            continue
        earliest = add_months(at, call.retention_months)
        if first is not None:
            earliest = min(earliest, add_months(first, 12 * AWARD_RECORD_YEARS))
        if until is None or earliest <= until:
            out.append((call, at))
    return out


def records_ending(until: dt.datetime) -> list[RecordEnd]:
    """Every record not anonymised yet whose end comes by ``until`` (those past it too), soonest first."""
    ends = [
        e
        for call, concluded in concluded_calls(until)
        for e in record_ends(call, concluded)
        if e.ends_at is not None and e.ends_at <= until
    ]
    return sorted(ends, key=lambda e: (e.ends_at, e.proposal_id))


def record_end_of(p: Proposal) -> RecordEnd | None:
    """The proposal's record end (None while its call's selection is not concluded, or once anonymised)."""
    if p.call.state not in CONCLUDED_CALL_STATES or (concluded := concluded_at(p.call_id)) is None:
        return None
    return next((e for e in record_ends(p.call, concluded) if e.proposal_id == p.id), None)


def anonymise_proposal(p: Proposal, at: dt.datetime | None = None) -> Anonymisation:
    """Anonymise one unfunded proposal (and its applicant's account if nothing else is left); flushes,
    writes one audit event by the system. Its files leave the disk when the transaction commits (a rollback
    keeps them with their rows). Doing it again does nothing."""
    at = at or clock_now()
    p = lock(p)
    done = db.session.get(Anonymisation, p.id)
    if done is not None:
        return done
    if p.state not in UNFUNDED_STATES + FUNDED_OVER:
        raise ValueError(f"proposal {p.id} is {p.state}: a running measure is not anonymised")
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
    for r in db.session.scalars(select(Report).where(Report.proposal_id == p.id)):
        r.narrative, r.use_of_funds = ANONYMISED, ""
    for m in db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)):
        if m.report is not None:
            m.report = ANONYMISED
    for v in db.session.scalars(select(IndicatorValue).where(IndicatorValue.proposal_id == p.id)):
        v.comment = ""
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
    """Ids of records whose end has come, not anonymised yet and not on legal hold (at most `limit`)."""
    due = [e.proposal_id for e in records_ending(at)]
    held = held_proposals(due)
    return [pid for pid in due if pid not in held][:limit]


def anonymise_if_due(p: Proposal | None, at: dt.datetime) -> bool:
    """One proposal of :func:`due_for_anonymisation`, unless it changed meanwhile (the worker commits each in
    its own transaction; worker/sweep.py): put on hold, anonymised, or its end moved. Returns whether it was
    anonymised."""
    if p is None or is_anonymised(p) or active_hold(p.id) is not None:
        return False
    end = record_end_of(p)
    if end is None or end.ends_at is None or end.ends_at > at:
        return False
    anonymise_proposal(p, at)
    return True


# --- legal holds (workflows/hold.py) -------------------------------------------------------------------------


def place_hold(p: Proposal, actor, reason: str) -> LegalHold:
    """An official stops the retention of the proposal's record (a lawsuit, an audit), with the reason."""
    hold = LegalHold(
        proposal_id=p.id, reason=(reason or "").strip(), placed_by_id=actor.id, placed_at=clock_now()
    )
    return fire(hold, "place_hold", actor, reason=reason)


def lift_hold(hold: LegalHold, actor, reason: str) -> LegalHold:
    """The hold ends, with the reason: the record's retention runs again (a past end: the next sweep)."""
    return fire(hold, "lift_hold", actor, reason=reason)


@effect
def note_hold_lifted(ctx: Context) -> None:
    hold = ctx.obj
    hold.lifted_by_id, hold.lifted_at, hold.lift_reason = ctx.actor.id, ctx.now, ctx.reason

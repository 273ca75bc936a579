"""Reminders: one function per kind, each an indexed query over what is due at the moment ``at``.

A reminder is a mail in the outbox whose key is (kind, object, due moment, recipient); queue_mail writes a
key once, so a sweep that runs twice, or two sweeps at once, never remind twice. The due moment is the
moment the reminder becomes due (e.g. 7 days before the deadline), so a changed deadline (a personal
extension) gives new reminders and an unchanged one never a second. When several offsets of one deadline
have passed (the worker was down), only the latest one is sent: one mail, not a backlog.

Every function flushes and returns the number of mails queued; the sweep commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from sqlalchemy import String, cast, exists, func, literal, select
from sqlalchemy.orm import joinedload

from workflows import CallState, MilestoneState, ProposalState

from ..accounts.models import RoleGrant, User
from ..audit.trail import record
from ..awards.models import Award, Milestone, SignOff
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..mail.models import OutboxMail
from ..mail.operations import mail_key, queue_mails
from ..proposals.models import Proposal
from ..reviews.models import Review
from ..reviews.queries import deciding_officials, has_conflict
from ..tasks.lists import tasks_for
from ..timeutil import UTC, berlin_to_utc, days_after, days_before, minute_end, to_berlin
from ..workflow.engine import fire

MINUTE = dt.timedelta(minutes=1)
SLACK = dt.timedelta(days=1)  # widens SQL windows over Leipzig calendar days (clock changes); exact in Python


@dataclass
class Due:
    kind: str  # also the template: templates/mail/<kind>.txt
    obj: str  # "proposal:12"
    due: dt.datetime  # the moment this reminder became due
    recipient: User
    context: dict[str, Any] = field(default_factory=dict)
    event_at: dt.datetime | None = None  # the deadline the reminder is about (an .ics attachment)

    @property
    def dedup_key(self) -> str:
        return f"{self.obj}:{_stamp(self.due)}"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _reminded(kind: str, obj: str, obj_id, due: dt.datetime, recipient_id):
    """SQL: the reminder (kind, f"{obj}:{obj_id}", due, recipient) is in the outbox already. The key is
    built by mail_key and Due.dedup_key from placeholders, so SQL and Python always agree; the unique index
    on outbox_mails.dedup_key answers it."""
    template = mail_key(kind, Due(kind, f"{obj}:\x00", due, None).dedup_key, "\x01")  # type: ignore[arg-type]  # placeholders
    head, rest = template.split("\x00")
    middle, tail = rest.split("\x01")
    key = literal(head) + cast(obj_id, String) + literal(middle) + cast(recipient_id, String) + literal(tail)
    return exists().where(OutboxMail.dedup_key == key)


def _send(items: Iterable[Due]) -> int:
    """Queue each reminder unless its key exists (one query per 500 keys, one insert per 500 mails)."""
    written = queue_mails(
        (i.kind, i.recipient, i.dedup_key, {"event_at": i.event_at, **i.context}) for i in items
    )
    db.session.flush()
    return written


def latest_due(
    deadline: dt.datetime | None,
    offsets: Iterable[int],
    at: dt.datetime,
    not_before: dt.datetime | None = None,
) -> dt.datetime | None:
    """The latest reminder moment (`offset` Leipzig calendar days before `deadline`) that has come at `at`,
    while the deadline still runs; None when none has come (or only ones before `not_before`), or without a
    deadline."""
    if deadline is None or at >= minute_end(deadline):
        return None
    come = [m for m in (days_before(deadline, d) for d in offsets if d > 0) if m <= at]
    if not come or (not_before is not None and max(come) < not_before):
        return None
    return max(come)


def _heads(p: Proposal, office: str) -> list[User]:
    users = db.session.scalars(
        select(User)
        .where(
            User.head_of_office.is_(True),
            User.office == office,
            User.active.is_(True),
            User.id != p.applicant_id,
        )
        .order_by(User.id)
    ).all()
    return [u for u in users if not has_conflict(u, p)]


def _passed(at: dt.datetime) -> dt.datetime:
    """Due moments before this have passed at `at` (a due minute holds through its 59th second)."""
    return (at - MINUTE).replace(second=0, microsecond=0) + MINUTE


def _horizon(column) -> int:
    """The largest offset (days) of a per-call reminder setting, over all calls."""
    return db.session.scalar(select(func.max(column))) or 0


# --- applicants: unsubmitted drafts before the submission deadline ------------------------------------------


def remind_drafts(at: dt.datetime) -> int:
    """Applicants with a draft, Call.reminder_days before their deadline (a personal extension counts).

    Per call the reminder moment is the same for every draft under the call's deadline, so the query asks
    only for drafts not reminded of it yet (a sweep that runs every minute until the deadline reads
    nothing). Drafts with a personal deadline are few and checked one by one."""
    open_calls = db.session.scalars(
        select(Call).where(Call.state.in_((CallState.PUBLISHED, CallState.CLOSED)))
    ).all()
    horizon = max((d for c in open_calls for d in (c.reminder_days or ())), default=0)
    if horizon <= 0:
        return 0
    lo, hi = at - MINUTE, at + dt.timedelta(days=horizon) + SLACK
    items = []
    for call in open_calls:
        if call.state != CallState.PUBLISHED or not lo < call.submission_deadline <= hi:
            continue
        due = latest_due(call.submission_deadline, call.reminder_days or (), at)
        if due is None:
            continue
        drafts = db.session.scalars(
            select(Proposal)
            .options(joinedload(Proposal.applicant))
            .where(
                Proposal.call_id == call.id,
                Proposal.state == ProposalState.DRAFT,
                Proposal.personal_deadline.is_(None),
                Proposal.created_at <= due,  # a draft started after the moment gets the next one
                ~_reminded("draft_reminder", "proposal", Proposal.id, due, Proposal.applicant_id),
            )
            .order_by(Proposal.id)
        ).all()
        items += [
            Due(
                "draft_reminder",
                f"proposal:{p.id}",
                due,
                p.applicant,
                {"proposal": p, "call": call, "deadline": call.submission_deadline},
                event_at=call.submission_deadline,
            )
            for p in drafts
        ]
    extended = db.session.scalars(
        select(Proposal)
        .where(
            Proposal.personal_deadline > lo,
            Proposal.personal_deadline <= hi,
            Proposal.state == ProposalState.DRAFT,
        )
        .order_by(Proposal.id)
    ).all()
    for p in extended:
        if p.call.opening is not None:  # opened: no submission is possible any more, nothing to remind of
            continue
        due = latest_due(p.personal_deadline, p.call.reminder_days or (), at, not_before=p.created_at)
        if due is not None:
            items.append(
                Due(
                    "draft_reminder",
                    f"proposal:{p.id}",
                    due,
                    p.applicant,
                    {"proposal": p, "call": p.call, "deadline": p.personal_deadline},
                    event_at=p.personal_deadline,
                )
            )
    return _send(items)


# --- reviewers: open reviews before the review deadline -------------------------------------------------------


def remind_reviewers(at: dt.datetime) -> int:
    """Reviewers whose review is not submitted, Call.review_reminder_days before the call's review deadline."""
    calls = db.session.scalars(
        select(Call).where(Call.review_deadline > at - MINUTE).order_by(Call.id)
    ).all()  # the few calls whose review deadline is ahead
    items = []
    for call in calls:
        if latest_due(call.review_deadline, call.review_reminder_days or (), at) is None:
            continue
        reviews = db.session.scalars(
            select(Review)
            .join(Proposal, Proposal.id == Review.proposal_id)
            .where(
                Proposal.call_id == call.id,
                Proposal.state == ProposalState.IN_REVIEW,
                Review.submitted_at.is_(None),
            )
            .order_by(Review.id)
        ).all()
        for r in reviews:
            due = latest_due(
                call.review_deadline, call.review_reminder_days or (), at, not_before=r.assigned_at
            )
            if due is not None:
                items.append(
                    Due(
                        "review_reminder",
                        f"review:{r.id}",
                        due,
                        r.reviewer,
                        {"proposal": r.proposal, "call": call, "deadline": call.review_deadline},
                        event_at=call.review_deadline,
                    )
                )
    return _send(items)


# --- officials: sign-offs waiting, then their head of office ---------------------------------------------------


def _reviewed_since():
    """When the proposal became 'reviewed': the moment its last review came in (that fires finish_review)."""
    return (
        select(func.max(Review.submitted_at))
        .where(Review.proposal_id == Proposal.id)
        .correlate(Proposal)
        .scalar_subquery()
    )


def remind_sign_offs(at: dt.datetime) -> int:
    """A reviewed proposal one of whose offices has not signed: after Call.signoff_reminder_days its
    officials are reminded; after Call.signoff_escalation_days the head of that office is told."""
    rows = db.session.execute(
        select(Proposal, _reviewed_since())
        .where(Proposal.state == ProposalState.REVIEWED)
        .order_by(Proposal.id)
    ).all()
    items = []
    for p, since in rows:
        if since is None:
            continue
        signed = set(
            db.session.scalars(
                select(SignOff.office).where(SignOff.proposal_id == p.id, SignOff.voided_at.is_(None))
            )
        )
        remind_at = days_after(since, p.call.signoff_reminder_days)
        escalate_at = days_after(since, p.call.signoff_escalation_days)
        for office in p.call.deciding_offices:
            if office in signed:
                continue
            ctx = {"proposal": p, "call": p.call, "office": office, "since": since}
            if remind_at <= at:
                items += [
                    Due("signoff_reminder", f"proposal:{p.id}", remind_at, u, ctx)
                    for u in deciding_officials(p, offices=[office])
                ]
            if escalate_at <= at:
                items += [
                    Due("signoff_escalation", f"proposal:{p.id}", escalate_at, u, ctx)
                    for u in _heads(p, office)
                ]
    return _send(items)


# --- implementation: milestones, the final report, the end of the year ----------------------------------------


def remind_milestones(at: dt.datetime) -> int:
    """Applicants, Call.milestone_reminder_days before a milestone they have not reported yet."""
    horizon = _horizon(Call.milestone_reminder_days)
    if horizon <= 0:
        return 0
    rows = db.session.execute(
        select(Milestone, Proposal)
        .join(Proposal, Proposal.id == Milestone.proposal_id)
        .where(
            Milestone.due_at > at,
            Milestone.due_at <= at + dt.timedelta(days=horizon) + SLACK,
            Milestone.reported_at.is_(None),
            Proposal.state == ProposalState.IN_IMPLEMENTATION,
        )
        .order_by(Milestone.id)
    ).all()
    items = []
    for m, p in rows:
        due = latest_due(m.due_at, [p.call.milestone_reminder_days], at)
        if due is not None:
            items.append(
                Due(
                    "milestone_reminder",
                    f"milestone:{m.id}",
                    due,
                    p.applicant,
                    {"proposal": p, "call": p.call, "milestone": m},
                    event_at=m.due_at,
                )
            )
    return _send(items)


def mark_overdue_milestones(at: dt.datetime) -> int:
    """Milestones not reported by their due date: marked overdue (the milestone workflow's
    ``milestone_overdue``, with its audit event); the applicant and the officials are told."""
    rows = db.session.execute(
        select(Milestone, Proposal)
        .join(Proposal, Proposal.id == Milestone.proposal_id)
        .where(
            Milestone.due_at < _passed(at),
            Milestone.state == MilestoneState.PLANNED,
            Proposal.state == ProposalState.IN_IMPLEMENTATION,
        )
        .order_by(Milestone.id)
        .with_for_update(of=Milestone, skip_locked=True)
    ).all()  # one sweep marks
    items = []
    for m, p in rows:
        try:
            fire(m, "milestone_overdue", None, now=at)
        except ActionRefused:  # moved on meanwhile: nothing written
            continue
        ctx = {"proposal": p, "call": p.call, "milestone": m}
        items += [
            Due("milestone_overdue", f"milestone:{m.id}", m.due_at, u, ctx)
            for u in (p.applicant, *deciding_officials(p))
        ]
    return _send(items)


def mark_overdue_reports(at: dt.datetime) -> int:
    """The final report is due when the implementation period ends: when it has not come by then, the award
    is marked overdue (with an audit event) and the applicant and the officials are told."""
    rows = db.session.execute(
        select(Award, Proposal)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .where(
            Award.implementation_ends_at < _passed(at),
            Award.report_overdue_at.is_(None),
            Proposal.state == ProposalState.IN_IMPLEMENTATION,
        )
        .order_by(Award.id)
        .with_for_update(of=Award, skip_locked=True)
    ).all()
    items = []
    for a, p in rows:
        assert a.implementation_ends_at is not None  # the query compared it
        a.report_overdue_at = at
        record(None, "report_overdue", p, data={"due_at": a.implementation_ends_at.isoformat()}, at=at)
        ctx = {"proposal": p, "call": p.call, "award": a}
        items += [
            Due("report_overdue", f"award:{a.id}", a.implementation_ends_at, u, ctx)
            for u in (p.applicant, *deciding_officials(p))
        ]
    return _send(items)


def remind_implementation_end(at: dt.datetime) -> int:
    """Applicant and officials, Call.implementation_reminder_days before the implementation period ends."""
    horizon = _horizon(Call.implementation_reminder_days)
    if horizon <= 0:
        return 0
    rows = db.session.execute(
        select(Award, Proposal)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .where(
            Award.implementation_ends_at > at,
            Award.implementation_ends_at <= at + dt.timedelta(days=horizon) + SLACK,
            Proposal.state == ProposalState.IN_IMPLEMENTATION,
        )
        .order_by(Award.id)
    ).all()
    items = []
    for a, p in rows:
        due = latest_due(
            a.implementation_ends_at, [p.call.implementation_reminder_days], at, not_before=a.accepted_at
        )
        if due is None:
            continue
        ctx = {"proposal": p, "call": p.call, "award": a}
        items += [
            Due("implementation_ending", f"award:{a.id}", due, u, ctx)
            for u in (p.applicant, *deciding_officials(p))
        ]
    return _send(items)


# --- officials who chose one mail a day: their task list each morning --------------------------------------

DIGEST_HOUR = 7  # Leipzig time


def send_digests(at: dt.datetime) -> int:
    """Each official who chose the daily mail (``User.notify_mode``) gets their open tasks once a day, from
    DIGEST_HOUR on (a worker that was down sends it when it is back); none when nothing waits for them."""
    local = to_berlin(at)
    due = berlin_to_utc(local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0))
    if at < due:
        return 0
    users = db.session.scalars(
        select(User)
        .join(RoleGrant)
        .where(
            RoleGrant.role == "official",
            User.active.is_(True),
            User.notify_mode == "daily",
            ~_reminded("task_digest", "digest", User.id, due, User.id),
        )
        .order_by(User.id)
    ).all()
    items = []
    for u in users:
        with force_locale(u.locale or "de"):  # the notes in the list are written in the reader's language
            tasks = [t for t in tasks_for(u, at) if not t.info]
        if tasks:
            items.append(Due("task_digest", f"digest:{u.id}", due, u, {"tasks": tasks, "at": at}))
    return _send(items)


# The sweep runs these in order (name in its report: function).
REMINDERS = {
    "drafts_reminded": remind_drafts,
    "reviewers_reminded": remind_reviewers,
    "sign_offs_reminded": remind_sign_offs,
    "milestones_reminded": remind_milestones,
    "milestones_overdue": mark_overdue_milestones,
    "reports_overdue": mark_overdue_reports,
    "implementation_end_reminded": remind_implementation_end,
    "task_digests": send_digests,
}

"""The deadlines of a call (for its officials) and of a proposal (for its applicant) as calendar events.

Where the dates live: the call (opening, submission deadline, review deadline), the standstill before a large
award (its end), the award (acceptance deadline, end of the implementation period: the final report is due
then, see ``reminders.operations.mark_overdue_reports``), the milestones (the interim report is one of them),
an open clarification request (its answer deadline) and an applicant's documented extension.

An official sees the proposal-level dates only of proposals they may read (``policy.reading.official_may_read``:
opened, no conflict, not their own); the summaries name proposals by their file number, never by title.
UIDs are ``<kind>-<object>-<id>@<domain>``: the same deadline keeps its UID, so a re-import updates it.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from workflows import ProposalState

from ..awards.models import Award, Milestone
from ..calls.models import Call
from ..extensions import db
from ..policy.reading import official_may_read
from ..proposals.models import Clarification, Proposal
from ..proposals.queries import submission_deadline_for
from ..ranking.models import Standstill
from ..urls import external_url
from . import Event


def _domain() -> str:
    return current_app.config["MAIL_FROM"].rpartition("@")[2].rstrip(">") or "foerdercall"


def _uid(kind: str, obj: str, obj_id: int) -> str:
    return f"{kind}-{obj}-{obj_id}@{_domain()}"


def _call_url(call: Call) -> str:
    return external_url("calls.detail", call_id=call.id)


def _proposal_url(p: Proposal) -> str:
    return external_url("proposals.detail", proposal_id=p.id)


def _call_level(call: Call) -> list[Event]:
    url = _call_url(call)
    events = [
        Event(
            _uid("opens", "call", call.id),
            call.opens_at,
            _("Beginn des Aufrufs %(code)s: %(title)s", code=call.code, title=call.title),
            url=url,
        ),
        Event(
            _uid("submission-deadline", "call", call.id),
            call.submission_deadline,
            _("Einreichungsfrist %(code)s: %(title)s", code=call.code, title=call.title),
            url=url,
        ),
    ]
    if call.review_deadline is not None:
        events.append(
            Event(
                _uid("review-deadline", "call", call.id),
                call.review_deadline,
                _("Frist für die Begutachtung %(code)s: %(title)s", code=call.code, title=call.title),
                url=url,
            )
        )
    return events


def _proposal_level(
    p: Proposal,
    award: Award | None,
    standstill: Standstill | None,
    milestones: list[Milestone],
    clarification: Clarification | None,
) -> list[Event]:
    url, number = _proposal_url(p), p.label()
    events = []
    if clarification is not None and p.state == ProposalState.CLARIFICATION:
        events.append(
            Event(
                _uid("clarification", "clarification", clarification.id),
                clarification.due_at,
                _("Antwortfrist der Nachforderung %(number)s", number=number),
                url=url,
            )
        )
    if standstill is not None:
        events.append(
            Event(
                _uid("standstill-ends", "proposal", p.id),
                standstill.ends_at,
                _("Ende der Stillhaltefrist %(number)s", number=number),
                url=url,
            )
        )
    if award is not None:
        events.append(
            Event(
                _uid("accept-by", "award", award.id),
                award.accept_by,
                _("Annahmefrist des Zuschlags %(number)s", number=number),
                url=url,
            )
        )
        for m in milestones:
            events.append(
                Event(
                    _uid("milestone", "milestone", m.id),
                    m.due_at,
                    _("Meilenstein %(number)s: %(title)s", number=number, title=m.title),
                    url=url,
                )
            )
        if award.implementation_ends_at is not None:
            events.append(
                Event(
                    _uid("implementation-ends", "award", award.id),
                    award.implementation_ends_at,
                    _("Ende der Umsetzung, Abschlussbericht fällig: %(number)s", number=number),
                    url=url,
                )
            )
    return events


def _details(proposals: list[Proposal]):
    ids = [p.id for p in proposals]
    if not ids:
        return {}, {}, {}, {}
    awards = {a.proposal_id: a for a in db.session.scalars(select(Award).where(Award.proposal_id.in_(ids)))}
    standstills = {
        s.proposal_id: s
        for s in db.session.scalars(select(Standstill).where(Standstill.proposal_id.in_(ids)))
    }
    milestones: dict[int, list[Milestone]] = {}
    for m in db.session.scalars(
        select(Milestone).where(Milestone.proposal_id.in_(ids)).order_by(Milestone.due_at, Milestone.position)
    ):
        milestones.setdefault(m.proposal_id, []).append(m)
    clarifications = {
        c.proposal_id: c
        for c in db.session.scalars(
            select(Clarification)
            .where(Clarification.proposal_id.in_(ids), Clarification.answered_at.is_(None))
            .order_by(Clarification.id)
        )
    }
    return awards, standstills, milestones, clarifications


def call_events(call: Call, viewer) -> list[Event]:
    """Every deadline of the call the viewer may know of, in time order."""
    events = _call_level(call)
    if not call.is_sealed:
        proposals = [
            p
            for p in db.session.scalars(
                select(Proposal)
                .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
                .order_by(Proposal.file_seq)
            )
            if official_may_read(viewer, p)
        ]
        awards, standstills, milestones, clarifications = _details(proposals)
        for p in proposals:
            events += _proposal_level(
                p, awards.get(p.id), standstills.get(p.id), milestones.get(p.id, []), clarifications.get(p.id)
            )
    return sorted(events, key=lambda e: (e.at, e.uid))


def proposal_events(p: Proposal) -> list[Event]:
    """The deadlines of one proposal for its applicant: submission (with a documented extension), the answer
    to a clarification request, acceptance, milestones, the end of the implementation period."""
    call, url = p.call, _proposal_url(p)
    events = []
    if p.state == ProposalState.DRAFT:
        events.append(
            Event(
                _uid("submission-deadline", "proposal", p.id),
                submission_deadline_for(p),
                _("Einreichungsfrist %(code)s: %(title)s", code=call.code, title=call.title),
                url=url,
            )
        )
    awards, standstills, milestones, clarifications = _details([p])
    events += _proposal_level(p, awards.get(p.id), None, milestones.get(p.id, []), clarifications.get(p.id))
    return sorted(events, key=lambda e: (e.at, e.uid))

"""Where a proposal stands, for its applicant: the path through the workflow, the current step, the next step
and its date.

The path is derived from the workflow data (``workflows/proposal.py``): the shortest way from the initial
state to the terminal state farthest from it (submission … completion). States off that path (a
clarification, a rejection, a withdrawal) appear where the proposal actually went. The dates come from the
proposal's history (when each state was reached) and from its deadlines (submission deadline, clarification
due date, acceptance deadline, milestones, end of implementation).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import deque
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

import workflows.proposal as wf
from workflows import ProposalState

from ..audit.models import AuditEvent
from ..awards.models import Milestone
from ..awards.queries import award_of
from ..extensions import db
from ..labels import step_label, term
from ..offices.queries import office_names
from ..timeutil import now
from .queries import open_clarification, submission_deadline_for


@dataclass
class Step:
    state: str
    status: str  # done | current | ahead
    reached_at: dt.datetime | None = None


@dataclass
class NextStep:
    text: str
    due_at: dt.datetime | None = None
    by_applicant: bool = False  # True: the applicant has to act; else the offices


@dataclass
class Progress:
    steps: list[Step] = field(default_factory=list)
    next: NextStep | None = None
    finished: bool = False


def _graph() -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {s: [] for s in wf.STATES}
    for t in wf.TRANSITIONS:
        for source in t["source"]:
            if t["dest"] not in graph[source]:
                graph[source].append(t["dest"])
    return graph


@functools.cache
def main_path() -> tuple[str, ...]:
    """The proposal's regular path: the shortest way from the initial state to the farthest terminal state."""
    graph = _graph()
    parent: dict[str, str | None] = {wf.INITIAL: None}
    queue: deque[str] = deque([wf.INITIAL])
    while queue:
        state = queue.popleft()
        for nxt in graph[state]:
            if nxt not in parent:
                parent[nxt] = state
                queue.append(nxt)

    def path_to(state: str | None) -> list[str]:
        out = []
        while state is not None:
            out.append(state)
            state = parent[state]
        return out[::-1]

    longest = max((path_to(s) for s in wf.TERMINAL if s in parent), key=len)
    return tuple(longest)


ACCEPT_AWARD = next(t for t in wf.TRANSITIONS if t["trigger"] == "accept_award")


def _applicant_acts(state: str) -> bool:
    return any(
        state in t["source"] and "applicant" in t["who"] and t["trigger"] != "withdraw"
        for t in wf.TRANSITIONS
    )


def _next_step(p, state: str) -> NextStep | None:
    by_applicant = _applicant_acts(state)
    call = p.call
    if state == ProposalState.DRAFT:
        return NextStep(
            _("Antrag vollständig ausfüllen, Anlagen hochladen und verbindlich einreichen")
            if call.mode == "grant"
            else _("Angebot vollständig ausfüllen, Anlagen hochladen und verbindlich einreichen"),
            submission_deadline_for(p),
            by_applicant,
        )
    if state == ProposalState.SUBMITTED:
        deadline = call.submission_deadline
        if now() < deadline:
            return NextStep(term(p, "after_deadline"), deadline, by_applicant)
        return NextStep(_("Formale Prüfung durch das Amt"), None, by_applicant)
    if state == ProposalState.CLARIFICATION:
        c = open_clarification(p)
        return NextStep(_("Nachforderung beantworten"), c.due_at if c else None, True)
    if state in (ProposalState.ELIGIBLE, ProposalState.IN_REVIEW):
        return NextStep(
            _("Begutachtung durch unabhängige Gutachterinnen und Gutachter"),
            call.review_deadline,
            by_applicant,
        )
    if state == ProposalState.REVIEWED:
        return NextStep(
            _(
                "Gemeinsame Entscheidung der Ämter (%(offices)s)",
                offices=", ".join(office_names(call.deciding_offices)),
            ),
            None,
            by_applicant,
        )
    if state == ProposalState.APPROVED:
        return NextStep(
            _("Bewilligung durch das Amt") if call.mode == "grant" else _("Zuschlag durch das Amt"),
            None,
            by_applicant,
        )
    award = award_of(p)
    if state == ProposalState.AWARDED:
        accept = step_label(ACCEPT_AWARD, p)
        return NextStep(accept, award.accept_by if award else None, True)
    if state == ProposalState.IN_IMPLEMENTATION:
        milestone = db.session.scalar(
            select(Milestone)
            .where(Milestone.proposal_id == p.id, Milestone.reported_at.is_(None))
            .order_by(Milestone.due_at, Milestone.position)
        )
        if milestone is not None:
            return NextStep(
                _("Meilenstein „%(title)s“ berichten", title=milestone.title), milestone.due_at, True
            )
        return NextStep(
            _("Zwischen- und Abschlussbericht einreichen"),
            award.implementation_ends_at if award else None,
            True,
        )
    if state == ProposalState.FINAL_REPORT_SUBMITTED:
        return NextStep(_("Abnahme des Abschlussberichts durch das Amt"), None, by_applicant)
    if state in wf.TERMINAL:
        return None
    # a state without its own description (e.g. a standstill period before the award): the office acts
    return NextStep(_("Bearbeitung durch das Amt"), None, by_applicant)


def next_step(p) -> NextStep | None:
    """The proposal's next step (the applicant's or the offices') and its date; None once it is finished."""
    return _next_step(p, p.state)


def proposal_progress(p) -> Progress:
    """The applicant's view of the proposal's path (states passed, the current one, the next step)."""
    events = db.session.execute(
        select(AuditEvent.to_state, AuditEvent.at)
        .where(
            AuditEvent.proposal_id == p.id,
            AuditEvent.object_type == "proposals",  # not its milestones', reports' … states
            AuditEvent.to_state.is_not(None),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    reached: dict[str, dt.datetime] = {}
    visited: list[str] = []
    for state, at in events:
        assert state is not None  # the query excludes it
        reached[state] = at  # the latest time each state was reached
        if state not in visited:
            visited.append(state)
    reached.setdefault(wf.INITIAL, p.created_at)
    path = list(main_path())
    current = p.state
    steps: list[Step] = []
    if current in path:
        here = path.index(current)
        for i, state in enumerate(path):
            status = "done" if i < here else "current" if i == here else "ahead"
            steps.append(Step(state, status, reached.get(state) if status != "ahead" else None))
    else:
        # off the regular path: the regular states passed, then where the proposal went
        passed = [s for s in path if s in reached and s != current]
        steps = [Step(s, "done", reached.get(s)) for s in passed]
        steps.append(Step(current, "current", reached.get(current)))
        if current not in wf.TERMINAL:  # e.g. a clarification: the rest of the regular path is still ahead
            last = path.index(passed[-1]) if passed else 0
            steps += [Step(s, "ahead") for s in path[last + 1 :]]
    return Progress(steps=steps, next=_next_step(p, current), finished=current in wf.TERMINAL)

"""The public register of awarded measures (DOMAIN.md: a public list of awarded measures, and the 2015
evaluation's ask for a yearly public report on what funded measures achieved).

Only measures that were awarded and accepted are listed: in implementation, final report submitted, or
completed. Data protection: the recipient is named by the organisation the applicant registered with;
a person who applied without an organisation is not named (only title, amount and progress are shown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from workflows import IndicatorState, MilestoneState, ProposalState

from ..appform.places import district_of, place_label
from ..awards.models import Award, Milestone
from ..calls.models import Call
from ..extensions import db
from ..labels import field_label
from ..outcomes.queries import MeasureProgress, progress_of
from ..outcomes.values import plain
from ..proposals.models import Proposal
from ..timeutil import minute_end, now, to_berlin

REGISTER_STATES = (
    ProposalState.IN_IMPLEMENTATION,
    ProposalState.FINAL_REPORT_SUBMITTED,
    ProposalState.COMPLETED,
)
# the order the register counts them in; "overdue" also for a milestone the worker has not marked yet
MILESTONE_STATUSES = (
    MilestoneState.ACCEPTED,
    MilestoneState.REPORTED,
    MilestoneState.OVERDUE,
    MilestoneState.PLANNED,
)


@dataclass
class MilestoneEntry:
    title: str
    due_at: dt.datetime
    status: str  # one of MILESTONE_STATUSES
    reported_at: dt.datetime | None
    accepted_at: dt.datetime | None


@dataclass
class Measure:
    proposal_id: int
    file_number: str
    title: str
    recipient: str | None  # the organisation; None: a private person, not published
    amount_cents: int
    call_id: int
    call_code: str
    call_title: str
    field_of_action: str
    field_label: str  # in the reader's language
    state: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    milestones: list[MilestoneEntry] = field(default_factory=list)
    place: str = ""  # a key of the city's places (appform.places), "" when the form did not ask
    progress: MeasureProgress = field(default_factory=MeasureProgress)

    @property
    def district(self) -> str:
        return district_of(self.place)

    def count(self, status: str) -> int:
        return sum(1 for m in self.milestones if m.status == status)


def milestone_status(m: Milestone, at: dt.datetime) -> str:
    if m.accepted_at is not None:
        return MilestoneState.ACCEPTED
    if m.reported_at is not None:
        return MilestoneState.REPORTED
    if m.overdue_at is not None or at >= minute_end(m.due_at):
        return MilestoneState.OVERDUE
    return MilestoneState.PLANNED


def register_calls() -> Sequence[Call]:
    """The calls with at least one measure in the register (for the filter)."""
    ids = select(Proposal.call_id).where(Proposal.state.in_(REGISTER_STATES))
    return db.session.scalars(
        select(Call).where(Call.id.in_(ids)).order_by(Call.submission_deadline.desc())
    ).all()


def measures(call_id: int | None = None) -> list[Measure]:
    at = now()
    q = (
        select(Proposal, Award)
        .join(Award, Award.proposal_id == Proposal.id)
        .where(Proposal.state.in_(REGISTER_STATES))
        .order_by(Proposal.call_id, Proposal.file_seq)
    )
    if call_id is not None:
        q = q.where(Proposal.call_id == call_id)
    rows = db.session.execute(q).all()
    ids = [p.id for p, _a in rows]
    by_proposal: dict[int, list[Milestone]] = {}
    if ids:
        for m in db.session.scalars(
            select(Milestone)
            .where(Milestone.proposal_id.in_(ids))
            .order_by(Milestone.proposal_id, Milestone.position, Milestone.id)
        ):
            by_proposal.setdefault(m.proposal_id, []).append(m)
    progress = progress_of(rows)
    out = []
    for p, a in rows:
        assert p.file_number is not None  # given at the submission, long before the award
        organisation = (p.applicant.organisation or "").strip()
        out.append(
            Measure(
                proposal_id=p.id,
                file_number=p.file_number,
                title=p.title,
                recipient=organisation or None,
                amount_cents=a.amount_cents - a.released_cents,
                call_id=p.call_id,
                call_code=p.call.code,
                call_title=p.call.title,
                field_of_action=p.field_of_action,
                field_label=field_label(p.call, p.field_of_action),
                state=p.state,
                starts_at=a.accepted_at,
                ends_at=a.implementation_ends_at,
                milestones=[
                    MilestoneEntry(m.title, m.due_at, milestone_status(m, at), m.reported_at, m.accepted_at)
                    for m in by_proposal.get(p.id, [])
                ],
                place=p.place,
                progress=progress[p.id],
            )
        )
    return out


def _date(value: dt.datetime | None) -> str | None:
    return to_berlin(value).date().isoformat() if value is not None else None


def _eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _share(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def as_open_data(items: list[Measure]) -> list[dict]:
    """Plain values for CSV and JSON: ISO dates (Leipzig), amounts in euro cents and as a decimal string, the
    place (its key and German name, and its district), the progress and the indicators planned and achieved."""
    return [
        {
            "file_number": m.file_number,
            "title": m.title,
            "recipient": m.recipient,
            "amount_cents": m.amount_cents,
            "amount_eur": _eur(m.amount_cents),
            "paid_eur": _eur(m.progress.paid_cents),
            "call_code": m.call_code,
            "call_title": m.call_title,
            "field_of_action": m.field_of_action,
            "status": m.state,
            "implementation_start": _date(m.starts_at),
            "implementation_end": _date(m.ends_at),
            "place": m.place or None,
            "place_name": place_label(m.place, "de") or None,
            "district": m.district or None,
            "district_name": place_label(m.district, "de") or None,
            "progress": {
                "milestones": _share(m.progress.milestone_share),
                "money_paid": _share(m.progress.money_share),
                "indicators": _share(m.progress.indicator_share),
            },
            "indicators": [
                {
                    "key": i.indicator.key,
                    "name": i.indicator.label.de,
                    "name_en": i.indicator.label.get("en"),
                    "unit": i.indicator.unit,
                    "planned": plain(i.planned) if i.planned is not None else None,
                    "achieved": plain(i.achieved) if i.achieved is not None else None,
                    "checked": i.value.state != IndicatorState.REPORTED if i.value is not None else None,
                }
                for i in m.progress.indicators
            ],
            "milestones": [
                {
                    "title": e.title,
                    "due": _date(e.due_at),
                    "status": e.status,
                    "reported": _date(e.reported_at),
                    "accepted": _date(e.accepted_at),
                }
                for e in m.milestones
            ],
        }
        for m in items
    ]

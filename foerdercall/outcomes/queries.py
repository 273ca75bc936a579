"""What measures planned and achieved, and how far each has come (issue 15): read in bulk, so that a register
or a report over thousands of measures costs a few queries, not a few per measure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from workflows import MilestoneState, PaymentState

from ..appform.definition import FormDefinition, Indicator
from ..awards.models import Award, Milestone, Payment
from ..extensions import db
from ..proposals.models import Proposal
from .models import IndicatorValue
from .values import targets


def planned_values(p: Proposal, definition: FormDefinition) -> dict[str, Decimal]:
    """The targets the proposal states (its ``indicators`` questions' answers), by indicator key."""
    answers = p.answers or {}
    return targets(answers.get(q.key) for q in definition.questions() if q.type == "indicators")


def latest_values(proposal_ids: Iterable[int]) -> dict[int, dict[str, IndicatorValue]]:
    """Each measure's achieved value per indicator: the latest reported (a final report's over an interim one's),
    whose counted value is an official's correction where there is one."""
    ids = list(proposal_ids)
    found: dict[int, dict[str, IndicatorValue]] = {}
    if not ids:
        return found
    for v in db.session.scalars(
        select(IndicatorValue)
        .where(IndicatorValue.proposal_id.in_(ids))
        .order_by(IndicatorValue.reported_at, IndicatorValue.id)
    ):
        found.setdefault(v.proposal_id, {})[v.indicator] = v
    return found


def values_of(p: Proposal) -> list[IndicatorValue]:
    """Every value the measure reported, oldest first (the page's history)."""
    return list(
        db.session.scalars(
            select(IndicatorValue)
            .where(IndicatorValue.proposal_id == p.id)
            .order_by(IndicatorValue.reported_at, IndicatorValue.id)
        )
    )


@dataclass
class IndicatorProgress:
    indicator: Indicator
    planned: Decimal | None
    achieved: Decimal | None
    value: IndicatorValue | None = None  # the row the achieved value comes from

    @property
    def share(self) -> float | None:
        """Achieved of planned, 0–1 (more than planned counts as all); None without a target."""
        if not self.planned:
            return None
        return min(float((self.achieved or 0) / self.planned), 1.0)


@dataclass
class MeasureProgress:
    """How far a measure has come, from its data: milestones accepted, money paid of the award, indicators
    achieved of the targets."""

    milestones_done: int = 0
    milestones_total: int = 0
    paid_cents: int = 0
    awarded_cents: int = 0
    indicators: list[IndicatorProgress] = field(default_factory=list)

    @property
    def milestone_share(self) -> float | None:
        return self.milestones_done / self.milestones_total if self.milestones_total else None

    @property
    def money_share(self) -> float | None:
        return min(self.paid_cents / self.awarded_cents, 1.0) if self.awarded_cents else None

    @property
    def indicator_share(self) -> float | None:
        """The mean of the indicators' shares (each capped at all), over those with a target."""
        shares = [s for i in self.indicators if (s := i.share) is not None]
        return sum(shares) / len(shares) if shares else None


def progress_of(rows: Sequence[tuple[Proposal, Award]]) -> dict[int, MeasureProgress]:
    """The progress of each measure (proposal, award), by proposal id: three queries for any number."""
    ids = [p.id for p, _a in rows]
    out = {p.id: MeasureProgress(awarded_cents=a.amount_cents - a.released_cents) for p, a in rows}
    if not ids:
        return out
    for proposal_id, state in db.session.execute(
        select(Milestone.proposal_id, Milestone.state).where(Milestone.proposal_id.in_(ids))
    ):
        out[proposal_id].milestones_total += 1
        out[proposal_id].milestones_done += state == MilestoneState.ACCEPTED
    by_award = {a.id: p.id for p, a in rows}
    for award_id, cents in db.session.execute(
        select(Payment.award_id, Payment.amount_cents).where(
            Payment.award_id.in_(by_award), Payment.state == PaymentState.PAID
        )
    ):
        out[by_award[award_id]].paid_cents += cents
    achieved = latest_values(ids)
    definitions: dict[int, FormDefinition] = {}
    for p, _a in rows:
        definition = definitions.get(p.call_id)
        if definition is None:
            definition = definitions[p.call_id] = p.call.stored_form
        planned = planned_values(p, definition)
        mine = achieved.get(p.id, {})
        out[p.id].indicators = [
            IndicatorProgress(
                i,
                planned.get(i.key),
                mine[i.key].counted if i.key in mine else None,
                mine.get(i.key),
            )
            for _q, i in definition.indicators()
            if i.key in planned or i.key in mine
        ]
    return out


def measure_progress(p: Proposal, award: Award) -> MeasureProgress:
    return progress_of([(p, award)])[p.id]


@dataclass
class MeasureOutcome:
    """A measure's page: its progress, every value reported (oldest first) and the call's indicators for its field
    of action, by key (what its reports ask)."""

    progress: MeasureProgress
    history: list[IndicatorValue]
    indicators: dict[str, Indicator]


def measure_outcome(p: Proposal, award: Award | None) -> MeasureOutcome | None:
    if award is None or award.accepted_at is None:
        return None
    definition = p.call.stored_form
    applicable = {i.key: i for _q, i in definition.indicators() if i.applies_to(p.field_of_action)}
    return MeasureOutcome(measure_progress(p, award), values_of(p), applicable)

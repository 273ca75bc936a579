"""The implementation report (Umsetzungsbericht) for the city council (issue 15), per call or per calendar year: the
calls whose submission deadline lies in that year, added up. Money (budget, awarded, paid, returned), measures by
state, completion and lapse rates, the median time from the deadline to the award, and the indicators planned and
achieved, in all, by field of action and by district. Aggregates only: no name, no title of a person's measure.

A few queries for any number of measures: the targets are read from the answers' indicator questions only (JSON
paths), the achieved values as (measure, indicator, value) rows."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select

from workflows import CallState, PaymentState, ProposalState

from ..appform.definition import Indicator, Text
from ..appform.places import district_of, places
from ..awards.models import Award, Payment
from ..calls.models import Call
from ..extensions import db
from ..labels import field_label
from ..proposals.models import Proposal
from ..timeutil import to_berlin
from .models import IndicatorValue
from .values import targets

# measures whose targets and results count: the award accepted (in implementation, reported, completed)
MEASURE_STATES = (
    ProposalState.IN_IMPLEMENTATION,
    ProposalState.FINAL_REPORT_SUBMITTED,
    ProposalState.COMPLETED,
)
NO_PLACE = ""


@dataclass
class IndicatorRow:
    key: str
    label: Text
    unit: str
    aggregate: str
    planned: Decimal | None = None
    achieved: Decimal | None = None
    measures: int = 0  # measures that planned it or reported it

    @property
    def share(self) -> float | None:
        if not self.planned or self.achieved is None:
            return None
        return float(self.achieved / self.planned)


@dataclass
class Group:
    key: str
    label: str
    measures: int
    rows: list[IndicatorRow]


@dataclass
class ImplementationReport:
    calls: list[Call]
    year: int | None
    budget_cents: int = 0
    awarded_cents: int = 0
    paid_cents: int = 0
    returned_cents: int = 0
    by_state: list[tuple[str, int]] = field(default_factory=list)
    awards: int = 0
    completed: int = 0
    lapsed: int = 0
    median_days_to_award: float | None = None
    indicators: list[IndicatorRow] = field(default_factory=list)
    by_field: list[Group] = field(default_factory=list)
    by_district: list[Group] = field(default_factory=list)

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.awards if self.awards else None

    @property
    def lapse_rate(self) -> float | None:
        return self.lapsed / self.awards if self.awards else None


def report_years() -> list[int]:
    """The years with a published call (its submission deadline's year, Leipzig time), newest first."""
    deadlines = db.session.scalars(
        select(Call.submission_deadline).where(Call.state != CallState.DRAFT)
    ).all()
    return sorted({to_berlin(d).year for d in deadlines}, reverse=True)


def calls_of_year(year: int) -> list[Call]:
    calls = db.session.scalars(
        select(Call).where(Call.state != CallState.DRAFT).order_by(Call.submission_deadline)
    ).all()
    return [c for c in calls if to_berlin(c.submission_deadline).year == year]


def implementation_report(calls: Sequence[Call], year: int | None = None) -> ImplementationReport:
    report = ImplementationReport(calls=list(calls), year=year)
    ids = [c.id for c in calls]
    if not ids:
        return report
    report.budget_cents = sum(c.budget_cents for c in calls)
    _money(report, ids)
    _states(report, calls)
    _indicators(report, calls)
    return report


def _money(report: ImplementationReport, ids: list[int]) -> None:
    deadlines = {c.id: c.submission_deadline for c in report.calls}
    days: list[float] = []
    for call_id, amount, released, awarded_at in db.session.execute(
        select(Award.call_id, Award.amount_cents, Award.released_cents, Award.awarded_at).where(
            Award.call_id.in_(ids)
        )
    ):
        report.awards += 1
        report.awarded_cents += amount
        report.returned_cents += released
        days.append((awarded_at - deadlines[call_id]).total_seconds() / 86400)
    report.median_days_to_award = statistics.median(days) if days else None
    report.paid_cents = int(  # PostgreSQL's SUM of a BIGINT is a NUMERIC
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0))
            .join(Award, Award.id == Payment.award_id)
            .where(Award.call_id.in_(ids), Payment.state == PaymentState.PAID)
        )
        or 0
    )


def _states(report: ImplementationReport, calls: Sequence[Call]) -> None:
    """Submitted proposals by state; while a procurement call is sealed, its proposals count as received only."""
    sealed = {c.id for c in calls if c.is_sealed}
    counts: Counter[str] = Counter()
    for call_id, state, n in db.session.execute(
        select(Proposal.call_id, Proposal.state, func.count(Proposal.id))
        .where(Proposal.call_id.in_([c.id for c in calls]), Proposal.submitted_at.is_not(None))
        .group_by(Proposal.call_id, Proposal.state)
    ):
        counts[ProposalState.SUBMITTED if call_id in sealed else state] += n
    order = {s: i for i, s in enumerate(ProposalState)}
    report.by_state = sorted(counts.items(), key=lambda kv: order.get(ProposalState(kv[0]), 99))
    report.completed = counts.get(ProposalState.COMPLETED, 0)
    report.lapsed = counts.get(ProposalState.LAPSED, 0) + counts.get(ProposalState.DECLINED, 0)


@dataclass
class _Measure:
    field_key: str
    field_label: str
    district: str
    planned: dict[str, Decimal] = field(default_factory=dict)
    achieved: dict[str, Decimal] = field(default_factory=dict)


def _indicators(report: ImplementationReport, calls: Sequence[Call]) -> None:
    catalogue: dict[str, Indicator] = {}
    measures: dict[int, _Measure] = {}
    for call in calls:
        definition = call.stored_form
        questions = [q for q in definition.questions() if q.type == "indicators"]
        for _q, i in definition.indicators():
            catalogue.setdefault(i.key, i)
        columns = [Proposal.answers[q.key] for q in questions]
        rows = db.session.execute(
            select(Proposal.id, Proposal.field_of_action, Proposal.place, *columns).where(
                Proposal.call_id == call.id, Proposal.state.in_(MEASURE_STATES)
            )
        )
        labels: dict[str, str] = {}
        for proposal_id, field_key, place, *answers in rows:
            if field_key not in labels:
                labels[field_key] = field_label(call, field_key) if field_key else ""
            measures[proposal_id] = _Measure(
                field_key, labels[field_key], district_of(place), targets(answers)
            )
    if measures:
        for proposal_id, key, value, corrected in db.session.execute(
            select(
                IndicatorValue.proposal_id,
                IndicatorValue.indicator,
                IndicatorValue.value,
                IndicatorValue.corrected,
            )
            .join(Proposal, Proposal.id == IndicatorValue.proposal_id)
            .where(Proposal.call_id.in_([c.id for c in calls]), Proposal.state.in_(MEASURE_STATES))
            .order_by(IndicatorValue.reported_at, IndicatorValue.id)
        ):
            if proposal_id in measures:  # the latest counts (a final report's over an interim one's)
                measures[proposal_id].achieved[key] = corrected if corrected is not None else value
    everything = list(measures.values())
    report.indicators = _rows(catalogue, everything)
    by_field: dict[str, list[_Measure]] = defaultdict(list)
    by_district: dict[str, list[_Measure]] = defaultdict(list)
    for m in everything:
        by_field[m.field_label or ""].append(m)
        by_district[m.district].append(m)
    report.by_field = [
        Group(label, label, len(ms), _rows(catalogue, ms)) for label, ms in sorted(by_field.items())
    ]
    order = {key: i for i, key in enumerate(_district_order())}
    report.by_district = [
        Group(key, key, len(ms), _rows(catalogue, ms))
        for key, ms in sorted(by_district.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]


def _district_order() -> list[str]:
    return [p.key for p in places().values() if p.kind != "quarter"]


def _rows(catalogue: dict[str, Indicator], measures: Iterable[_Measure]) -> list[IndicatorRow]:
    ms = list(measures)
    rows = []
    for key, i in catalogue.items():
        planned = [m.planned[key] for m in ms if key in m.planned]
        achieved = [m.achieved[key] for m in ms if key in m.achieved]
        if not planned and not achieved:
            continue
        rows.append(
            IndicatorRow(
                key,
                i.label,
                i.unit,
                i.aggregate,
                _add_up(i.aggregate, planned),
                _add_up(i.aggregate, achieved),
                sum(1 for m in ms if key in m.planned or key in m.achieved),
            )
        )
    return rows


def _add_up(how: str, values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    if how == "mean":
        return sum(values, Decimal(0)) / len(values)
    if how == "count":
        return Decimal(sum(1 for v in values if v > 0))
    return sum(values, Decimal(0))

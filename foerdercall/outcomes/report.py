"""The implementation report (Umsetzungsbericht) for the city council (issue 15), per call or per calendar year: the
calls whose submission deadline lies in that year, added up. Money (budget, awarded, paid, returned), measures by
state, completion and lapse rates, the median time from the deadline to the award, and the indicators planned and
achieved, in all, by field of action and by district. Aggregates only: no name, no title of a person's measure.

A few queries for any number of measures: the targets are read from the answers' indicator questions only (JSON
paths), the achieved values as (measure, indicator, value) rows."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, select

from workflows import CallState, PaymentState, ProposalState

from ..appform.definition import Indicator, Text
from ..appform.places import district_of, places
from ..awards.models import Award, Payment
from ..calls.models import Call
from ..extensions import db
from ..labels import field_label
from ..proposals.models import Proposal
from ..timeutil import to_berlin
from .models import IndicatorValue, ReportText
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
    planned_measures: int = 0  # measures with a target for it
    achieved_measures: int = 0  # measures that reported a value of it

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


def report_text(*, call: Call | None = None, year: int | None = None) -> ReportText | None:
    """The office's text of the report of a call, or of a year."""
    where = ReportText.call_id == call.id if call is not None else ReportText.year == year
    return db.session.scalar(select(ReportText).where(where))


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


class _Side:
    """Targets or achieved values of one indicator within one group: their sum, how many, how many above 0."""

    __slots__ = ("total", "n", "positive")

    def __init__(self, total: Decimal = Decimal(0), n: int = 0, positive: int = 0) -> None:
        self.total, self.n, self.positive = total, n, positive

    def add(self, value: Decimal) -> None:
        self.total += value
        self.n += 1
        self.positive += value > 0

    def merge(self, other: _Side) -> None:
        self.total += other.total
        self.n += other.n
        self.positive += other.positive

    def value(self, how: str) -> Decimal | None:
        """Added up as the indicator says: the sum, the mean of the measures, or how many are above 0."""
        if not self.n:
            return None
        if how == "mean":
            return self.total / self.n
        return Decimal(self.positive) if how == "count" else self.total


class _Tally:
    __slots__ = ("planned", "achieved")

    def __init__(self) -> None:
        self.planned, self.achieved = _Side(), _Side()

    def merge(self, other: _Tally) -> None:
        self.planned.merge(other.planned)
        self.achieved.merge(other.achieved)


Cell = tuple[int, str, str]  # call, field of action, place: the finest group


def _indicators(report: ImplementationReport, calls: Sequence[Call]) -> None:
    """Added up by cell (call, field of action, place): the targets in Python from the answers' indicator
    questions, the achieved values in the database (the latest of each measure and indicator, a correction over
    the reported value); the cells then make the totals, the fields of action and the districts."""
    catalogue: dict[str, Indicator] = {}
    cells: dict[Cell, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    sizes: Counter[Cell] = Counter()
    ids = [c.id for c in calls]
    for call in calls:
        definition = call.stored_form
        for _q, i in definition.indicators():
            catalogue.setdefault(i.key, i)
        columns = [Proposal.answers[q.key] for q in definition.questions() if q.type == "indicators"]
        for field_key, place, *answers in db.session.execute(
            select(Proposal.field_of_action, Proposal.place, *columns).where(
                Proposal.call_id == call.id, Proposal.state.in_(MEASURE_STATES)
            )
        ):
            cell = cells[(call.id, field_key, place)]
            sizes[(call.id, field_key, place)] += 1
            for key, value in targets(answers).items():
                cell[key].planned.add(value)
    latest = (
        select(
            Proposal.call_id,
            Proposal.field_of_action,
            Proposal.place,
            IndicatorValue.indicator,
            func.coalesce(IndicatorValue.corrected, IndicatorValue.value).label("counted"),
            func.row_number()
            .over(
                partition_by=(IndicatorValue.proposal_id, IndicatorValue.indicator),
                order_by=(IndicatorValue.reported_at.desc(), IndicatorValue.id.desc()),
            )
            .label("n"),
        )
        .join(Proposal, Proposal.id == IndicatorValue.proposal_id)
        .where(Proposal.call_id.in_(ids), Proposal.state.in_(MEASURE_STATES))
        .subquery()
    )
    for call_id, field_key, place, key, total, n, positive in db.session.execute(
        select(
            latest.c.call_id,
            latest.c.field_of_action,
            latest.c.place,
            latest.c.indicator,
            func.sum(latest.c.counted),
            func.count(),
            func.sum(case((latest.c.counted > 0, 1), else_=0)),
        )
        .where(latest.c.n == 1)  # a final report's value over an interim one's
        .group_by(latest.c.call_id, latest.c.field_of_action, latest.c.place, latest.c.indicator)
    ):
        cells[(call_id, field_key, place)][key].achieved = _Side(Decimal(total), int(n), int(positive))

    by_id = {c.id: c for c in calls}
    labels: dict[tuple[int, str], str] = {}
    groups: dict[tuple[str, str], dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    group_sizes: Counter[tuple[str, str]] = Counter()
    for (call_id, field_key, place), tallies in cells.items():
        if (call_id, field_key) not in labels:
            labels[(call_id, field_key)] = field_label(by_id[call_id], field_key) if field_key else ""
        for g in (("all", ""), ("field", labels[(call_id, field_key)]), ("district", district_of(place))):
            group_sizes[g] += sizes[(call_id, field_key, place)]
            for key, t in tallies.items():
                groups[g][key].merge(t)

    def rows(group: tuple[str, str]) -> list[IndicatorRow]:
        mine = groups.get(group, {})
        return [
            IndicatorRow(
                key,
                i.label,
                i.unit,
                i.aggregate,
                mine[key].planned.value(i.aggregate),
                mine[key].achieved.value(i.aggregate),
                mine[key].planned.n,
                mine[key].achieved.n,
            )
            for key, i in catalogue.items()
            if key in mine
        ]

    report.indicators = rows(("all", ""))
    fields = sorted(g for g in group_sizes if g[0] == "field")
    report.by_field = [Group(g[1], g[1], group_sizes[g], rows(g)) for g in fields]
    order = {key: i for i, key in enumerate(_district_order())}
    districts = sorted(
        (g for g in group_sizes if g[0] == "district"), key=lambda g: order.get(g[1], len(order))
    )
    report.by_district = [Group(g[1], g[1], group_sizes[g], rows(g)) for g in districts]


def _district_order() -> list[str]:
    return [p.key for p in places().values() if p.kind != "quarter"]

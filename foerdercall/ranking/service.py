"""The ranking of a call: plain data for the ranking page, the decision view and the exports.

Computed with a fixed number of aggregated queries over the whole call (no per-proposal loads): each
submission refreshes its proposal's aggregate (``proposal_scores``: per-criterion means and medians, the
weighted total and knock-out of each, the lowest and highest review total) and the review's own total
(``reviews.total_points``), so the ranking reads one row per proposal, ordered by the database; the
computed ranking is kept per application and call while its data version (:func:`data_version`) is unchanged.

- **Score**: per criterion the mean (or, chosen per call, the median) of the submitted reviews' scores,
  "not applicable" left out; total = Σ weight × (score ÷ scale maximum) ÷ Σ weight of the criteria with a
  score × 100 (DOMAIN.md; weights renormalised when a criterion had no score at all), two decimals.
- **Knock-out**: a criterion whose aggregated score is below its minimum; a knocked-out proposal cannot be
  funded whatever its total. **Fundable**: total ≥ the call's minimum and no knock-out.
- **Corrected for harsh and lenient reviewers** (shown beside the raw score, never replacing it): each
  review's total is turned into a z-score over that reviewer's reviews in this call and mapped back with
  the mean and standard deviation of all review totals of the call (clipped to 0–100); the proposal's
  corrected score is the mean of its reviews' corrected totals. Reviewers with fewer than
  :data:`MIN_REVIEWS_FOR_CORRECTION` reviews in the call, or whose totals do not vary, are left as they are.
- **Spread**: the highest minus the lowest review total of a proposal (points of 100). Strong
  disagreement is flagged from :data:`DISAGREEMENT_POINTS` points (a quarter of the scale: on 0–5, one
  and a quarter points apart on every criterion).
- **Ties** (:data:`TIE_RULE`): higher total; then the higher score on the criteria the call publishes for
  ties, in their order (``Criterion.tie_rank``; by default feasibility, then economic effect: DOMAIN.md). Rows
  still equal after them form a tie group: resolved by a recorded decision of the deciding offices, or by lots
  when the call announced them (``TieBreak``, workflows/tie.py); until then they share a rank, are listed by file
  number (no published criterion), and, where the budget cannot fund all of them, neither they nor anyone below
  are proposed and no award is made among them (the ``tie_decided`` condition).
- **Budget line** (the funding proposal): money already committed to awards is taken first; then, in
  ranking order, each fundable proposal that is reviewed, approved or in its standstill is proposed if its
  amount fits what is left. The line is drawn before the first fundable proposal that no longer fits;
  smaller proposals below it that still fit the rest are proposed too and marked as such.
- **Moving up**: money returned by lapsed or terminated awards is free again; the proposals that are in
  the funding proposal only because of it are marked as moving up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import math
import threading
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select, true

from workflows import ProposalState, TieState
from workflows.proposal import AWAITING_AWARD, AWARDED_STATES

from ..awards.models import Award
from ..calls.models import Call
from ..extensions import db
from ..proposals.models import Proposal
from ..reviews.models import ConflictDeclaration, Review
from .models import ProposalScore, TieBreak

DISAGREEMENT_POINTS = 25.0
MIN_REVIEWS_FOR_CORRECTION = 3
VARIES = 1e-9  # a reviewer's totals vary when their variance exceeds this (points², above rounding noise)
TIE_RULE = (
    "higher total; then the higher score on each criterion the call publishes for ties, in its order; then a "
    "recorded decision of the deciding offices, or lots if the call announced them"
)
# States shown in the ranking (the review has started); the rest never had scores.
RANKED_STATES = (
    ProposalState.IN_REVIEW,
    ProposalState.REVIEWED,
    ProposalState.APPROVED,
    ProposalState.STANDSTILL,
    ProposalState.REJECTED,
    ProposalState.AWARDED,
    ProposalState.LAPSED,
    ProposalState.DECLINED,
    ProposalState.IN_IMPLEMENTATION,
    ProposalState.FINAL_REPORT_SUBMITTED,
    ProposalState.COMPLETED,
    ProposalState.TERMINATED,
    ProposalState.WITHDRAWN,
)
DECIDABLE = (
    ProposalState.REVIEWED,
    ProposalState.APPROVED,
    ProposalState.STANDSTILL,
)  # may enter the funding proposal
HOLDS_MONEY = (
    ProposalState.AWARDED,
    ProposalState.IN_IMPLEMENTATION,
    ProposalState.FINAL_REPORT_SUBMITTED,
    ProposalState.COMPLETED,
    ProposalState.TERMINATED,
)
RETURNED = (ProposalState.LAPSED, ProposalState.DECLINED, ProposalState.TERMINATED)
CACHE_SIZE = 16  # calls whose ranking is kept per application
_CACHE_LOCK = threading.Lock()


@dataclass(slots=True)
class Row:
    proposal_id: int
    file_number: str
    file_seq: int
    title: str
    applicant_id: int
    state: str
    amount_cents: int  # requested (net)
    committed_cents: int  # held by its award (amount − released), 0 without award
    returned_cents: int  # given back by a lapsed or terminated award
    submitted_at: dt.datetime | None
    reviews: int = 0
    criteria: list[float | None] = field(default_factory=list)  # aggregated score per criterion
    total: float | None = None
    corrected: float | None = None
    spread: float | None = None
    disagreement: bool = False
    knockouts: list[str] = field(default_factory=list)  # criterion keys below their minimum
    fundable: bool = False
    rank: int | None = None
    tie_broken: bool = False  # an equal total with a neighbour
    tie_by: str | None = None  # what ordered it within that tie: a criterion's name, "decision" or "lot"
    tie_members: tuple[int, ...] = ()  # the group still equal after the tie criteria (sorted ids)
    tie_open: bool = False  # that group is not resolved yet
    tie_waits: bool = False  # … and it decides who is funded: no award among them until it is resolved
    in_funding: bool = False  # proposed (or already awarded)
    below_line: bool = False  # proposed although a better one did not fit (fits the rest)
    misses_budget: bool = False  # fundable, decidable, but does not fit what is left
    cumulative_cents: int | None = None
    moves_up: bool = False

    @property
    def knocked_out(self) -> bool:
        return bool(self.knockouts)

    @property
    def awarded(self) -> bool:
        """Awarded and neither lapsed nor terminated ("vergeben")."""
        return self.state in AWARDED_STATES

    @property
    def awaiting_sign_off(self) -> bool:
        """Reviewed: the offices have not decided (again, after a reopened decision)."""
        return self.state == ProposalState.REVIEWED


@dataclass
class Ranking:
    call_id: int
    aggregation: str
    scale_max: int
    min_total: int
    budget_cents: int
    criteria: list[dict]
    rows: list[Row]
    committed_cents: int = 0
    proposed_cents: int = 0
    remaining_cents: int = 0
    line_rank: int | None = None  # the first fundable rank that no longer fits
    returned_cents: int = 0
    disagreement_points: float = DISAGREEMENT_POINTS
    tie_rule: str = TIE_RULE
    hidden: frozenset[int] = frozenset()  # the viewer has a conflict with these (or is their applicant)

    def row(self, proposal_id: int) -> Row | None:
        return next((r for r in self.rows if r.proposal_id == proposal_id), None)

    def visible(self, row: Row) -> bool:
        return row.proposal_id not in self.hidden

    def in_decision(self) -> list[Row]:
        """The rows the decision page lists: reviewed, approved or in the standstill."""
        return [r for r in self.rows if r.state in DECIDABLE]

    def open_ties(self) -> list[list[Row]]:
        """The groups still tied after the published tie-break criteria, in ranking order."""
        groups: dict[tuple[int, ...], list[Row]] = {}
        for r in self.rows:
            if r.tie_open:
                groups.setdefault(r.tie_members, []).append(r)
        return list(groups.values())

    def awaiting_award(self) -> list[Row]:
        """The approved rows without an award yet that the viewer may see."""
        return [r for r in self.rows if r.state in AWAITING_AWARD and self.visible(r)]


def _corrected(call, dialect: str):
    """A subquery of each proposal's mean of its review totals corrected for harsh and lenient reviewers
    (columns ``proposal_id``, ``corrected``), computed by the database over every review total of the call.

    Each review total t of a reviewer with mean m and standard deviation sd becomes μ + (t − m) × σ ÷ sd
    (μ, σ: of all review totals of the call), clipped to 0–100: per reviewer that is t × factor + shift with
    factor = σ ÷ sd and shift = μ − m × factor, computed once per reviewer. Reviewers with fewer than
    :data:`MIN_REVIEWS_FOR_CORRECTION` reviews, or whose totals do not vary, keep factor 1 and shift 0."""
    t = Review.total_points
    totals = (
        select(Review.proposal_id.label("proposal_id"), Review.reviewer_id.label("reviewer_id"), t.label("t"))
        .join(ProposalScore, ProposalScore.proposal_id == Review.proposal_id)
        .where(ProposalScore.call_id == call.id, t.is_not(None))
    ).cte("review_totals")
    x = totals.c.t

    def variance():  # population variance, E[x²] − E[x]² (SQLite has no stddev)
        return func.avg(x * x) - func.avg(x) * func.avg(x)

    overall = select(func.avg(x).label("mu"), variance().label("var")).cte("call_totals")
    stats = (
        select(totals.c.reviewer_id, func.count().label("n"), func.avg(x).label("m"), variance().label("var"))
        .group_by(totals.c.reviewer_id)
        .subquery("reviewer_stats")
    )
    correctable = and_(stats.c.n >= MIN_REVIEWS_FOR_CORRECTION, stats.c.var > VARIES)
    factor = func.sqrt(case((overall.c.var > 0, overall.c.var), else_=0.0) / stats.c.var)
    per_reviewer = (
        select(
            stats.c.reviewer_id,
            case((correctable, factor), else_=1.0).label("factor"),
            case((correctable, overall.c.mu - stats.c.m * factor), else_=0.0).label("shift"),
        )
        .select_from(stats.join(overall, true()))
        .cte("reviewer_correction")
        .prefix_with("MATERIALIZED")
    )  # once per reviewer, not per review
    lowest, highest = (func.max, func.min) if dialect == "sqlite" else (func.greatest, func.least)
    value = lowest(0.0, highest(100.0, x * per_reviewer.c.factor + per_reviewer.c.shift))
    return (
        select(totals.c.proposal_id, func.avg(value).label("corrected"))
        .select_from(totals.join(per_reviewer, per_reviewer.c.reviewer_id == totals.c.reviewer_id))
        .group_by(totals.c.proposal_id)
        .subquery("corrected")
    )


def tie_note(row: Row) -> str:
    """How the row's place among equal totals came about (pages, exports, the Vergabevermerk); "" for none."""
    if not row.tie_broken:
        return ""
    if row.tie_open:
        return _("Gleichstand, noch nicht entschieden")
    if row.tie_by == "decision":
        return _("Gleichstand, entschieden durch die Ämter")
    if row.tie_by == "lot":
        return _("Gleichstand, entschieden durch Los")
    return _("Gleichstand, entschieden nach: %(criterion)s", criterion=row.tie_by)


def tie_order(call) -> list[int]:
    """Indexes of the criteria that break ties, in the order the call published (Criterion.tie_rank)."""
    crit = list(call.criteria)
    return sorted((i for i, c in enumerate(crit) if c.tie_rank is not None), key=lambda i: crit[i].tie_rank)


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))


def _resolve_ties(call, ranked: list[Row], order: list[int]) -> list[Row]:
    """Mark each tie of the totals with what decided it (the first tie criterion that differs), group the rows
    still equal after every tie criterion, and put a group in the order its resolved TieBreak recorded; an open
    group shares its first row's rank."""
    resolved = {
        tuple(tb.members): tb
        for tb in db.session.scalars(
            select(TieBreak).where(TieBreak.call_id == call.id, TieBreak.state == TieState.RESOLVED)
        )
    }
    crit = list(call.criteria)
    out: list[Row] = []
    i = 0
    while i < len(ranked):
        j = i + 1
        while j < len(ranked) and _same(ranked[i].total, ranked[j].total):
            j += 1
        block = ranked[i:j]
        if len(block) > 1:
            for a, b in zip(block, block[1:], strict=False):
                a.tie_broken = b.tie_broken = True
                split = next((k for k in order if not _same(a.criteria[k], b.criteria[k])), None)
                if split is not None:
                    b.tie_by = a.tie_by = a.tie_by or crit[split].name
            groups: list[list[Row]] = [[block[0]]]
            for r in block[1:]:
                if all(_same(groups[-1][0].criteria[k], r.criteria[k]) for k in order):
                    groups[-1].append(r)
                else:
                    groups.append([r])
            block = []
            for group in groups:
                if len(group) > 1:
                    members = tuple(sorted(r.proposal_id for r in group))
                    tb = resolved.get(members)
                    if tb is not None:
                        place = {pid: n for n, pid in enumerate(tb.ranked)}
                        group.sort(key=lambda r: place.get(r.proposal_id, len(place)))
                    for r in group:
                        r.tie_members, r.tie_open = members, tb is None
                        r.tie_by = tb.method if tb is not None else None
                block += group
        out += block
        i = j
    for n, r in enumerate(out):
        shared = n and r.tie_open and out[n - 1].tie_members == r.tie_members
        r.rank = out[n - 1].rank if shared else n + 1
    return out


def _compute(call) -> Ranking:
    """The whole ranking of the call (see the module's documentation for every rule).

    The cyclic garbage collector is paused meanwhile: building some 10,000 rows would otherwise set off
    full collections over every object of the process (the rows hold no cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compute_rows(call)
    finally:
        if was_enabled:
            gc.enable()


def _compute_rows(call) -> Ranking:
    """One query: every ranked proposal with its award, its stored aggregate and its corrected score, ordered
    by the database (total, then the tie-break criteria, receipt and file number); the rows here."""
    aggregation = call.score_aggregation if call.score_aggregation in ("mean", "median") else "mean"
    crit = list(call.criteria)
    p, a, ps = Proposal.__table__.c, Award.__table__.c, ProposalScore.__table__.c
    median = aggregation == "median"
    agg_col = ps.medians if median else ps.means
    # each criterion's aggregate as a column of its own: the database reads the JSON, Python gets floats
    agg_values = [agg_col[i].as_float() for i in range(len(crit))]
    total_col, knocked_col = (
        (ps.total_median, ps.knocked_median) if median else (ps.total_mean, ps.knocked_mean)
    )
    corrected = _corrected(call, db.session.get_bind().dialect.name)
    joined = (
        Proposal.__table__.outerjoin(Award.__table__, a.proposal_id == p.id)
        .outerjoin(ProposalScore.__table__, ps.proposal_id == p.id)
        .outerjoin(corrected, corrected.c.proposal_id == p.id)
    )
    order = tie_order(call)
    query = (
        select(
            p.id,
            p.file_number,
            p.file_seq,
            p.title,
            p.applicant_id,
            p.state,
            p.requested_amount_cents,
            p.submitted_at,
            a.amount_cents,
            a.released_cents,
            ps.reviews,
            ps.min_points,
            ps.max_points,
            total_col,
            knocked_col,
            corrected.c.corrected,
            *agg_values,
        )
        .select_from(joined)
        .where(p.call_id == call.id, p.state.in_(RANKED_STATES))
        # a missing score sorts below every score, as in TIE_RULE; rows without a total come last
        .order_by(
            total_col.desc().nulls_last(),
            *[agg_values[i].desc().nulls_last() for i in order],
            func.coalesce(p.file_seq, 0),  # an open tie is listed by file number (it decides nothing)
            p.id,
        )
    )
    knockout = [(c.key, c.knockout_min) for c in crit]
    no_values: list[float | None] = [None] * len(crit)
    min_total = call.min_total
    ranked: list[Row] = []
    unranked: list[Row] = []
    for (
        pid,
        number,
        seq,
        title,
        applicant_id,
        state,
        amount,
        submitted_at,
        awarded,
        released,
        n,
        low,
        high,
        total,
        knocked,
        corr,
        *values,
    ) in db.session.connection().execute(query).all():
        row = Row(
            pid,
            number or f"#{pid}",
            seq or 0,
            title,
            applicant_id,
            state,
            amount,
            (awarded or 0) - (released or 0),
            (released or 0) if state in RETURNED else 0,
            submitted_at,
        )
        if not n:
            row.criteria = no_values
            unranked.append(row)
            continue
        row.reviews, row.criteria = n, values
        if corr is not None:
            row.corrected = round(corr, 2)
        if total is None:
            unranked.append(row)
            continue
        row.total = total
        if knocked:
            row.knockouts = [
                key
                for (key, ko), v in zip(knockout, values, strict=True)
                if ko is not None and v is not None and v < ko
            ]
        row.fundable = total >= min_total and not knocked
        if low is not None:
            row.spread = round(high - low, 2)
            row.disagreement = row.spread >= DISAGREEMENT_POINTS
        ranked.append(row)
    ranked = _resolve_ties(call, ranked, order)
    unranked.sort(key=lambda r: r.file_seq)
    result = Ranking(
        call.id,
        aggregation,
        call.scale_max,
        call.min_total,
        call.budget_cents,
        [{"key": c.key, "name": c.name, "weight": c.weight, "knockout_min": c.knockout_min} for c in crit],
        ranked + unranked,
    )
    _budget_line(result, ranked)
    return result


def data_version(call) -> tuple:
    """What the ranking depends on, read fresh from the database: the call's row version (its settings and
    committed money), the proposals' row versions (states), the number of submitted reviews aggregated, and the
    ties resolved."""
    p, ps, tb = Proposal.__table__.c, ProposalScore.__table__.c, TieBreak.__table__.c
    return tuple(
        db.session.connection()
        .execute(
            select(
                select(Call.__table__.c.row_version).where(Call.__table__.c.id == call.id).scalar_subquery(),
                select(func.count()).where(p.call_id == call.id).scalar_subquery(),
                select(func.coalesce(func.sum(p.row_version), 0))
                .where(p.call_id == call.id)
                .scalar_subquery(),
                select(func.coalesce(func.sum(ps.reviews), 0)).where(ps.call_id == call.id).scalar_subquery(),
                select(func.count())
                .where(tb.call_id == call.id, tb.state == TieState.RESOLVED)
                .scalar_subquery(),
            )
        )
        .one()
    )


def compute_ranking(call, viewer=None, *, cached: bool = True) -> Ranking:
    """The ranking of the call for the viewer (proposals they declared a conflict with, or submitted, are
    marked hidden). The computed ranking is kept per application and call and used again while
    :func:`data_version` is unchanged (a request still reads that version from the database); its rows are
    shared: callers read them, never change them. ``cached=False`` computes afresh and keeps nothing."""
    cache = current_app.extensions.setdefault("foerdercall_rankings", {})
    version = data_version(call) if cached else None
    with _CACHE_LOCK:
        hit = cache.get(call.id) if cached else None
    if hit is not None and hit[0] == version:
        base = hit[1]
    elif not cached:
        base = _compute(call)
    else:
        base = _compute(call)
        with _CACHE_LOCK:
            if len(cache) >= CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[call.id] = (version, base)
    if viewer is None:
        return base
    viewer_id = viewer.id  # once: the viewer may be a proxy (current_user)
    hidden = set(
        db.session.scalars(
            select(ConflictDeclaration.proposal_id).where(
                ConflictDeclaration.user_id == viewer_id, ConflictDeclaration.has_conflict.is_(True)
            )
        )
    )
    hidden |= {r.proposal_id for r in base.rows if r.applicant_id == viewer_id}
    return dataclasses.replace(base, hidden=frozenset(hidden))


def _fill(ranked: list[Row], left: int) -> tuple[set[int], int | None, int, set[int]]:
    """Greedy in ranking order: the proposal ids that fit, the rank of the first that did not, what is left, and
    the open tie that the money left cannot fund whole (its rows wait for the tie's decision, and so does
    everything below: the money they compete for is not given yet)."""
    fits: set[int] = set()
    line = None
    for n, r in enumerate(ranked):
        if not r.fundable or r.state not in DECIDABLE:
            continue
        if r.tie_open and r.proposal_id not in fits:
            group = [
                g
                for g in ranked[n:]
                if g.tie_members == r.tie_members and g.fundable and g.state in DECIDABLE
            ]
            if len(group) > 1 and sum(g.amount_cents for g in group) > left:
                return fits, line if line is not None else r.rank, left, {g.proposal_id for g in group}
        if r.amount_cents <= left:
            fits.add(r.proposal_id)
            left -= r.amount_cents
        elif line is None:
            line = r.rank
    return fits, line, left, set()


def _budget_line(result: Ranking, ranked: list[Row]) -> None:
    committed = sum(r.committed_cents for r in result.rows if r.state in HOLDS_MONEY)
    returned = sum(r.returned_cents for r in result.rows)
    result.committed_cents, result.returned_cents = committed, returned
    fits, line, left, waiting = _fill(ranked, result.budget_cents - committed)
    result.line_rank, result.remaining_cents = line, left
    result.proposed_cents = result.budget_cents - committed - left
    without_returns = _fill(ranked, result.budget_cents - committed - returned)[0] if returned else fits
    cumulative = committed
    for r in ranked:
        if r.state in HOLDS_MONEY and r.state != ProposalState.TERMINATED:
            r.in_funding = True
        elif r.proposal_id in fits:
            r.in_funding = True
            cumulative += r.amount_cents
            r.cumulative_cents = cumulative
            r.below_line = line is not None and r.rank is not None and r.rank > line
            r.moves_up = r.proposal_id not in without_returns
        elif r.proposal_id in waiting:
            r.tie_waits = True
        elif r.fundable and r.state in DECIDABLE:
            r.misses_budget = True

"""The ranking of a call: plain data for the ranking page, the decision view and the exports.

Computed with a fixed number of aggregated queries over the whole call (no per-proposal loads): each
submission refreshes its proposal's aggregate (``proposal_scores``: per-criterion means and medians, the
lowest and highest review total) and the review's own total (``reviews.total_points``), so the ranking reads
one row per proposal; the computed ranking is kept per application and call while its data version
(:func:`data_version`) is unchanged.

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
- **Ties** (:data:`TIE_RULE`): higher total; then the higher score on feasibility, then on economic effect
  (DOMAIN.md), then on the other criteria in order of weight (of equal weights a knock-out criterion first,
  then the catalogue's order); then the earlier receipt; then the lower file number. A tie that had to be
  broken this way is marked, so that the offices can record their own decision instead.
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
import statistics
import threading
from dataclasses import dataclass, field
from operator import itemgetter

from flask import current_app
from sqlalchemy import func, select

from ..awards.models import Award
from ..calls.models import Call
from ..extensions import db
from ..proposals.models import Proposal
from ..reviews.models import ConflictDeclaration, Review
from ..timeutil import now
from .models import ProposalScore

DISAGREEMENT_POINTS = 25.0
MIN_REVIEWS_FOR_CORRECTION = 3
TIE_KEYS = ("feasibility", "economic_effect")  # DOMAIN.md: "higher score on feasibility, then on economic effect"
TIE_RULE = ("higher total; then higher score on feasibility, then on economic effect, then on the other "
            "criteria by weight (of equal weights a knock-out criterion first, then the catalogue's order); then "
            "earlier receipt; then lower file number")
# States shown in the ranking (the review has started); the rest never had scores.
RANKED_STATES = ("in_review", "reviewed", "approved", "standstill", "rejected", "awarded", "lapsed",
                 "in_implementation", "final_report_submitted", "completed", "terminated", "withdrawn")
DECIDABLE = ("reviewed", "approved", "standstill")  # may enter the funding proposal
HOLDS_MONEY = ("awarded", "in_implementation", "final_report_submitted", "completed", "terminated")
RETURNED = ("lapsed", "terminated")
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
    tie_broken: bool = False
    in_funding: bool = False  # proposed (or already awarded)
    below_line: bool = False  # proposed although a better one did not fit (fits the rest)
    misses_budget: bool = False  # fundable, decidable, but does not fit what is left
    cumulative_cents: int | None = None
    moves_up: bool = False

    @property
    def knocked_out(self) -> bool:
        return bool(self.knockouts)


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


def summarize(weights: list[int], scale_max: int, reviews: list[list[int | None]]):
    """The aggregate of a proposal's submitted reviews, each a list of scores in catalogue order (None: not
    applicable): (per-criterion means, per-criterion medians, each review's weighted total 0–100 or None)."""
    columns = [[r[i] for r in reviews if r[i] is not None] for i in range(len(weights))]
    means = [sum(c) / len(c) if c else None for c in columns]
    medians = [float(statistics.median(c)) if c else None for c in columns]
    totals = []
    for r in reviews:
        w = sum(weights[i] for i, v in enumerate(r) if v is not None)
        totals.append(sum(weights[i] * v for i, v in enumerate(r) if v is not None) / w / scale_max * 100
                      if w else None)
    return means, medians, totals


def refresh_scores(p) -> ProposalScore:
    """Recompute the proposal's aggregate and its reviews' totals (after a review was submitted)."""
    call = p.call
    reviews = db.session.scalars(select(Review).where(Review.proposal_id == p.id,
                                                      Review.submitted_at.is_not(None)).order_by(Review.id)).all()
    ids = [c.id for c in call.criteria]
    vectors = []
    for r in reviews:
        by_criterion = {s.criterion_id: s.score for s in r.scores}
        vectors.append([by_criterion.get(cid) for cid in ids])
    means, medians, totals = summarize([c.weight for c in call.criteria], call.scale_max, vectors)
    for r, t in zip(reviews, totals, strict=True):
        r.total_points = t
    known = [t for t in totals if t is not None]
    row = db.session.get(ProposalScore, p.id) or ProposalScore(proposal_id=p.id, call_id=p.call_id)
    row.reviews, row.means, row.medians, row.updated_at = len(reviews), means, medians, now()
    row.min_points, row.max_points = (min(known), max(known)) if known else (None, None)
    db.session.add(row)
    db.session.flush()
    return row


def _corrected(conn, call) -> dict[int, float]:
    """Each proposal's mean of its review totals corrected for harsh and lenient reviewers (proposal id →
    corrected score); empty when the call has no review totals.

    One query reads every review total of the call; each reviewer's mean and standard deviation, those of all
    review totals, and the corrected means per proposal are computed from it here (a join on a table of
    per-reviewer factors would cost the database more than these few arithmetic operations cost Python)."""
    t = Review.total_points
    reviews = conn.execute(select(Review.proposal_id, Review.reviewer_id, t)
                           .join(ProposalScore, ProposalScore.proposal_id == Review.proposal_id)
                           .where(ProposalScore.call_id == call.id, t.is_not(None))).all()
    if not reviews:
        return {}
    per_reviewer: dict[int, list[float]] = {}
    for _pid, rid, total in reviews:
        per_reviewer.setdefault(rid, []).append(total)
    n_all = len(reviews)
    mu = sum(total for _p, _r, total in reviews) / n_all
    sigma = math.sqrt(max(0.0, sum(total * total for _p, _r, total in reviews) / n_all - mu * mu))
    correction: dict[int, tuple[float, float]] = {}  # reviewer → (their mean, factor)
    for rid, totals in per_reviewer.items():
        n = len(totals)
        m = sum(totals) / n
        sd = math.sqrt(max(0.0, sum(x * x for x in totals) / n - m * m))
        if n >= MIN_REVIEWS_FOR_CORRECTION and sd > 1e-9:
            correction[rid] = (m, sigma / sd)
    sums: dict[int, list[float]] = {}
    for pid, rid, total in reviews:
        if rid in correction:
            m, factor = correction[rid]
            total = min(100.0, max(0.0, mu + (total - m) * factor))
        acc = sums.get(pid)
        if acc is None:
            sums[pid] = [total, 1]
        else:
            acc[0] += total
            acc[1] += 1
    return {pid: acc[0] / acc[1] for pid, acc in sums.items()}


def tie_order(call) -> list[int]:
    """Indexes of the criteria in the order ties are broken: the criteria DOMAIN.md names (feasibility, then
    economic effect) when the catalogue has them, then the others by weight (knock-out first, catalogue order)."""
    crit = list(call.criteria)
    named = {c.key: i for i, c in enumerate(crit)}
    first = [named[key] for key in TIE_KEYS if key in named]
    rest = sorted((i for i in range(len(crit)) if i not in first),
                  key=lambda i: (-crit[i].weight, crit[i].knockout_min is None, i))
    return first + rest


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
    aggregation = call.score_aggregation if call.score_aggregation in ("mean", "median") else "mean"
    crit = list(call.criteria)
    p, a, ps = Proposal.__table__.c, Award.__table__.c, ProposalScore.__table__.c
    conn = db.session.connection()
    agg_col = ps.medians if aggregation == "median" else ps.means
    # each criterion's aggregate as a column of its own: the database reads the JSON, Python gets floats
    agg_values = [agg_col[i].as_float() for i in range(len(crit))]
    rows: list[Row] = []
    keyed: list[tuple] = []  # (sort key, row) of the rows with a total
    weights_total = [c.weight for c in crit]
    knockout = [(c.key, c.knockout_min) for c in crit]
    no_values = [None] * len(crit)
    scale, min_total = call.scale_max, call.min_total
    order = tie_order(call)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    corrected = _corrected(conn, call)
    joined = (Proposal.__table__.outerjoin(Award.__table__, a.proposal_id == p.id)
              .outerjoin(ProposalScore.__table__, ps.proposal_id == p.id))
    for (pid, number, seq, title, applicant_id, state, amount, submitted_at, awarded, released, n,
         low, high, *values) in conn.execute(
            select(p.id, p.file_number, p.file_seq, p.title, p.applicant_id, p.state, p.requested_amount_cents,
                   p.submitted_at, a.amount_cents, a.released_cents, ps.reviews, ps.min_points, ps.max_points,
                   *agg_values)
            .select_from(joined).where(p.call_id == call.id, p.state.in_(RANKED_STATES))).all():
        row = Row(pid, number or f"#{pid}", seq or 0, title, applicant_id, state, amount,
                  (awarded or 0) - (released or 0), (released or 0) if state in RETURNED else 0, submitted_at)
        rows.append(row)
        if not n:
            row.criteria = no_values
            continue
        row.reviews, row.criteria = n, values
        corr = corrected.get(pid)
        if corr is not None:
            row.corrected = round(corr, 2)
        weighted = weights = 0.0
        for w, v in zip(weights_total, values, strict=True):
            if v is not None:
                weighted += w * v
                weights += w
        if not weights:
            continue
        row.total = total = round(weighted / scale / weights * 100, 2)
        row.knockouts = [key for (key, ko), v in zip(knockout, values, strict=True)
                         if ko is not None and v is not None and v < ko]
        row.fundable = total >= min_total and not row.knockouts
        if low is not None:
            row.spread = round(high - low, 2)
            row.disagreement = row.spread >= DISAGREEMENT_POINTS
        keyed.append(((-total, *[-(values[i] if values[i] is not None else -1.0) for i in order],
                       submitted_at or far, row.file_seq), row))
    keyed.sort(key=itemgetter(0))
    ranked = [r for _k, r in keyed]
    for i, r in enumerate(ranked, start=1):
        r.rank = i
        if i > 1 and math.isclose(ranked[i - 2].total, r.total):
            r.tie_broken = True
            ranked[i - 2].tie_broken = True
    unranked = sorted((r for r in rows if r.total is None), key=lambda r: r.file_seq)
    result = Ranking(call.id, aggregation, call.scale_max, call.min_total, call.budget_cents,
                     [{"key": c.key, "name": c.name, "weight": c.weight, "knockout_min": c.knockout_min}
                      for c in crit], ranked + unranked)
    _budget_line(result, ranked)
    return result


def data_version(call) -> tuple:
    """What the ranking depends on, read fresh from the database: the call's row version (its settings and
    committed money), the proposals' row versions (states), and the number of submitted reviews aggregated."""
    p, ps = Proposal.__table__.c, ProposalScore.__table__.c
    return tuple(db.session.connection().execute(select(
        select(Call.__table__.c.row_version).where(Call.__table__.c.id == call.id).scalar_subquery(),
        select(func.count()).where(p.call_id == call.id).scalar_subquery(),
        select(func.coalesce(func.sum(p.row_version), 0)).where(p.call_id == call.id).scalar_subquery(),
        select(func.coalesce(func.sum(ps.reviews), 0)).where(ps.call_id == call.id).scalar_subquery(),
    )).one())


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
    hidden = set(db.session.scalars(select(ConflictDeclaration.proposal_id).where(
        ConflictDeclaration.user_id == viewer_id, ConflictDeclaration.has_conflict.is_(True))))
    hidden |= {r.proposal_id for r in base.rows if r.applicant_id == viewer_id}
    return dataclasses.replace(base, hidden=frozenset(hidden))


def _fill(ranked: list[Row], left: int) -> tuple[set[int], int | None, int]:
    """Greedy in ranking order: the proposal ids that fit, the rank of the first that did not, what is left."""
    fits, line = set(), None
    for r in ranked:
        if not r.fundable or r.state not in DECIDABLE:
            continue
        if r.amount_cents <= left:
            fits.add(r.proposal_id)
            left -= r.amount_cents
        elif line is None:
            line = r.rank
    return fits, line, left


def _budget_line(result: Ranking, ranked: list[Row]) -> None:
    committed = sum(r.committed_cents for r in result.rows if r.state in HOLDS_MONEY)
    returned = sum(r.returned_cents for r in result.rows)
    result.committed_cents, result.returned_cents = committed, returned
    fits, line, left = _fill(ranked, result.budget_cents - committed)
    result.line_rank, result.remaining_cents = line, left
    result.proposed_cents = result.budget_cents - committed - left
    without_returns = _fill(ranked, result.budget_cents - committed - returned)[0] if returned else fits
    cumulative = committed
    for r in ranked:
        if r.state in HOLDS_MONEY and r.state != "terminated":
            r.in_funding = True
        elif r.proposal_id in fits:
            r.in_funding = True
            cumulative += r.amount_cents
            r.cumulative_cents = cumulative
            r.below_line = line is not None and r.rank > line
            r.moves_up = r.proposal_id not in without_returns
        elif r.fundable and r.state in DECIDABLE:
            r.misses_budget = True

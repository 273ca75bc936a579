"""A proposal's scores, written with each submitted review: the per-criterion means and medians, the weighted
totals and knock-outs (``proposal_scores``) and each review's own total, which the ranking
(foerdercall.ranking.service) reads."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from sqlalchemy import select

from ..extensions import db
from ..reviews.models import Review
from ..timeutil import now
from .models import ProposalScore


def summarize(weights: list[int], scale_max: int, reviews: list[list[int | None]]):
    """The aggregate of a proposal's submitted reviews, each a list of scores in catalogue order (None: not
    applicable): (per-criterion means, per-criterion medians, each review's weighted total 0–100 or None)."""
    columns = [[v for r in reviews if (v := r[i]) is not None] for i in range(len(weights))]
    means = [sum(c) / len(c) if c else None for c in columns]
    medians = [float(statistics.median(c)) if c else None for c in columns]
    return means, medians, [weighted_total(weights, scale_max, r, digits=None) for r in reviews]


def weighted_total(
    weights: list[int], scale_max: int, values: Sequence[float | None], digits: int | None = 2
) -> float | None:
    """Σ weight × (score ÷ scale maximum) ÷ Σ weight of the criteria with a score × 100; None without any score."""
    weighted = sum(w * v for w, v in zip(weights, values, strict=True) if v is not None)
    w = sum(w for w, v in zip(weights, values, strict=True) if v is not None)
    if not w:
        return None
    total = weighted / w / scale_max * 100
    return total if digits is None else round(total, digits)


def knocked_out(minimums: list[int | None], values: list[float | None]) -> bool:
    """Whether an aggregated score is below its criterion's knock-out minimum."""
    return any(ko is not None and v is not None and v < ko for ko, v in zip(minimums, values, strict=True))


def refresh_scores(p) -> ProposalScore:
    """Recompute the proposal's aggregate and its reviews' totals (after a review was submitted)."""
    call = p.call
    reviews = db.session.scalars(
        select(Review).where(Review.proposal_id == p.id, Review.submitted_at.is_not(None)).order_by(Review.id)
    ).all()
    ids = [c.id for c in call.criteria]
    weights = [c.weight for c in call.criteria]
    minimums = [c.knockout_min for c in call.criteria]
    vectors = []
    for r in reviews:
        by_criterion = {s.criterion_id: s.score for s in r.scores}
        vectors.append([by_criterion.get(cid) for cid in ids])
    means, medians, totals = summarize(weights, call.scale_max, vectors)
    for r, t in zip(reviews, totals, strict=True):
        r.total_points = t
    known = [t for t in totals if t is not None]
    row = db.session.get(ProposalScore, p.id) or ProposalScore(proposal_id=p.id, call_id=p.call_id)
    row.reviews, row.means, row.medians, row.updated_at = len(reviews), means, medians, now()
    row.min_points, row.max_points = (min(known), max(known)) if known else (None, None)
    row.total_mean = weighted_total(weights, call.scale_max, means)
    row.total_median = weighted_total(weights, call.scale_max, medians)
    row.knocked_mean, row.knocked_median = knocked_out(minimums, means), knocked_out(minimums, medians)
    db.session.add(row)
    db.session.flush()
    return row

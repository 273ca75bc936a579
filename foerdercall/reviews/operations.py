"""Neutrality, conflicts, reviewer assignment and scoring."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ..access import conflict_declared, has_conflict, neutrality_signed
from ..accounts.models import User
from ..audit.operations import record
from ..errors import ActionRefused
from ..extensions import db
from ..proposals.models import Proposal
from ..timeutil import now
from ..workflow.engine import fire, lock
from .models import ConflictDeclaration, NeutralityDeclaration, Review, ReviewScore


def sign_neutrality(call, user) -> NeutralityDeclaration:
    existing = db.session.scalar(select(NeutralityDeclaration).where(
        NeutralityDeclaration.user_id == user.id, NeutralityDeclaration.call_id == call.id))
    if existing:
        return existing
    decl = NeutralityDeclaration(user_id=user.id, call_id=call.id, signed_at=now())
    db.session.add(decl)
    db.session.flush()
    record(user, "sign_neutrality", call)
    return decl


def declare_conflict(p: Proposal, user, has_conflict_: bool, reason: str = "") -> ConflictDeclaration:
    """Declared once per person and proposal, before seeing it; a conflict ends the person's part in it."""
    if not neutrality_signed(user, p.call_id):
        raise ActionRefused(_("Bitte unterzeichnen Sie zuerst die Neutralitätserklärung des Aufrufs."))
    if conflict_declared(user, p) is not None:
        raise ActionRefused(_("Sie haben für dieses Angebot bereits eine Erklärung abgegeben."))
    if has_conflict_ and not (reason or "").strip():
        raise ActionRefused(_("Bitte nennen Sie den Grund des Interessenkonflikts."))
    decl = ConflictDeclaration(user_id=user.id, proposal_id=p.id, has_conflict=has_conflict_,
                               reason=reason or "", declared_at=now())
    db.session.add(decl)
    if has_conflict_:
        review = db.session.scalar(select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == user.id))
        if review is not None and review.submitted_at is None:
            db.session.delete(review)
    db.session.flush()
    record(user, "declare_conflict", p, reason=reason, data={"has_conflict": has_conflict_})
    return decl


def assign_reviewer(p: Proposal, reviewer: User, actor) -> Review:
    p = lock(p)
    if p.state not in ("eligible", "in_review"):
        raise ActionRefused(_("Gutachter können nur formal geprüften Angeboten zugewiesen werden."))
    if has_conflict(actor, p) or p.applicant_id == actor.id:
        raise ActionRefused(_("Sie haben einen Interessenkonflikt mit diesem Angebot."))
    if not reviewer.has_role("reviewer") or not reviewer.active:
        raise ActionRefused(_("Diese Person ist nicht als Gutachter/in freigeschaltet."))
    if reviewer.id == p.applicant_id or has_conflict(reviewer, p):
        raise ActionRefused(_("Diese Person hat einen Interessenkonflikt mit dem Angebot."))
    if db.session.scalar(select(Review.id).where(Review.proposal_id == p.id, Review.reviewer_id == reviewer.id)):
        raise ActionRefused(_("Diese Person ist bereits zugewiesen."))
    review = Review(proposal_id=p.id, reviewer_id=reviewer.id, assigned_by_id=actor.id, assigned_at=now())
    db.session.add(review)
    db.session.flush()
    record(actor, "assign_reviewer", p, data={"reviewer": reviewer.name})
    return review


def save_review(review: Review, actor, scores: dict[int, tuple[int | None, str]], *, submit: bool) -> Review:
    """Store the scores; on submit every criterion needs a score (or "not applicable") and a justification."""
    # The proposal first: two reviewers submitting the last reviews at once are serialised, so the
    # second sees the first's review as in and moves the proposal on (else it stays in review).
    p = lock(review.proposal)
    review = lock(review)
    if review.reviewer_id != actor.id:
        raise ActionRefused(_("Dieses Gutachten ist nicht Ihres."))
    if review.submitted_at is not None:
        raise ActionRefused(_("Das Gutachten ist bereits abgegeben."))
    if p.state != "in_review":
        raise ActionRefused(_("Das Angebot ist nicht in der Begutachtung."))
    decl = conflict_declared(actor, p)
    if decl is None or decl.has_conflict:
        raise ActionRefused(_("Bitte erklären Sie zuerst, dass kein Interessenkonflikt besteht."))
    call = p.call
    by_criterion = {s.criterion_id: s for s in review.scores}
    problems = []
    for c in call.criteria:
        score, justification = scores.get(c.id, (None, ""))
        justification = (justification or "").strip()
        if score is not None and not 0 <= score <= call.scale_max:
            raise ActionRefused(_("Die Punkte müssen zwischen 0 und %(max)s liegen.", max=call.scale_max))
        if submit and not justification:
            problems.append(c.name)
        row = by_criterion.get(c.id)
        if row is None:
            row = ReviewScore(criterion_id=c.id)
            review.scores.append(row)
        row.score, row.justification = score, justification
    if problems:
        raise ActionRefused(_("Bitte begründen Sie jede Bewertung: %(names)s.", names="; ".join(problems)))
    if submit:
        review.submitted_at = now()
        review.call_version = call.version
    db.session.flush()
    if submit:
        record(actor, "submit_review", p, data={
            "review": review.id,
            "scores": {s.criterion.key: {"score": s.score, "justification": s.justification} for s in review.scores},
        })
        pending = db.session.scalar(select(Review.id).where(Review.proposal_id == p.id,
                                                            Review.submitted_at.is_(None)))
        if pending is None:
            fire(p, "finish_review", None)
    return review


@dataclass
class CriterionResult:
    criterion: object
    mean: float | None  # None: every reviewer marked it not applicable
    spread: int | None
    knocked_out: bool


@dataclass
class Result:
    total: float | None  # weighted, normalised to 0..100
    criteria: list[CriterionResult]
    reviews: int
    knocked_out: bool
    fundable: bool


def score_proposal(p: Proposal) -> Result:
    """Weighted mean of the submitted reviews. "Not applicable" is left out of the mean, never a zero;
    a criterion no reviewer could score leaves the total, whose weights are renormalised."""
    call = p.call
    reviews = db.session.scalars(select(Review).where(Review.proposal_id == p.id,
                                                      Review.submitted_at.is_not(None))).all()
    results, weighted, weights = [], 0.0, 0
    for c in call.criteria:
        values = [s.score for r in reviews for s in r.scores if s.criterion_id == c.id and s.score is not None]
        mean = sum(values) / len(values) if values else None
        ko = c.knockout_min is not None and mean is not None and mean < c.knockout_min
        results.append(CriterionResult(c, mean, (max(values) - min(values)) if values else None, ko))
        if mean is not None:
            weighted += c.weight * mean / call.scale_max
            weights += c.weight
    total = round(weighted / weights * 100, 2) if weights else None
    knocked = any(r.knocked_out for r in results)
    return Result(total, results, len(reviews), knocked,
                  fundable=total is not None and total >= call.min_total and not knocked)

"""Neutrality, conflicts, reviewer assignment and scoring."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from workflows import ProposalState
from workflows.proposal import BEFORE_REVIEW

from ..accounts.models import RoleGrant, User
from ..audit.trail import record
from ..calls.models import Criterion
from ..errors import ActionRefused
from ..extensions import db
from ..locking import lock
from ..mail.operations import queue_mail
from ..policy import check, refusal
from ..proposals.models import Proposal
from ..ranking.scores import refresh_scores
from ..timeutil import now
from ..urls import external_url
from ..workflow.engine import fire
from .models import ConflictDeclaration, NeutralityDeclaration, Review, ReviewDecline, ReviewScore
from .queries import conflict_declared, deciding_officials, has_conflict, neutrality_signed

DECLINE_KINDS = ("conflict", "workload", "other")


def sign_neutrality(call, user) -> NeutralityDeclaration:
    existing = db.session.scalar(
        select(NeutralityDeclaration).where(
            NeutralityDeclaration.user_id == user.id, NeutralityDeclaration.call_id == call.id
        )
    )
    if existing:
        return existing
    decl = NeutralityDeclaration(user_id=user.id, call_id=call.id, signed_at=now())
    db.session.add(decl)
    db.session.flush()
    record(user, "sign_neutrality", call)
    return decl


def declare_conflict(p: Proposal, user, has_conflict_: bool, reason: str = "") -> ConflictDeclaration:
    """Declared once per person and proposal, before seeing it; a conflict ends the person's part in it. A
    conflict recognised later still counts: it replaces an earlier "no conflict" (both stay in the audit)."""
    if not neutrality_signed(user, p.call_id):
        raise ActionRefused(_("Bitte unterzeichnen Sie zuerst die Neutralitätserklärung des Aufrufs."))
    decl = conflict_declared(user, p)
    if decl is not None and (decl.has_conflict or not has_conflict_):
        raise ActionRefused(_("Sie haben für dieses Angebot bereits eine Erklärung abgegeben."))
    if has_conflict_ and not (reason or "").strip():
        raise ActionRefused(_("Bitte nennen Sie den Grund des Interessenkonflikts."))
    if decl is None:
        decl = ConflictDeclaration(user_id=user.id, proposal_id=p.id)
        db.session.add(decl)
    decl.has_conflict, decl.reason, decl.declared_at = has_conflict_, reason or "", now()
    if has_conflict_:
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == user.id)
        )
        if review is not None and review.submitted_at is None:
            db.session.delete(review)
            _tell_officials_of_gap(p, user, "conflict", reason or "", f"conflict:{p.id}:{user.id}")
    db.session.flush()
    record(user, "declare_conflict", p, reason=reason, data={"has_conflict": has_conflict_})
    if has_conflict_:
        finish_if_complete(p)
    return decl


def finish_if_complete(p: Proposal) -> None:
    """A review left (a conflict, a decline, a replacement): if the rest are all in and as many as the call asks
    for, the review is finished now (else the officials see the gap in their task list)."""
    if p.state == ProposalState.IN_REVIEW and refusal(None, "finish_review", p) is None:
        fire(p, "finish_review", None)


def assign_reviewer(p: Proposal, reviewer: User, actor, *, start: bool = False) -> Review:
    """An official assigns a reviewer; ``start``: and starts the review of an eligible proposal with it."""
    p = lock(p)
    check(actor, "proposal.assign_reviewer", p)
    if not reviewer.has_role("reviewer") or not reviewer.active:
        raise ActionRefused(_("Diese Person ist nicht als Gutachter/in freigeschaltet."))
    if reviewer.id == p.applicant_id or has_conflict(reviewer, p):
        raise ActionRefused(_("Diese Person hat einen Interessenkonflikt mit dem Angebot."))
    if db.session.scalar(
        select(Review.id).where(Review.proposal_id == p.id, Review.reviewer_id == reviewer.id)
    ):
        raise ActionRefused(_("Diese Person ist bereits zugewiesen."))
    if db.session.scalar(
        select(ReviewDecline.id).where(
            ReviewDecline.proposal_id == p.id, ReviewDecline.reviewer_id == reviewer.id
        )
    ):
        raise ActionRefused(_("Diese Person hat die Begutachtung dieses Angebots abgelehnt."))
    review = _add_review(p, reviewer, actor)
    if start and p.state == ProposalState.ELIGIBLE:
        fire(p, "start_review", actor)
    return review


def _add_review(p: Proposal, reviewer: User, actor, *, how: str = "manual") -> Review:
    """The assignment itself: an open decline of the proposal counts as replaced; a reviewer added to a
    proposal already in review is told at once (start_review tells the first ones)."""
    review = Review(proposal_id=p.id, reviewer_id=reviewer.id, assigned_by_id=actor.id, assigned_at=now())
    db.session.add(review)
    for d in db.session.scalars(
        select(ReviewDecline).where(ReviewDecline.proposal_id == p.id, ReviewDecline.reassigned_at.is_(None))
    ):
        d.reassigned_at = now()
    db.session.flush()
    record(actor, "assign_reviewer", p, data={"reviewer": reviewer.name, "how": how})
    if p.state == ProposalState.IN_REVIEW:
        queue_mail("review_assigned", reviewer, f"proposal:{p.id}", proposal=p, call=p.call, now=now())
    return review


def needs_justification(call, score: int | None) -> bool:
    """Every score needs a justification; a call may ask for it only at the ends of the scale (and for
    "not applicable"), where a score decides most (a knock-out, a top mark)."""
    return call.justify_every_score or score is None or score in (0, call.scale_max)


def _own_open_review(review: Review, actor) -> tuple[Proposal, Review]:
    """Lock the proposal, then the review (the order every review operation takes: two reviewers finishing at
    once are serialised); only its reviewer acts on it, and only before it is submitted."""
    p = lock(review.proposal)
    review = lock(review)
    if review.reviewer_id != actor.id:
        raise ActionRefused(_("Dieses Gutachten ist nicht Ihres."))
    if review.submitted_at is not None:
        raise ActionRefused(_("Das Gutachten ist bereits abgegeben."))
    return p, review


def save_review(review: Review, actor, scores: dict[int, tuple[int | None, str]], *, submit: bool) -> Review:
    """Store the scores; on submit every criterion needs a score (or "not applicable") and a justification."""
    # The proposal first: two reviewers submitting the last reviews at once are serialised, so the
    # second sees the first's review as in and moves the proposal on (else it stays in review).
    p, review = _own_open_review(review, actor)
    if p.state != ProposalState.IN_REVIEW:
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
        if submit and not justification and needs_justification(call, score):
            problems.append(c.name)
        row = by_criterion.get(c.id)
        if row is None:
            row = ReviewScore(criterion_id=c.id)
            review.scores.append(row)
        row.score, row.justification = score, justification
    if problems:
        if call.justify_every_score:
            raise ActionRefused(
                _("Bitte begründen Sie jede Bewertung: %(names)s.", names="; ".join(problems))
            )
        raise ActionRefused(
            _(
                "Bitte begründen Sie jede Bewertung am Rand der Skala (0 oder %(max)s) und "
                "jedes „nicht anwendbar“: %(names)s.",
                max=call.scale_max,
                names="; ".join(problems),
            )
        )
    if submit:
        review.submitted_at = now()
        review.call_version = call.version
    db.session.flush()
    if submit:
        refresh_scores(p)
        record(
            actor,
            "submit_review",
            p,
            data={
                "review": review.id,
                "scores": {
                    s.criterion.key: {"score": s.score, "justification": s.justification}
                    for s in review.scores
                },
            },
        )
        finish_if_complete(p)
    return review


def decline_review(review: Review, actor, kind: str, reason: str = "") -> ReviewDecline:
    """The reviewer gives an assignment back (conflict of interest, workload, other) before submitting it.

    The assignment ends (like a declared conflict), the decline is kept with its reason, the officials are
    told by mail and reassign (by hand or with the automatic assignment, which never picks them again)."""
    p, review = _own_open_review(review, actor)
    if kind not in DECLINE_KINDS:
        raise ActionRefused(_("Bitte wählen Sie einen Grund."))
    reason = (reason or "").strip()
    if kind != "workload" and not reason:
        raise ActionRefused(_("Bitte nennen Sie den Grund."))
    decline = ReviewDecline(
        proposal_id=p.id, reviewer_id=actor.id, kind=kind, reason=reason, declined_at=now()
    )
    db.session.add(decline)
    if kind == "conflict" and conflict_declared(actor, p) is None:
        db.session.add(
            ConflictDeclaration(
                user_id=actor.id, proposal_id=p.id, has_conflict=True, reason=reason, declared_at=now()
            )
        )
    db.session.delete(review)
    db.session.flush()
    record(actor, "decline_review", p, reason=reason, data={"kind": kind, "reviewer": actor.name})

    _tell_officials_of_gap(p, actor, kind, reason, f"decline:{decline.id}")
    finish_if_complete(p)
    return decline


def _tell_officials_of_gap(p: Proposal, reviewer, kind: str, reason: str, key: str) -> None:
    """A review was given back (declined, or a conflict declared after the assignment): the deciding offices'
    officials who want a mail each time are told; the others see it in their task list."""
    for o in deciding_officials(p, notify_mode="immediate"):
        queue_mail(
            "review_declined",
            o,
            key,
            proposal=p,
            call=p.call,
            reviewer=reviewer,
            decline_kind=kind,
            reason=reason,
            link=external_url("proposals.detail", proposal_id=p.id),
        )


def replace_reviewer(review: Review, actor, reason: str, new_reviewer: User | None = None) -> Review | None:
    """A reviewer drops out (ill, left): an official ends the open assignment, with a reason, and gives it
    to another reviewer (the given one, else the least loaded eligible one)."""
    p = lock(review.proposal)
    review = lock(review)
    check(actor, "proposal.handle", p)
    if review.submitted_at is not None:
        raise ActionRefused(_("Das Gutachten ist bereits abgegeben."))
    if not (reason or "").strip():
        raise ActionRefused(_("Bitte geben Sie eine Begründung an."))
    old = review.reviewer
    if new_reviewer is None:
        plan = plan_assignments(p.call, [p], extra={p.id: 1}, exclude={p.id: {old.id}})
        ids = plan.assignments.get(p.id, [])
        if not ids:
            raise ActionRefused(
                _(
                    "Es gibt keine weitere geeignete Gutachterin und keinen weiteren geeigneten "
                    "Gutachter ohne Interessenkonflikt."
                )
            )
        new_reviewer = db.session.get_one(User, ids[0])
    if new_reviewer.id == old.id:
        raise ActionRefused(_("Diese Person ist bereits zugewiesen."))
    db.session.delete(review)
    db.session.flush()
    record(actor, "withdraw_assignment", p, reason=reason, data={"reviewer": old.name})
    return assign_reviewer(p, new_reviewer, actor)


# --- automatic assignment --------------------------------------------------------------------------------


@dataclass
class Plan:
    assignments: dict[int, list[int]] = field(default_factory=dict)  # proposal id -> new reviewer ids
    short: dict[int, int] = field(default_factory=dict)  # proposal id -> reviewers still missing
    office_missing: dict[int, list[str]] = field(default_factory=dict)  # proposal id -> offices not covered


def reviewer_pool() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(RoleGrant)
            .where(RoleGrant.role == "reviewer", User.active.is_(True))
            .order_by(User.id)
        )
    )


def plan_assignments(
    call, proposals, *, extra: dict[int, int] | None = None, exclude: dict[int, set[int]] | None = None
) -> Plan:
    """Who reviews what, computed in memory (nothing written).

    Each proposal gets ``call.reviewers_per_proposal`` reviewers in all (those already assigned count;
    ``extra`` asks for more); never its applicant, a person who declared a conflict with it or declined it.
    With ``call.reviewer_from_each_office`` every deciding office has at least one reviewer of its own.
    Load is balanced over the call: the most constrained proposals are served first, each time by the
    least loaded eligible reviewers (ties: the lower id), and a repair pass then moves new assignments from
    the most to the least loaded reviewer while that keeps every rule, so that the loads of the eligible
    reviewers differ by at most one wherever the conflicts allow it.
    """
    pool = reviewer_pool()
    by_id = {u.id: u for u in pool}
    ids = [p.id for p in proposals]
    plan = Plan()
    if not ids or not pool:
        return plan
    offices = tuple(call.deciding_offices) if call.reviewer_from_each_office else ()
    load: dict[int, int] = defaultdict(int)
    for reviewer_id, n in db.session.execute(
        select(Review.reviewer_id, func.count(Review.id))
        .join(Proposal, Proposal.id == Review.proposal_id)
        .where(Proposal.call_id == call.id)
        .group_by(Review.reviewer_id)
    ):
        load[reviewer_id] = n
    current: dict[int, set[int]] = defaultdict(set)
    blocked: dict[int, set[int]] = defaultdict(set)
    for pid, rid in db.session.execute(
        select(Review.proposal_id, Review.reviewer_id).where(Review.proposal_id.in_(ids))
    ):
        current[pid].add(rid)
    for pid, uid in db.session.execute(
        select(ConflictDeclaration.proposal_id, ConflictDeclaration.user_id).where(
            ConflictDeclaration.proposal_id.in_(ids), ConflictDeclaration.has_conflict.is_(True)
        )
    ):
        blocked[pid].add(uid)
    for pid, uid in db.session.execute(
        select(ReviewDecline.proposal_id, ReviewDecline.reviewer_id).where(ReviewDecline.proposal_id.in_(ids))
    ):
        blocked[pid].add(uid)
    for pid, uids in (exclude or {}).items():
        blocked[pid] |= uids
    applicant = {p.id: p.applicant_id for p in proposals}

    def eligible(pid: int) -> list[int]:
        return [
            u.id
            for u in pool
            if u.id != applicant[pid] and u.id not in blocked[pid] and u.id not in current[pid]
        ]

    need = {}
    for p in proposals:
        n = (extra or {}).get(p.id, call.reviewers_per_proposal - len(current[p.id]))
        if n > 0:
            need[p.id] = n
    order = sorted(need, key=lambda pid: (len(eligible(pid)), pid))
    new: dict[int, list[int]] = defaultdict(list)
    for pid in order:
        for _i in range(need[pid]):
            cands = eligible(pid)
            have_offices = {by_id[r].office for r in current[pid] if r in by_id}
            missing = [o for o in offices if o not in have_offices]
            office_cands = [c for c in cands if by_id[c].office in missing]
            pick_from = office_cands or cands
            if not pick_from:
                plan.short[pid] = need[pid] - len(new[pid])
                break
            rid = min(pick_from, key=lambda r: (load[r], r))
            current[pid].add(rid)
            new[pid].append(rid)
            load[rid] += 1

    def office_ok(pid: int, without: int, with_: int) -> bool:
        if not offices:
            return True
        have = {by_id[r].office for r in current[pid] - {without} if r in by_id} | {by_id[with_].office}
        before = {by_id[r].office for r in current[pid] if r in by_id}
        return all(o in have for o in offices if o in before)

    # repair: move new assignments along a chain of reviewers (u's assignment to v, v's to w, ...) from a
    # most loaded to a reviewer with at least two fewer, or from one with at least two more to a least
    # loaded one, while such a chain exists (each chain lowers the spread of the loads)
    def movable(u: int, v: int, pid: int) -> bool:
        return (
            v not in current[pid] and v not in blocked[pid] and v != applicant[pid] and office_ok(pid, u, v)
        )

    def chain(sources: set[int], targets: set[int]) -> list[tuple[int, int, int]] | None:
        back: dict[int, tuple[int, int] | None] = {s: None for s in sources}
        queue = list(sources)
        while queue:
            u = queue.pop(0)
            for pid, rids in new.items():
                if u not in rids:
                    continue
                for v in by_id:
                    if v in back or not movable(u, v, pid):
                        continue
                    back[v] = (u, pid)
                    if v in targets:
                        path, node = [], v
                        while (step := back[node]) is not None:
                            prev, via = step
                            path.append((prev, node, via))
                            node = prev
                        return path
                    queue.append(v)
        return None

    for _round in range(sum(need.values()) * len(pool) + 1):
        loads = {u.id: load[u.id] for u in pool}
        hi, lo = max(loads.values()), min(loads.values())
        if hi - lo <= 1:
            break
        path = chain(
            {r for r, n in loads.items() if n == hi}, {r for r, n in loads.items() if n <= hi - 2}
        ) or chain({r for r, n in loads.items() if n >= lo + 2}, {r for r, n in loads.items() if n == lo})
        if not path:
            break
        for u, v, pid in path:
            new[pid][new[pid].index(u)] = v
            current[pid].discard(u)
            current[pid].add(v)
            load[u] -= 1
            load[v] += 1
    for pid in ids:
        have = {by_id[r].office for r in current[pid] if r in by_id}
        gaps = [o for o in offices if o not in have]
        if gaps:
            plan.office_missing[pid] = gaps
    plan.assignments = {pid: rids for pid, rids in new.items() if rids}
    return plan


def auto_assign(call, actor, *, start: bool = True) -> Plan:
    """Assign reviewers to every formally checked proposal of the call that has fewer than the call's number
    (also proposals in review whose reviewer dropped out); then start the review of the newly covered ones
    (their reviewers are told by mail). Proposals the official has a conflict with are left out."""
    check(actor, "official.work")
    proposals = list(
        db.session.scalars(
            select(Proposal)
            .where(
                Proposal.call_id == call.id,
                Proposal.state.in_((ProposalState.ELIGIBLE, ProposalState.IN_REVIEW)),
            )
            .order_by(Proposal.file_seq)
        )
    )
    conflicted = set(
        db.session.scalars(
            select(ConflictDeclaration.proposal_id).where(
                ConflictDeclaration.user_id == actor.id, ConflictDeclaration.has_conflict.is_(True)
            )
        )
    )
    proposals = [p for p in proposals if p.id not in conflicted and p.applicant_id != actor.id]
    plan = plan_assignments(call, proposals)
    users = {u.id: u for u in reviewer_pool()}
    for p in proposals:
        rids = plan.assignments.get(p.id)
        if not rids:
            continue
        p = lock(p)
        for rid in rids:
            _add_review(p, users[rid], actor, how="auto")
        if start and p.state == ProposalState.ELIGIBLE:
            fire(p, "start_review", actor)
    if not plan.assignments and not plan.short:
        return plan  # nothing to do: nothing recorded
    record(
        actor,
        "auto_assign",
        call,
        data={
            "assigned": sum(len(v) for v in plan.assignments.values()),
            "proposals": len(plan.assignments),
            "short": {str(k): v for k, v in plan.short.items()},
            "per_proposal": call.reviewers_per_proposal,
            "each_office": call.reviewer_from_each_office,
        },
    )
    return plan


def assignment_overview(call) -> dict:
    """The officials' page: per proposal its reviewers, open declines, and each reviewer's load; with each
    proposal its row, for the rulebook's questions (may one assign, start the review)."""
    rows = db.session.execute(
        select(
            Proposal,
            Review.id,
            Review.reviewer_id,
            Review.submitted_at,
        )
        .outerjoin(Review, Review.proposal_id == Proposal.id)
        .where(
            Proposal.call_id == call.id,
            Proposal.state.in_((ProposalState.ELIGIBLE, ProposalState.IN_REVIEW, ProposalState.REVIEWED)),
        )
        .order_by(Proposal.file_seq, Review.id)
        .options(load_only(Proposal.file_number, Proposal.state, Proposal.applicant_id, Proposal.call_id))
    ).all()
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(
                User.id.in_({r[2] for r in rows if r[2] is not None} | {u.id for u in reviewer_pool()})
            )
        )
    }
    proposals: dict[int, dict] = {}
    load: dict[int, int] = defaultdict(int)
    for p, review_id, reviewer_id, submitted in rows:
        entry = proposals.setdefault(
            p.id,
            {
                "id": p.id,
                "file_number": p.file_number,
                "state": p.state,
                "proposal": p,
                "reviews": [],
                "declines": [],
            },
        )
        if review_id is not None:
            entry["reviews"].append(
                {"id": review_id, "reviewer": users[reviewer_id], "submitted_at": submitted}
            )
            load[reviewer_id] += 1
    for d in db.session.scalars(
        select(ReviewDecline)
        .join(Proposal, Proposal.id == ReviewDecline.proposal_id)
        .where(Proposal.call_id == call.id)
        .order_by(ReviewDecline.id)
    ):
        if d.proposal_id in proposals:
            proposals[d.proposal_id]["declines"].append(d)
    pool = reviewer_pool()
    return {"proposals": list(proposals.values()), "reviewers": [(u, load[u.id]) for u in pool]}


@dataclass
class CriterionResult:
    criterion: Criterion
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


def scores_of(proposals: Sequence[Proposal]) -> dict[int, Result]:
    """The scores of the proposals whose review has begun, by id (the others have none yet)."""
    return {p.id: score_proposal(p) for p in proposals if p.state not in BEFORE_REVIEW}


def score_proposal(p: Proposal) -> Result:
    """Weighted mean of the submitted reviews. "Not applicable" is left out of the mean, never a zero;
    a criterion no reviewer could score leaves the total, whose weights are renormalised."""
    call = p.call
    reviews = db.session.scalars(
        select(Review).where(Review.proposal_id == p.id, Review.submitted_at.is_not(None))
    ).all()
    results, weighted, weights = [], 0.0, 0
    for c in call.criteria:
        values = [
            s.score for r in reviews for s in r.scores if s.criterion_id == c.id and s.score is not None
        ]
        mean = sum(values) / len(values) if values else None
        ko = c.knockout_min is not None and mean is not None and mean < c.knockout_min
        results.append(CriterionResult(c, mean, (max(values) - min(values)) if values else None, ko))
        if mean is not None:
            weighted += c.weight * mean / call.scale_max
            weights += c.weight
    total = round(weighted / weights * 100, 2) if weights else None
    knocked = any(r.knocked_out for r in results)
    return Result(
        total,
        results,
        len(reviews),
        knocked,
        fundable=total is not None and total >= call.min_total and not knocked,
    )

"""What reviewers and officials declared about a proposal, and who reviews it: read queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ..accounts.models import RoleGrant, User
from ..extensions import db
from .models import ConflictDeclaration, NeutralityDeclaration, Review, ReviewScore


def has_conflict(user, proposal) -> bool:
    if user is None:
        return False
    return bool(
        db.session.scalar(
            select(ConflictDeclaration.id).where(
                ConflictDeclaration.user_id == user.id,
                ConflictDeclaration.proposal_id == proposal.id,
                ConflictDeclaration.has_conflict.is_(True),
            )
        )
    )


def conflict_declared(user, proposal) -> ConflictDeclaration | None:
    return db.session.scalar(
        select(ConflictDeclaration).where(
            ConflictDeclaration.user_id == user.id, ConflictDeclaration.proposal_id == proposal.id
        )
    )


_SIGNED = "foerdercall_neutrality_signed"  # session.info: (user id, call id) known to have signed


def forget_neutrality(session, *_args) -> None:
    """after_soft_rollback (session_events): a signature made in a rolled-back transaction is gone."""
    session.info.pop(_SIGNED, None)


def neutrality_signed(user, call_id: int) -> bool:
    """Whether the person signed the call's declaration of neutrality. A declaration is never taken back, so a
    yes is kept for the session (pages ask for every row they show)."""
    known = db.session.info.setdefault(_SIGNED, set())
    if (user.id, call_id) in known:
        return True
    signed = db.session.scalar(
        select(NeutralityDeclaration.id).where(
            NeutralityDeclaration.user_id == user.id, NeutralityDeclaration.call_id == call_id
        )
    )
    if signed:
        known.add((user.id, call_id))
    return bool(signed)


def review_of(user, proposal) -> Review | None:
    return db.session.scalar(
        select(Review).where(Review.proposal_id == proposal.id, Review.reviewer_id == user.id)
    )


def reviewer_choices(p) -> list[User]:
    """Who may be assigned to review the proposal: active reviewers other than its applicant."""
    return list(
        db.session.scalars(
            select(User)
            .join(RoleGrant)
            .where(RoleGrant.role == "reviewer", User.active.is_(True), User.id != p.applicant_id)
            .order_by(User.name)
        )
    )


def reviews_of(reviewer) -> Sequence[Review]:
    """A reviewer's assignments, the earliest first."""
    return db.session.scalars(
        select(Review).where(Review.reviewer_id == reviewer.id).order_by(Review.assigned_at)
    ).all()


def conflicted_proposals(user) -> set[int]:
    """The ids of the proposals the user declared a conflict with."""
    return set(
        db.session.scalars(
            select(ConflictDeclaration.proposal_id).where(
                ConflictDeclaration.user_id == user.id, ConflictDeclaration.has_conflict.is_(True)
            )
        )
    )


def others_hidden(review: Review) -> bool:
    """Blind review: the other reviewers' scores stay hidden until one's own review is submitted."""
    return review.proposal.call.blind_review and review.submitted_at is None


def others_scores(review: Review) -> list[dict]:
    """The other reviewers' submitted scores of the proposal (empty while blind)."""
    if others_hidden(review):
        return []
    rows = db.session.execute(
        select(Review.id, User.name, ReviewScore.criterion_id, ReviewScore.score, ReviewScore.justification)
        .join(User, User.id == Review.reviewer_id)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .where(
            Review.proposal_id == review.proposal_id, Review.id != review.id, Review.submitted_at.is_not(None)
        )
        .order_by(Review.id)
    ).all()
    out: dict[int, dict] = {}
    for rid, name, cid, value, text in rows:
        out.setdefault(rid, {"name": name, "scores": {}})["scores"][cid] = (value, text)
    return list(out.values())


def deciding_officials(p, notify_mode: str | None = None, offices=None) -> list[User]:
    """The active officials of the proposal's deciding offices (or of ``offices``) who may act on it (no
    conflict, not its applicant); ``notify_mode``: only those who chose it (``User.notify_mode``: a mail each
    time, or daily). Reminders and the mails of what arrived ask this one query."""
    offices = list(p.call.deciding_offices or ()) if offices is None else list(offices)
    q = (
        select(User)
        .join(RoleGrant)
        .where(
            RoleGrant.role == "official",
            User.active.is_(True),
            User.office.in_(offices),
            User.id != p.applicant_id,
        )
    )
    if notify_mode is not None:
        q = q.where(User.notify_mode == notify_mode)
    return [u for u in db.session.scalars(q.order_by(User.id)) if not has_conflict(u, p)]

"""What reviewers and officials declared about a proposal, and who reviews it: read queries."""

from __future__ import annotations

from sqlalchemy import select

from ..accounts.models import RoleGrant, User
from ..extensions import db
from .models import ConflictDeclaration, NeutralityDeclaration, Review


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


def neutrality_signed(user, call_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(NeutralityDeclaration.id).where(
                NeutralityDeclaration.user_id == user.id, NeutralityDeclaration.call_id == call_id
            )
        )
    )


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

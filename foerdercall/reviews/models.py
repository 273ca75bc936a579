from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..timeutil import UTCDateTime, now


class NeutralityDeclaration(Model):
    """Signed once per call by everyone who will see its proposals."""

    __tablename__ = "neutrality_declarations"
    __table_args__ = (UniqueConstraint("user_id", "call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)


class ConflictDeclaration(Model):
    __tablename__ = "conflict_declarations"
    __table_args__ = (UniqueConstraint("user_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    has_conflict: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    user = relationship("User")


class Review(Model):
    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("proposal_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    call_version: Mapped[int | None] = mapped_column()
    # the submitted review's weighted total (0–100; None: nothing scorable), written with the submission
    total_points: Mapped[float | None] = mapped_column(Float)

    proposal = relationship("Proposal")
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    scores: Mapped[list[ReviewScore]] = relationship(
        back_populates="review", cascade="all, delete-orphan", lazy="selectin"
    )


class ReviewScore(Model):
    """One criterion of one review. score NULL means "not applicable": left out of the mean."""

    __tablename__ = "review_scores"
    __table_args__ = (UniqueConstraint("review_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    score: Mapped[int | None] = mapped_column(CheckConstraint("score >= 0", name="score_nonneg"))
    justification: Mapped[str] = mapped_column(Text, default="")
    review: Mapped[Review] = relationship(back_populates="scores")
    criterion = relationship("Criterion")


class ReviewDecline(Model):
    """A reviewer declined an assignment (conflict, workload, ...): the assignment is gone, this stays."""

    __tablename__ = "review_declines"
    __table_args__ = (CheckConstraint("kind IN ('conflict', 'workload', 'other')", name="decline_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    declined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    reassigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # an official replaced them
    reviewer = relationship("User")

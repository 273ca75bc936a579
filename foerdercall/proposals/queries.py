"""Read queries about a proposal that pages, rules and operations share."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import Proposal


def open_clarification(p):
    return next((c for c in reversed(p.clarifications) if c.answered_at is None), None)


def submission_deadline_for(p):
    """The applicant's documented extension, else the call's deadline."""
    return p.personal_deadline or p.call.submission_deadline


def has_submitted(user) -> bool:
    """Whether the person ever submitted a proposal (its records are kept, whatever came of it)."""
    submitted = select(Proposal.id).where(
        Proposal.applicant_id == user.id, Proposal.submitted_at.is_not(None)
    )
    return db.session.scalar(submitted.limit(1)) is not None

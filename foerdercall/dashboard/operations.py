"""The figures of a call's dashboard: proposals per state and per field of action, the budget, and how far
the reviewers are. Aggregated queries only; while a procurement call is sealed only the number received."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from workflows import ProposalState
from workflows.proposal import STATE_LABELS

from ..accounts.models import User
from ..calls.models import Call
from ..extensions import db
from ..i18n import label
from ..labels import field_label
from ..proposals.models import Proposal
from ..reviews.models import Review


@dataclass
class Bar:
    label: str
    value: int
    extra: int = 0  # a second part of the bar (reviews still open)


@dataclass
class Dashboard:
    sealed: bool
    received: int
    drafts: int
    budget_cents: int
    committed_cents: int
    remaining_cents: int
    by_state: list[Bar] = field(default_factory=list)
    by_field: list[Bar] = field(default_factory=list)
    reviewers: list[Bar] = field(default_factory=list)  # value: submitted, extra: open
    reviews_submitted: int = 0
    reviews_open: int = 0


def call_dashboard(call: Call) -> Dashboard:
    received = (
        db.session.scalar(
            select(func.count(Proposal.id)).where(
                Proposal.call_id == call.id, Proposal.submitted_at.is_not(None)
            )
        )
        or 0
    )
    drafts = (
        db.session.scalar(
            select(func.count(Proposal.id)).where(
                Proposal.call_id == call.id, Proposal.state == ProposalState.DRAFT
            )
        )
        or 0
    )
    d = Dashboard(
        sealed=call.is_sealed,
        received=received,
        drafts=drafts,
        budget_cents=call.budget_cents,
        committed_cents=call.committed_cents,
        remaining_cents=call.remaining_cents,
    )
    if d.sealed:
        return d
    states = dict(
        db.session.execute(
            select(Proposal.state, func.count(Proposal.id))
            .where(Proposal.call_id == call.id)
            .group_by(Proposal.state)
        ).all()
    )
    d.by_state = [Bar(label(STATE_LABELS[s]), states[s]) for s in STATE_LABELS if states.get(s)]
    fields = dict(
        db.session.execute(
            select(Proposal.field_of_action, func.count(Proposal.id))
            .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
            .group_by(Proposal.field_of_action)
        ).all()
    )
    keys = call.field_keys
    d.by_field = [
        Bar(field_label(call, k), fields.get(k, 0))
        for k in keys + sorted(k for k in fields if k not in keys)
        if k in fields or k in keys
    ]
    rows = db.session.execute(
        select(User.name, func.count(Review.submitted_at), func.count(Review.id))
        .join(Review, Review.reviewer_id == User.id)
        .join(Proposal, Proposal.id == Review.proposal_id)
        .where(Proposal.call_id == call.id)
        .group_by(User.id, User.name)
        .order_by(User.name)
    ).all()
    d.reviewers = [Bar(name, done, total - done) for name, done, total in rows]
    d.reviews_submitted = sum(b.value for b in d.reviewers)
    d.reviews_open = sum(b.extra for b in d.reviewers)
    return d

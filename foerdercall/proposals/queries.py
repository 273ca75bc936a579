"""Read queries about a proposal that pages, rules and operations share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from workflows import ProposalState
from workflows.proposal import MEASURE_BEGUN

from ..appform.answers import STORED, check_answers
from ..appform.plan import cost_plan_lines, plan_problems
from ..audit.models import AuditEvent
from ..awards.models import Milestone, Payment, Report, SignOff
from ..awards.queries import award_of, claims_of, drawdowns_of, payment_plan, proof_of_use_lines
from ..extensions import db
from ..reviews.models import ConflictDeclaration, Review
from ..timeutil import period_end
from .models import Proposal, ReasonRequest


@dataclass
class Gaps:
    """What keeps a draft from being submitted, by question: ``answers`` (question key: message) and the problems
    of the milestone plan (``plan``, each naming its row)."""

    answers: dict[str, str] = field(default_factory=dict)
    plan: list[str] = field(default_factory=list)
    plan_key: str | None = None

    def __bool__(self) -> bool:
        return bool(self.answers or self.plan)


def submission_gaps(p: Proposal, lang: str) -> Gaps:
    """Every required question answered, each answer valid, each attachment question with its files (at least one
    for a required one, none more than it allows), the milestone plan in the implementation period with shares of
    100 %: all gaps at once. The amount's own rule (the cap) is the condition ``amount_within_cap``."""
    definition = p.call.form_definition
    files: dict[str, int] = {}
    for a in p.attachments:
        files[a.kind] = files.get(a.kind, 0) + 1
    checked = check_answers(definition, p.answers or {}, complete=True, lang=STORED, attachments=files)
    amount = definition.by_role("amount")
    gaps = Gaps({k: m for k, m in checked.errors.items() if amount is None or k != amount.key})
    plan = definition.by_role("milestone_plan")
    if plan is not None and plan.key not in gaps.answers:
        first, last = p.call.planned_period()
        gaps.plan, gaps.plan_key = plan_problems(definition, checked.answers, first, last, lang), plan.key
    return gaps


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


def proposals_of(applicant, call=None) -> Sequence[Proposal]:
    """An applicant's own proposals (in one call), the newest first."""
    q = select(Proposal).where(Proposal.applicant_id == applicant.id)
    if call is not None:
        q = q.where(Proposal.call_id == call.id)
    return db.session.scalars(q.order_by(Proposal.created_at.desc())).all()


def received_count(call) -> int:
    """How many proposals a call received (counted in SQL: a sealed call shows only this)."""
    return (
        db.session.scalar(
            select(func.count(Proposal.id)).where(
                Proposal.call_id == call.id, Proposal.submitted_at.is_not(None)
            )
        )
        or 0
    )


def received_proposals(call, state: str | None = None) -> Sequence[Proposal]:
    """The proposals a call received (in one state), by their receipt."""
    q = select(Proposal).where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
    if state is not None:
        q = q.where(Proposal.state == state)
    return db.session.scalars(q.order_by(Proposal.file_seq)).all()


def advice_requests() -> Sequence[Proposal]:
    """The proposals whose applicants asked the Kontaktstelle for advice (not the withdrawn ones), the most
    recently changed first; who may read which is the rulebook's (proposal.read)."""
    return db.session.scalars(
        select(Proposal)
        .where(Proposal.advice_requested.is_(True), Proposal.state != ProposalState.WITHDRAWN)
        .order_by(Proposal.updated_at.desc())
    ).all()


def draft_of(call, applicant) -> Proposal | None:
    """The applicant's draft in this call, if there is one."""
    return db.session.scalar(
        select(Proposal).where(
            Proposal.call_id == call.id,
            Proposal.applicant_id == applicant.id,
            Proposal.state == ProposalState.DRAFT,
        )
    )


def proposal_page(p, viewer, *, assessment: bool) -> dict:
    """What a proposal's page lists, one query each: its history, the open request for documents, the award and
    its payments, the milestones and reports of the measure, the sign-offs; the reviews (``assessment``: all of
    them and the declared conflicts, for the officials; else only the viewer's own)."""
    award = award_of(p)
    reviews = db.session.scalars(select(Review).where(Review.proposal_id == p.id).order_by(Review.id)).all()
    return {
        "history": db.session.scalars(
            select(AuditEvent).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.at, AuditEvent.id)
        ).all(),
        "clarification": open_clarification(p),
        "award": award,
        "payments": db.session.scalars(select(Payment).where(Payment.award_id == award.id)).all()
        if award
        else [],
        "measure_begun": p.state in MEASURE_BEGUN,
        "milestones": db.session.scalars(
            select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
        ).all(),
        "reports": db.session.scalars(
            select(Report).where(Report.proposal_id == p.id).order_by(Report.id)
        ).all(),
        "sign_offs": db.session.scalars(select(SignOff).where(SignOff.proposal_id == p.id)).all(),
        "reasons": reason_request_of(p),
        "payment_plan": payment_plan(p, award) if award and p.call.mode == "procurement" else [],
        "drawdowns": drawdowns_of(p) if award else [],
        "claims": claims_of(p) if award else [],
        "cost_lines": cost_plan_lines(p.call.form_definition, p.answers or {}) if award else [],
        "proof_lines": proof_of_use_lines(p, "final") if award else [],
        "reasons_until": reasons_until(p),
        "reviews": reviews if assessment else [r for r in reviews if r.reviewer_id == viewer.id],
        "conflicts": db.session.scalars(
            select(ConflictDeclaration).where(ConflictDeclaration.proposal_id == p.id)
        ).all()
        if assessment
        else [],
    }


# --- the unsuccessful applicant's request for the reasons (workflows/reasons.py) -------------------------------

UNSUCCESSFUL = (ProposalState.REJECTED, ProposalState.INELIGIBLE)


def state_event(p: Proposal) -> AuditEvent | None:
    """The audit event by which the proposal reached its present state (a rejection, an exclusion, …)."""
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.proposal_id == p.id,
            AuditEvent.object_type == "proposals",
            AuditEvent.to_state == p.state,
            AuditEvent.from_state != p.state,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )


def reasons_until(p: Proposal) -> dt.datetime | None:
    """Until when an unsuccessful applicant may ask for the reasons: the call's days after the notice (the end of
    the day, moved past a weekend or a holiday); None for a proposal that was not unsuccessful."""
    if p.state not in UNSUCCESSFUL or (ev := state_event(p)) is None:
        return None
    return period_end(ev.at, p.call.reasons_request_days)


def reason_request_of(p: Proposal) -> ReasonRequest | None:
    return db.session.scalar(select(ReasonRequest).where(ReasonRequest.proposal_id == p.id))

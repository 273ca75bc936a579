"""Read queries about a proposal's decision and award: sign-offs, standstill, award, drawdowns and claims."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from workflows import ClaimState, DrawdownState, MilestoneState, PaymentState, ProposalState

from ..appform.plan import cost_plan_lines
from ..extensions import db
from ..proposals.models import Proposal
from ..ranking.models import Standstill
from .models import Award, Claim, Drawdown, Milestone, Payment, Report, SignOff


def sign_offs(p) -> dict[str, SignOff]:
    """The sign-offs of the current decision round (voided ones of a reopened decision do not count)."""
    return {
        s.office: s
        for s in db.session.scalars(
            select(SignOff).where(SignOff.proposal_id == p.id, SignOff.voided_at.is_(None))
        )
    }


def decision_round(p) -> int:
    """The round a new sign-off belongs to: 1, then one more after each reopened decision."""
    last_void = db.session.scalar(
        select(func.max(SignOff.decision_round)).where(
            SignOff.proposal_id == p.id, SignOff.voided_at.is_not(None)
        )
    )
    return (last_void or 0) + 1


def standstill_of(p) -> Standstill | None:
    """The proposal's current standstill (one closed by a reopened decision is history)."""
    return db.session.scalars(
        select(Standstill)
        .where(Standstill.proposal_id == p.id, Standstill.closed_at.is_(None))
        .order_by(Standstill.id.desc())
    ).first()


def award_of(p) -> Award | None:
    return db.session.scalar(select(Award).where(Award.proposal_id == p.id))


def interim_report_in(p) -> Report | None:
    """The interim report waiting for acceptance or accepted (there is one at a time; a returned one is not)."""
    return db.session.scalar(
        select(Report)
        .where(
            Report.proposal_id == p.id, Report.kind == "interim", Report.state.in_(("submitted", "accepted"))
        )
        .limit(1)
    )


def reopened_decisions(call) -> dict:
    """Proposal id -> when its decision was reopened (an objection upheld), for the call's ranking page."""
    return dict(
        db.session.execute(
            select(Standstill.proposal_id, Standstill.closed_at)
            .join(Proposal, Proposal.id == Standstill.proposal_id)
            .where(Proposal.call_id == call.id, Standstill.closed_at.is_not(None))
            .order_by(Standstill.id)
        ).all()
    )


def pending_drawdown_cents(award_id: int, but: int | None = None) -> int:
    """What the award's drawdowns still waiting for an official ask for (one of them left out)."""
    q = select(func.coalesce(func.sum(Drawdown.amount_cents), 0)).where(
        Drawdown.award_id == award_id, Drawdown.state == DrawdownState.REQUESTED
    )
    if but is not None:
        q = q.where(Drawdown.id != but)
    return int(db.session.scalar(q) or 0)


def open_claim_cents(award_id: int, but: int | None = None) -> int:
    """What is claimed back from the award and not repaid yet (one claim left out)."""
    q = select(func.coalesce(func.sum(Claim.amount_cents), 0)).where(
        Claim.award_id == award_id, Claim.state == ClaimState.CLAIMED
    )
    if but is not None:
        q = q.where(Claim.id != but)
    return int(db.session.scalar(q) or 0)


def drawdowns_of(p) -> list[Drawdown]:
    return list(
        db.session.scalars(select(Drawdown).where(Drawdown.proposal_id == p.id).order_by(Drawdown.id))
    )


def claims_of(p) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(Claim.proposal_id == p.id).order_by(Claim.id)))


@dataclass(frozen=True)
class Tranche:
    """A tranche of a contract's payment plan: tied to a milestone (its share of the award, due once the milestone
    is accepted) or the final payment (the rest, due once the final report is accepted)."""

    key: str  # "m<milestone id>" or "final"
    title: str
    amount_cents: int
    due: bool
    paid_cents: int


FINAL_TRANCHE = "final"


def payment_plan(p, award: Award) -> list[Tranche]:
    """The award's payment plan: a tranche per milestone with a share of the money (the applicant's plan), and the
    final payment of what is left after the final report; what was paid against each so far."""
    milestones = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position, Milestone.id)
    ).all()
    paid: dict[str, int] = {}
    for tranche, cents in db.session.execute(
        select(Payment.tranche, func.sum(Payment.amount_cents))
        .where(Payment.award_id == award.id, Payment.state == PaymentState.PAID)
        .group_by(Payment.tranche)
    ):
        paid[tranche] = int(cents)
    plan, planned = [], 0
    for m in milestones:
        if not m.share:
            continue
        amount = int(award.amount_cents * m.share / 100)
        planned += amount
        key = f"m{m.id}"
        plan.append(Tranche(key, m.title, amount, m.state == MilestoneState.ACCEPTED, paid.get(key, 0)))
    final_due = p.state == ProposalState.COMPLETED
    plan.append(
        Tranche(
            FINAL_TRANCHE, "", max(award.amount_cents - planned, 0), final_due, paid.get(FINAL_TRANCHE, 0)
        )
    )
    return plan


def proof_of_use_lines(p, kind: str) -> list[tuple[str, int]]:
    """The lines a report states planned against actual: a grant's final report (the proof of use), one per line of
    the approved cost plan; none otherwise."""
    if kind != "final" or p.call.mode != "grant":
        return []
    return cost_plan_lines(p.call.form_definition, p.answers or {})

"""The effects of the proposal workflow on its decision, award and implementation: the budget, the standstill,
the sign-offs of a reopened decision, the milestones and the final report."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from workflows import ProposalState

from ..appform.plan import planned_milestones
from ..awards.models import SignOff
from ..extensions import db
from ..locking import lock
from ..mail.operations import queue_mail
from ..outcomes.effects import add_report_values
from ..policy.actors import proposal_of
from ..policy.conditions import STANDSTILL_DAYS, award_amount
from ..policy.context import Context
from ..proposals.effects import tell_officials
from ..proposals.models import Proposal
from ..ranking.models import Standstill
from ..timeutil import add_months, end_of_day_berlin, period_end, to_berlin
from ..workflow.engine import effect, fire, follow
from .models import Award, Milestone, Payment, Report
from .queries import award_of, standstill_of


@effect
def take_budget(ctx: Context):
    p = ctx.obj
    call = lock(p.call)
    amount = award_amount(ctx)
    call.committed_cents += amount
    award = Award(
        proposal_id=p.id,
        call_id=call.id,
        amount_cents=amount,
        awarded_by_id=ctx.actor.id,
        awarded_at=ctx.now,
        accept_by=period_end(ctx.now, call.acceptance_days),
    )
    db.session.add(award)
    p.decided_at = ctx.now
    ctx.params["award"] = award
    ctx.audit_data.update(amount_cents=amount, remaining_cents=call.remaining_cents)


@effect
def return_budget(ctx: Context):
    award = award_of(ctx.obj)
    assert award is not None  # it lapses or ends an award
    call = lock(ctx.obj.call)
    back = award.amount_cents - award.paid_cents - award.released_cents
    call.committed_cents -= back
    award.released_cents += back
    ctx.audit_data.update(returned_cents=back, remaining_cents=call.remaining_cents)


@effect
def open_standstill(ctx: Context):
    """The standstill runs to the end (23:59 Leipzig time) of the 10th calendar day after its start."""
    p = ctx.obj
    ends = end_of_day_berlin(to_berlin(ctx.now).date() + dt.timedelta(days=STANDSTILL_DAYS))
    st = Standstill(
        proposal_id=p.id,
        amount_cents=award_amount(ctx),
        started_by_id=ctx.actor.id,
        started_at=ctx.now,
        ends_at=ends,
    )
    db.session.add(st)
    ctx.params["standstill"] = st
    ctx.audit_data.update(amount_cents=st.amount_cents, ends_at=ends.isoformat())


@effect
def mail_standstill_notice(ctx: Context):
    """Every unsuccessful applicant of the call (rejected or excluded offers) is told of the intended award
    and of the day before which it will not be made."""
    p = ctx.obj
    st = ctx.params["standstill"]
    others = db.session.scalars(
        select(Proposal)
        .where(
            Proposal.call_id == p.call_id,
            Proposal.id != p.id,
            Proposal.state.in_((ProposalState.REJECTED, ProposalState.INELIGIBLE)),
        )
        .order_by(Proposal.file_seq)
    ).all()
    for q in others:
        queue_mail(
            "standstill_notice",
            q.applicant,
            f"standstill:{p.id}:{q.id}",
            proposal=q,
            call=p.call,
            awarded=p,
            amount=st.amount_cents,
            ends_at=st.ends_at,
            reason="",
        )
    st.informed = len(others)
    ctx.audit_data["informed"] = len(others)


@effect
def void_sign_offs(ctx: Context):
    """A reopened decision: the round's sign-offs stop counting; they stay, marked void, for the record."""
    voided = []
    for s in db.session.scalars(
        select(SignOff)
        .where(SignOff.proposal_id == ctx.obj.id, SignOff.voided_at.is_(None))
        .order_by(SignOff.id)
    ):
        s.voided_at, s.voided_by_id, s.void_reason = ctx.now, ctx.actor.id if ctx.actor else None, ctx.reason
        voided.append(
            {
                "office": s.office,
                "user_id": s.user_id,
                "decision": s.decision,
                "signed_at": s.signed_at.isoformat(),
                "round": s.decision_round,
            }
        )
    ctx.audit_data["voided_sign_offs"] = voided


@effect
def close_standstill(ctx: Context):
    """The standstill of the reopened decision ends here; a new decision above the threshold opens a new one."""
    st = standstill_of(ctx.obj)
    if st is not None:
        st.closed_at, st.closed_by_id = ctx.now, ctx.actor.id if ctx.actor else None
        ctx.audit_data["standstill_id"] = st.id


@effect
def start_implementation(ctx: Context):
    p = ctx.obj
    award = award_of(p)
    assert award is not None  # the accepted award
    award.accepted_at = ctx.now
    months = p.call.implementation_months
    award.implementation_ends_at = add_months(ctx.now, months)
    planned = planned_milestones(p.call.form_definition, p.answers or {})
    if planned:  # the applicant's own plan: its dates kept where they lie in the period
        moved = []
        late = to_berlin(ctx.now).date() - p.call.planned_period()[0]  # from the deadline to the acceptance
        for i, row in enumerate(sorted(planned, key=lambda r: r.due)):
            due = end_of_day_berlin(row.due)
            if due <= ctx.now:  # planned before the award came: as late as the award
                due = end_of_day_berlin(row.due + late)
            due = min(due, award.implementation_ends_at)
            if due != end_of_day_berlin(row.due):
                moved.append({"title": row.title, "planned": row.due.isoformat(), "due": due.isoformat()})
            db.session.add(
                Milestone(proposal_id=p.id, position=i, title=row.title, due_at=due, share=row.share)
            )
        ctx.audit_data["milestones"] = "applicant's plan"
        if moved:
            ctx.audit_data["milestones_moved"] = moved
    else:  # the call's milestone plan; the end of the period comes with the final report
        for i, row in enumerate(p.call.milestone_plan or []):
            title = row["de"] if row.get("en") in (None, "", row["de"]) else f"{row['de']} / {row['en']}"
            due = add_months(ctx.now, min(max(1, int(row["month"])), months))
            db.session.add(Milestone(proposal_id=p.id, position=i, title=title, due_at=due))
    ctx.audit_data["implementation_ends_at"] = award.implementation_ends_at.isoformat()


@effect
def record_final_report(ctx: Context):
    p = ctx.obj
    r = Report(
        proposal_id=p.id,
        kind="final",
        narrative=ctx.params["narrative"],
        use_of_funds=ctx.params.get("use_of_funds", ""),
        spent_cents=ctx.params.get("spent_cents", 0),
        submitted_by_id=ctx.actor.id,
        submitted_at=ctx.now,
    )
    if statement := ctx.params.get("statement"):  # a grant's proof of use: its total is what was spent
        r.cost_lines = statement
        r.spent_cents = sum(line["actual_cents"] for line in statement)
        ctx.audit_data["spent_cents"] = r.spent_cents
    follow(r, "submit_final_report")
    db.session.add(r)
    add_report_values(ctx, r)


def _final_report(p) -> Report:
    report = db.session.scalars(
        select(Report)
        .where(Report.proposal_id == p.id, Report.kind == "final", Report.state == "submitted")
        .order_by(Report.id.desc())
    ).first()
    assert report is not None  # the state final_report_submitted
    return report


@effect
def settle_final_report(ctx: Context):
    r = _final_report(ctx.obj)
    follow(r, "accept_final_report")
    r.reviewed_by_id, r.reviewed_at, r.review_note = ctx.actor.id, ctx.now, ctx.reason


@effect
def return_final_report(ctx: Context):
    r = _final_report(ctx.obj)
    follow(r, "request_report_changes")
    r.reviewed_by_id, r.reviewed_at, r.review_note = ctx.actor.id, ctx.now, ctx.reason


# --- lifecycles of their own: the objection, milestones, the interim report, payments ----------------------
# (workflows/objection.py, milestone.py, report.py, payment.py): the columns that pages, the award record and the
# reminders read (who and when) are filled here.


@effect
def note_objection(ctx: Context):
    """The objection as received (the transition's reason); a resolution of an earlier one is cleared."""
    st = ctx.obj
    st.objection_at, st.objection, st.objection_recorded_by_id = ctx.now, ctx.reason, ctx.actor.id
    st.resolved_at, st.resolution, st.resolved_by_id, st.objection_outcome = None, "", None, ""


@effect
def note_resolution(ctx: Context):
    st = ctx.obj
    st.resolved_at, st.resolution, st.resolved_by_id = ctx.now, ctx.reason, ctx.actor.id
    st.objection_outcome = ctx.params["outcome"]
    ctx.audit_data["outcome"] = st.objection_outcome


@effect
def note_milestone_report(ctx: Context):
    m = ctx.obj
    m.report, m.reported_at = ctx.params["text"], ctx.now
    ctx.audit_data["milestone"] = m.title


@effect
def mail_milestone_reported(ctx: Context):
    m = ctx.obj
    tell_officials("milestone_reported", proposal_of(m), ctx, f"milestone:{m.id}", milestone=m)


@effect
def mail_interim_report_submitted(ctx: Context):
    r = ctx.obj
    tell_officials("interim_report_submitted", proposal_of(r), ctx, f"report:{r.id}", report=r)


@effect
def note_milestone_acceptance(ctx: Context):
    m = ctx.obj
    m.accepted_at, m.accepted_by_id = ctx.now, ctx.actor.id
    ctx.audit_data["milestone"] = m.title


@effect
def note_milestone_overdue(ctx: Context):
    m = ctx.obj
    m.overdue_at = ctx.now
    ctx.audit_data.update(milestone=m.title, due_at=m.due_at.isoformat())


@effect
def note_report_submission(ctx: Context):
    ctx.obj.submitted_by_id, ctx.obj.submitted_at = ctx.actor.id, ctx.now
    add_report_values(ctx, ctx.obj)


@effect
def note_report_review(ctx: Context):
    r = ctx.obj
    r.reviewed_by_id, r.reviewed_at, r.review_note = ctx.actor.id, ctx.now, ctx.reason


@effect
def note_payment(ctx: Context):
    pay = ctx.obj
    pay.paid_at, pay.recorded_by_id = ctx.now, ctx.actor.id
    award = lock(db.session.get_one(Award, pay.award_id))
    award.paid_cents += pay.amount_cents  # the database's CHECK holds it within the award
    ctx.audit_data.update(amount_cents=pay.amount_cents, paid_cents=award.paid_cents)


# --- the money of a grant: drawdowns and claims back (workflows/drawdown.py, workflows/claim.py) -----------------


@effect
def mail_drawdown_requested(ctx: Context):
    d = ctx.obj
    p = db.session.get_one(Proposal, d.proposal_id)
    tell_officials("drawdown_requested", p, ctx, f"drawdown:{d.id}", drawdown=d)


@effect
def book_drawdown(ctx: Context):
    """The payment of the drawdown, booked through its own workflow (within the award, audited)."""
    d = ctx.obj
    pay = Payment(
        award_id=d.award_id, amount_cents=d.amount_cents, note=d.purpose or "", reference=f"MA-{d.id}"
    )
    fire(pay, "record_payment", ctx.actor, reason=d.purpose or "", now=ctx.now)
    d.payment_id, d.decided_at, d.decided_by_id = pay.id, ctx.now, ctx.actor.id
    ctx.audit_data.update(amount_cents=d.amount_cents, payment_id=pay.id)


@effect
def note_drawdown_refusal(ctx: Context):
    d = ctx.obj
    d.refusal, d.decided_at, d.decided_by_id = ctx.reason, ctx.now, ctx.actor.id


@effect
def mail_drawdown_decided(ctx: Context):
    d = ctx.obj
    p = db.session.get_one(Proposal, d.proposal_id)
    queue_mail(
        "drawdown_decided",
        p.applicant,
        f"drawdown:{d.id}:decided",
        proposal=p,
        call=p.call,
        drawdown=d,
        reason=ctx.reason,
    )


@effect
def mail_claim(ctx: Context):
    c = ctx.obj
    p = db.session.get_one(Proposal, c.proposal_id)
    queue_mail("claim", p.applicant, f"claim:{c.id}", proposal=p, call=p.call, claim=c, reason=ctx.reason)


@effect
def return_claim(ctx: Context):
    """The repaid money leaves what was paid and returns to the call's budget."""
    c = ctx.obj
    award = lock(db.session.get_one(Award, c.award_id))
    call = lock(db.session.get_one(Proposal, c.proposal_id).call)
    award.paid_cents -= c.amount_cents
    award.released_cents += c.amount_cents
    call.committed_cents -= c.amount_cents
    c.repaid_at, c.repaid_recorded_by_id = ctx.now, ctx.actor.id
    ctx.audit_data.update(amount_cents=c.amount_cents, remaining_cents=call.remaining_cents)

"""The effects of the proposal workflow (workflows/proposal.py) on the proposal itself: its file number, the
request for missing documents, and the mails its transitions send."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from ..awards.queries import award_of
from ..extensions import db
from ..locking import lock
from ..mail.operations import queue_mail
from ..policy.context import Context
from ..proposals.models import Clarification, Proposal
from ..reviews.models import Review
from ..reviews.queries import deciding_officials
from ..timeutil import period_end
from ..urls import external_url
from ..workflow.engine import effect
from .queries import open_clarification as pending_clarification


@effect
def assign_file_number(ctx: Context):
    p = ctx.obj
    call = lock(p.call)  # file numbers are sequential per call
    p.file_seq = call.next_file_seq
    call.next_file_seq += 1
    p.file_number = f"{call.code}-{p.file_seq:04d}"
    p.submitted_at = ctx.now
    p.submitted_call_version = call.version
    ctx.audit_data.update(
        file_number=p.file_number,
        call_version=call.version,
        files={a.filename: a.sha256 for a in p.attachments},
    )


@effect
def open_clarification(ctx: Context):
    p = ctx.obj
    c = Clarification(
        proposal=p,
        message=ctx.reason,
        requested_by_id=ctx.actor.id,
        requested_at=ctx.now,
        due_at=period_end(ctx.now, p.call.clarification_days),
    )
    db.session.add(c)
    ctx.params["clarification"] = c
    ctx.audit_data["due_at"] = c.due_at.isoformat()


@effect
def close_clarification(ctx: Context):
    c = pending_clarification(ctx.obj)
    c.answer = ctx.reason
    c.answered_at = ctx.now


# The due moment a mail is about, sent along as an .ics attachment: kind -> (award, clarification) -> moment
EVENT_AT: dict[str, Callable] = {
    "clarification": lambda award, clarification: clarification.due_at,
    "award": lambda award, clarification: award.accept_by,
}


def _mail_applicant(kind: str):
    def send(ctx: Context):
        p = ctx.obj
        if kind == "receipt":  # a proposal just submitted has neither an award nor an open request
            award = clarification = None
        else:
            award = ctx.params.get("award") or award_of(p)
            clarification = ctx.params.get("clarification") or pending_clarification(p)
        event_at = EVENT_AT[kind](award, clarification) if kind in EVENT_AT else None
        queue_mail(
            kind,
            p.applicant,
            f"proposal:{p.id}:{ctx.now.isoformat()}",
            proposal=p,
            call=p.call,
            reason=ctx.reason,
            now=ctx.now,
            award=award,
            clarification=clarification,
            event_at=event_at,
            # a rejection or exclusion names the days in which the applicant may ask for its reasons
            reasons_until=period_end(ctx.now, p.call.reasons_request_days)
            if kind in ("rejection", "ineligible")
            else None,
        )

    send.__name__ = f"mail_{kind}"
    return send


for _kind in (
    "receipt",
    "withdrawn",
    "clarification",
    "ineligible",
    "rejection",
    "award",
    "award_lapsed",
    "completed",
    "report_changes",
    "terminated",
    "decision_reopened",
):
    effect(_mail_applicant(_kind))


def tell_officials(kind: str, p, ctx: Context, about: str, **context) -> None:
    """What arrived for the deciding offices (an answer, a report, an acceptance): a mail now to each of their
    officials who chose one each time; the others see it in their task list and their morning mail."""
    for o in deciding_officials(p, notify_mode="immediate"):
        queue_mail(
            kind,
            o,
            f"{about}:{ctx.now.isoformat()}",
            proposal=p,
            call=p.call,
            reason=ctx.reason,
            now=ctx.now,
            link=external_url("proposals.detail", proposal_id=p.id),
            **context,
        )


def _mail_officials(kind: str):
    def send(ctx: Context):
        p = ctx.obj
        tell_officials(kind, p, ctx, f"proposal:{p.id}", award=ctx.params.get("award") or award_of(p))

    send.__name__ = f"mail_{kind}"
    return send


for _kind in ("award_accepted", "award_declined", "final_report_submitted", "clarification_answered"):
    effect(_mail_officials(_kind))


@effect
def mail_review_assigned(ctx: Context):
    p = ctx.obj
    for r in db.session.scalars(select(Review).where(Review.proposal_id == p.id)):
        queue_mail("review_assigned", r.reviewer, f"proposal:{p.id}", proposal=p, call=p.call, now=ctx.now)


# --- reasons on request (workflows/reasons.py): ctx.obj is the request --------------------------------------------


@effect
def mail_reasons_requested(ctx: Context):
    rr = ctx.obj
    tell_officials(
        "reasons_requested", db.session.get_one(Proposal, rr.proposal_id), ctx, f"reasons:{rr.proposal_id}"
    )


@effect
def note_reasons_answer(ctx: Context):
    rr = ctx.obj
    rr.answer, rr.answered_at, rr.answered_by_id = ctx.reason, ctx.now, ctx.actor.id


@effect
def mail_reasons_answered(ctx: Context):
    p = db.session.get_one(Proposal, ctx.obj.proposal_id)
    queue_mail(
        "reasons_answered",
        p.applicant,
        f"reasons:{p.id}:answer",
        proposal=p,
        call=p.call,
        reason=ctx.reason,
        now=ctx.now,
    )

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows import claim as claim_wf
from workflows import drawdown as drawdown_wf
from workflows import milestone as milestone_wf
from workflows import payment as payment_wf
from workflows import report as report_wf
from workflows import state_check

from ..extensions import Model
from ..timeutil import UTCDateTime, now


class SignOff(Model):
    """One office's decision on a reviewed proposal; each office signs once per decision round.

    When an objection is upheld during the standstill, the decision is reopened: the round's sign-offs are
    voided (kept, with when, who and why, for the award record) and the offices sign again in the next round.
    """

    __tablename__ = "sign_offs"
    __table_args__ = (
        UniqueConstraint("proposal_id", "office", "decision_round"),
        CheckConstraint("decision IN ('approve', 'reject')", name="decision_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    office: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    decision_round: Mapped[int] = mapped_column(default=1, server_default="1")
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    user = relationship("User", foreign_keys=[user_id])
    voided_by = relationship("User", foreign_keys=[voided_by_id])


class Award(Model):
    """The contract: taken from the call's budget atomically, returned when it lapses or ends early."""

    __tablename__ = "awards"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        # the payments never exceed the award less what went back to the budget (paid_cents: their sum, written
        # with each payment under the proposal's lock)
        CheckConstraint(
            "paid_cents >= 0 AND released_cents >= 0 AND paid_cents + released_cents <= amount_cents",
            name="paid_within_award",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    released_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cents: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )  # the paid payments' sum
    awarded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    awarded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    accept_by: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    implementation_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # the final report is due when the implementation period ends; set when the worker marked it overdue
    report_overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    proposal = relationship("Proposal")
    awarded_by = relationship("User")
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id", lazy="selectin")

    @property
    def open_cents(self) -> int:
        """What may still be paid: the award less what was paid and what went back to the budget."""
        return self.amount_cents - self.released_cents - self.paid_cents


class Payment(Model):
    """A payment on an award (after an accepted milestone or report); never more than the award.
    ``state``: workflows/payment.py."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(state_check(payment_wf), name="state"),
        # a booking of the finance system is recorded once, however often it is sent (the API)
        Index("uq_payments_award_reference", "award_id", "reference", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    state: Mapped[str] = mapped_column(
        String(20), default=payment_wf.INITIAL, server_default=payment_wf.INITIAL
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(String(100))  # the finance system's booking number
    # the tranche of the award's payment plan it pays (awards.queries.payment_plan): "m<milestone id>",
    # "final" (after the final report was accepted), or "" (none named: a drawdown, the finance system)
    tranche: Mapped[str] = mapped_column(String(20), default="", server_default="")
    invoice: Mapped[str] = mapped_column(
        String(100), default="", server_default=""
    )  # the contractor's invoice
    paid_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Milestone(Model):
    """``state``: workflows/milestone.py; the timestamps say when (pages, the register, reminders)."""

    __tablename__ = "milestones"
    __table_args__ = (CheckConstraint(state_check(milestone_wf), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(
        String(20), default=milestone_wf.INITIAL, server_default=milestone_wf.INITIAL
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    share: Mapped[Decimal | None] = mapped_column(
        Numeric(5, 2)
    )  # per cent of the money (the applicant's plan)
    report: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # marked overdue by the worker


class Report(Model):
    """Interim and final report (Sachbericht, use of funds). ``state``: workflows/report.py."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("kind IN ('interim', 'final')", name="report_kind"),
        CheckConstraint(state_check(report_wf), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    narrative: Mapped[str] = mapped_column(Text)
    use_of_funds: Mapped[str] = mapped_column(Text, default="")
    spent_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # a grant's proof of use (Verwendungsnachweis): per line of the approved cost plan, planned and actual cents
    cost_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    state: Mapped[str] = mapped_column(String(20), default=report_wf.INITIAL)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str] = mapped_column(Text, default="")


class Drawdown(Model):
    """A grant recipient's request for money (Mittelabruf): ``state``: workflows/drawdown.py; paid with a payment
    (``payment_id``) within the award."""

    __tablename__ = "drawdowns"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(state_check(drawdown_wf), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    state: Mapped[str] = mapped_column(
        String(20), default=drawdown_wf.INITIAL, server_default=drawdown_wf.INITIAL
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text, default="")
    cost_item: Mapped[str] = mapped_column(
        String(300), default="", server_default=""
    )  # a line of the cost plan
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    refusal: Mapped[str] = mapped_column(Text, default="", server_default="")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))


class Claim(Model):
    """Money claimed back from an award (Rückforderung): ``state``: workflows/claim.py; once repaid it returns
    to the call's budget."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(state_check(claim_wf), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=claim_wf.INITIAL, server_default=claim_wf.INITIAL)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claimed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    repaid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    repaid_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

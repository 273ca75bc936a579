from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows import ProposalState, state_check
from workflows import proposal as proposal_wf
from workflows import reasons as reasons_wf

from ..appform.definition import FormDefinition
from ..extensions import Model
from ..text import safe_filename
from ..timeutil import UTCDateTime, now

# The applicant's answers; the form, the completeness check and the opening record use this list.
ANSWER_FIELDS = ("title", "summary", "description", "work_plan", "team", "leipzig_relation")


class Proposal(Model):
    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("call_id", "file_seq"),
        CheckConstraint("requested_amount_cents >= 0", name="amount_positive"),
        CheckConstraint(
            "state = 'draft' OR state = 'withdrawn' OR (file_number IS NOT NULL AND submitted_at IS NOT NULL)",
            name="submitted_has_file_number",
        ),
        CheckConstraint(state_check(proposal_wf), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), default=ProposalState.DRAFT, index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    work_plan: Mapped[str] = mapped_column(Text, default="")
    team: Mapped[str] = mapped_column(Text, default="")
    leipzig_relation: Mapped[str] = mapped_column(Text, default="")
    field_of_action: Mapped[str] = mapped_column(String(40), default="")
    # where the measure takes place: a key of the city's places (appform.places), from the form's place question
    place: Mapped[str] = mapped_column(String(40), default="", server_default="")
    requested_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # the answers by question key, as check_answers cleaned them (the call's application form); the role answers
    # are mirrored into title, field_of_action and requested_amount_cents (ranking, budget and lists read those)
    answers: Mapped[dict[str, Any]] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), default=dict, server_default="{}"
    )
    advice_requested: Mapped[bool] = mapped_column(default=False)
    file_seq: Mapped[int | None] = mapped_column()
    file_number: Mapped[str | None] = mapped_column(
        String(60), unique=True
    )  # Aktenzeichen, also the receipt number
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_call_version: Mapped[int | None] = mapped_column()
    personal_deadline: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), index=True
    )  # documented extension
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    row_version: Mapped[int] = mapped_column(default=1)

    call = relationship("Call")
    applicant = relationship("User")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="proposal", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    clarifications: Mapped[list[Clarification]] = relationship(
        back_populates="proposal", order_by="Clarification.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": row_version}

    def label(self) -> str:
        return self.file_number or f"#{self.id}"

    def set_answers(self, answers: dict[str, Any], definition: FormDefinition) -> None:
        """Store cleaned answers and mirror the role answers into their columns."""
        self.answers = dict(answers)
        for q in definition.questions():  # the default form's keys are today's columns: they follow
            if q.key in ANSWER_FIELDS and q.type in ("short_text", "long_text"):
                setattr(self, q.key, str(answers.get(q.key) or "")[: 300 if q.key == "title" else None])
        for role, column in (("title", "title"), ("field_of_action", "field_of_action"), ("place", "place")):
            by_role = definition.by_role(role)
            if by_role is not None:
                setattr(self, column, str(answers.get(by_role.key) or "")[: 300 if column == "title" else 40])
        amount = definition.by_role("amount")
        if amount is not None:
            self.requested_amount_cents = int(answers.get(amount.key) or 0)

    def answers_from_columns(self, definition: FormDefinition) -> None:
        """While the draft page still writes the columns (the default form, whose keys are the columns): the answers
        follow them, for every question of the call's form that has a column."""
        answers = dict(self.answers or {})
        for q in definition.questions():
            if q.key == "requested_amount" or q.role == "amount":
                value: Any = self.requested_amount_cents or None
            elif q.key in (*ANSWER_FIELDS, "field_of_action"):
                value = getattr(self, q.key) or None
            else:
                continue
            if value is None:
                answers.pop(q.key, None)
            else:
                answers[q.key] = value
        self.answers = answers


class Attachment(Model):
    """A file on disk (under UPLOAD_DIR), never a blob in the database."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(
        String(40)
    )  # an attachment question's key, "other", "clarification", "evidence" (of a report's values)
    filename: Mapped[str] = mapped_column(String(255))
    storage_name: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)

    proposal: Mapped[Proposal] = relationship(back_populates="attachments")

    @property
    def download_name(self) -> str:
        """The name shown and sent: cleaned again, for names stored before the rules of issue 17 (a right-to-left
        override, no ``.pdf`` at the end)."""
        return safe_filename(self.filename)


class Clarification(Model):
    """A request for missing documents (Nachforderung) and the applicant's answer."""

    __tablename__ = "clarifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    proposal: Mapped[Proposal] = relationship(back_populates="clarifications")
    requested_by = relationship("User")


class ReasonRequest(Model):
    """An unsuccessful applicant asks for the reasons of the decision (workflows/reasons.py); one per proposal."""

    __tablename__ = "reason_requests"
    __table_args__ = (CheckConstraint(state_check(reasons_wf), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(
        String(20), default=reasons_wf.INITIAL, server_default=reasons_wf.INITIAL
    )
    question: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # the office answers by then (ANSWER_DAYS)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by = relationship("User")

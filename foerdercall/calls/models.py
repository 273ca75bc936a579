from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows import CallState, OpeningState, state_check
from workflows import call as call_wf
from workflows import opening as opening_wf

from ..appform.default import DEFAULT_FORM
from ..appform.definition import FormDefinition, parse_definition, with_fields_of_action
from ..appform.places import with_places
from ..extensions import Model
from ..timeutil import UTCDateTime, add_months, minute_end, now, to_berlin


class Call(Model):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(
            "committed_cents >= 0 AND committed_cents <= budget_cents", name="budget_not_exceeded"
        ),
        CheckConstraint(
            "max_amount_cents > 0 AND max_amount_cents <= budget_cents", name="cap_within_budget"
        ),
        CheckConstraint(state_check(call_wf), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)  # used in file numbers: KW2011
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # the call's fields of action, each {"key", "de", "en"} (labels.field_label); a proposal names one by its key
    fields_of_action: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # the keys of the offices that decide together (offices.models): one sign-off from each; set from the
    # offices that decide by default when the call is created, fixed with its terms at publication
    deciding_offices: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # The application form: sections of typed questions (foerdercall/appform/definition.py), fixed at publication
    application_form: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=lambda: copy.deepcopy(DEFAULT_FORM), server_default="{}"
    )
    state: Mapped[str] = mapped_column(String(30), default=CallState.DRAFT, index=True)
    mode: Mapped[str] = mapped_column(String(20), default="procurement")  # or "grant"
    legal_regime: Mapped[str] = mapped_column(String(200), default="")
    procedure_type: Mapped[str] = mapped_column(String(200), default="")
    procedure_reason: Mapped[str] = mapped_column(Text, default="")
    estimated_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    max_amount_cents: Mapped[int] = mapped_column(BigInteger)
    committed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    submission_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    review_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    clarification_days: Mapped[int] = mapped_column(default=14)
    acceptance_days: Mapped[int] = mapped_column(default=28)
    implementation_months: Mapped[int] = mapped_column(default=12)
    # The milestones every award of the call starts with: rows {"de", "en", "month"} (months after the award was
    # accepted, within the implementation period); the final report ends the measure.
    milestone_plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # Reminders (worker): days before the submission deadline to remind applicants with a draft, before the
    # review deadline to remind reviewers; days a sign-off may wait before the office is reminded and then
    # its head; days before a milestone and before the end of the implementation period.
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [7, 1], server_default="[7, 1]")
    review_reminder_days: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: [3, 1], server_default="[3, 1]"
    )
    signoff_reminder_days: Mapped[int] = mapped_column(default=3, server_default="3")
    signoff_escalation_days: Mapped[int] = mapped_column(default=5, server_default="5")
    milestone_reminder_days: Mapped[int] = mapped_column(default=7, server_default="7")
    implementation_reminder_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # Decision mails (rejection, award, ineligible) wait in the outbox until an official releases them.
    hold_decision_mails: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Reviewing and ranking (issue 4): reviewers per proposal for the automatic assignment, at least one
    # reviewer from each office, justification for every score (else only for the ends of the scale), blind
    # review (the others' scores only after one's own), the applicant's identity hidden from reviewers, the
    # aggregation of the reviewers' scores ("mean" or "median"), and the standstill threshold (net cents).
    reviewers_per_proposal: Mapped[int] = mapped_column(default=2, server_default="2")
    reviewer_from_each_office: Mapped[bool] = mapped_column(default=False, server_default=false())
    justify_every_score: Mapped[bool] = mapped_column(default=True, server_default=true())
    blind_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    hide_applicant: Mapped[bool] = mapped_column(default=False, server_default=false())
    score_aggregation: Mapped[str] = mapped_column(String(10), default="mean", server_default="mean")
    standstill_threshold_cents: Mapped[int] = mapped_column(
        BigInteger, default=50_000_00, server_default="5000000"
    )
    # Data protection (issue 5): the privacy notice shown with the call ("" = the template generated from the
    # call's data, privacy.notice), and the months after the call was decided after which the worker
    # anonymises the personal data of proposals that were not funded (privacy.retention).
    privacy_notice: Mapped[str] = mapped_column(Text, default="", server_default="")
    # days after a rejection or exclusion in which the applicant may ask for its reasons (named in the notice)
    reasons_request_days: Mapped[int] = mapped_column(default=30, server_default="30")
    retention_months: Mapped[int] = mapped_column(default=6, server_default="6")
    # the data-protection officer checked the notice in force (marked by an official on the draft); a change of
    # the notice's text clears the mark (calls.operations.update_call); a publication needs it (policy.checklist)
    privacy_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    privacy_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A tie left after the criteria marked for ties (Criterion.tie_rank) is decided by lots, announced with the
    # call; without it, by a recorded decision of the deciding offices (ranking.ties)
    lots_announced: Mapped[bool] = mapped_column(default=False, server_default=false())
    # co-funded by the EU (ERDF): the emblem and funding statement on its pages and documents (publicity), the
    # duty passed on in the award letter, and its records kept 5 years from the end of the last payment's year
    eu_funded: Mapped[bool] = mapped_column(default=False, server_default=false())
    # a grant's conditions (Nebenbestimmungen, e.g. the ANBest-P and the call's own), part of the approval notice
    grant_conditions: Mapped[str] = mapped_column(Text, default="", server_default="")
    scale_max: Mapped[int] = mapped_column(default=5)
    min_total: Mapped[int] = mapped_column(default=50)  # points of 100
    version: Mapped[int] = mapped_column(default=1)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_file_seq: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    row_version: Mapped[int] = mapped_column(default=1)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    opening: Mapped[Opening | None] = relationship(back_populates="call", uselist=False)

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def field_keys(self) -> list[str]:
        return [f["key"] for f in self.fields_of_action or []]

    @property
    def tie_criteria(self) -> list[Criterion]:
        """The criteria that break a tie of the totals, in their published order (Criterion.tie_rank)."""
        return sorted((c for c in self.criteria if c.tie_rank is not None), key=lambda c: c.tie_rank or 0)

    @property
    def stored_form(self) -> FormDefinition:
        """The application form as stored (the call editor's question builder edits it)."""
        return parse_definition(self.application_form or DEFAULT_FORM)

    @property
    def form_definition(self) -> FormDefinition:
        """The application form, its field of action question offering the call's fields of action."""
        return with_places(with_fields_of_action(self.stored_form, self.fields_of_action or []))

    def planned_period(self) -> tuple[dt.date, dt.date]:
        """The implementation period an applicant plans in (their milestone plan): from the day of the deadline,
        the call's months long (Leipzig days)."""
        start = self.submission_deadline
        return to_berlin(start).date(), to_berlin(add_months(start, self.implementation_months)).date()

    @property
    def remaining_cents(self) -> int:
        return self.budget_cents - self.committed_cents

    @property
    def submissions_close_at(self) -> dt.datetime:
        return minute_end(self.submission_deadline)

    @property
    def is_sealed(self) -> bool:
        """Procurement: nobody at the city reads a submission before two officials opened them."""
        return self.mode == "procurement" and (
            self.opening is None or self.opening.state != OpeningState.OPENED
        )

    @classmethod
    def sealed(cls):
        """:attr:`is_sealed` as an SQL condition on calls (for a query over many rows)."""
        opened = select(Opening.id).where(Opening.call_id == cls.id, Opening.state == OpeningState.OPENED)
        return and_(cls.mode == "procurement", ~opened.exists())

    @property
    def is_fixed(self) -> bool:
        return self.state != CallState.DRAFT


class Criterion(Model):
    __tablename__ = "criteria"
    __table_args__ = (
        UniqueConstraint("call_id", "key"),
        CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column()  # percent; a published catalogue sums to 100
    knockout_min: Mapped[int | None] = mapped_column()
    # 1, 2, …: breaks a tie of the totals in this order (published with the call); None: not a tie-break
    tie_rank: Mapped[int | None] = mapped_column()
    call: Mapped[Call] = relationship(back_populates="criteria")


class CallVersion(Model):
    """Each published state of a call's fixed terms: version 1 at publication, then corrections."""

    __tablename__ = "call_versions"
    __table_args__ = (UniqueConstraint("call_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)


class Opening(Model):
    """Opening of the sealed submissions (Öffnung): requested by one official, confirmed by another.
    ``state``: workflows/opening.py."""

    __tablename__ = "openings"
    __table_args__ = (
        CheckConstraint("confirmed_by_id IS NULL OR confirmed_by_id <> requested_by_id", name="two_people"),
        CheckConstraint(state_check(opening_wf), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(
        String(20), default=opening_wf.INITIAL, server_default=opening_wf.INITIAL
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    record: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, deferred=True
    )  # Öffnungsniederschrift: read when shown

    call: Mapped[Call] = relationship(back_populates="opening")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])

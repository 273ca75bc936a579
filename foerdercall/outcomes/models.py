"""What a measure achieved: the values of the call's indicators, reported and checked (issue 15)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows import indicator as indicator_wf
from workflows import state_check

from ..extensions import Model
from ..timeutil import UTCDateTime, now

VALUE = Numeric(20, 4)  # appform.definition: NUMBER_MAX, NUMBER_DECIMALS


class IndicatorValue(Model):
    """An achieved value of one indicator (by its key in the call's form) for one measure, as of its report.
    ``state``: workflows/indicator.py; ``corrected`` holds the official's value, which then counts."""

    __tablename__ = "indicator_values"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("corrected IS NULL OR corrected >= 0", name="corrected_not_negative"),
        CheckConstraint(state_check(indicator_wf), name="state"),
        CheckConstraint("source IN ('report', 'api')", name="source_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(VALUE)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    source: Mapped[str] = mapped_column(String(10), default="report", server_default="report")
    state: Mapped[str] = mapped_column(
        String(20), default=indicator_wf.INITIAL, server_default=indicator_wf.INITIAL
    )
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    # the evidence (a PDF, optional; an attachment of kind "evidence"): sent with the report, for each of its values
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    corrected: Mapped[Decimal | None] = mapped_column(VALUE)
    review_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    report = relationship("Report")
    evidence = relationship("Attachment")

    @property
    def counted(self) -> Decimal:
        """The value the measure counts with: the official's correction, else the reported value."""
        return self.corrected if self.corrected is not None else self.value


class ReportText(Model):
    """The office's short text of an implementation report: one per call, or one per calendar year."""

    __tablename__ = "report_texts"
    __table_args__ = (CheckConstraint("(call_id IS NULL) <> (year IS NULL)", name="call_or_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    year: Mapped[int | None] = mapped_column(unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, ForeignKey, String, Text, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows import ObjectionState, state_check
from workflows import objection as objection_wf
from workflows import tie as tie_wf

from ..extensions import Model
from ..timeutil import UTCDateTime

# per-criterion aggregates; binary JSON on PostgreSQL, where the ranking orders by its elements
SCORES = JSON().with_variant(JSONB(), "postgresql")


class Standstill(Model):
    """The waiting period before an award of the call's threshold or more (Saxony: €50,000 net, 10 calendar
    days): the unsuccessful applicants are informed at its start; an objection recorded before it ends holds
    the award until an official resolves it. The objection is either dismissed (the award may go ahead after
    the period) or upheld: then the decision is reopened (``reopen_decision``), this standstill is closed and
    kept for the record, and a new decision that still reaches the threshold starts a new standstill.

    ``state`` is the objection's (workflows/objection.py); the objection_* and resolved_* columns say what,
    when and by whom."""

    __tablename__ = "standstills"
    __table_args__ = (CheckConstraint(state_check(objection_wf), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(
        String(20), default=objection_wf.INITIAL, server_default=objection_wf.INITIAL
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    informed: Mapped[int] = mapped_column(default=0)  # unsuccessful applicants told at the start
    objection_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    objection: Mapped[str] = mapped_column(Text, default="")
    objection_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "dismissed" (zurückgewiesen) or "upheld" (abgeholfen) once resolved; "" before (and for old rows)
    objection_outcome: Mapped[str] = mapped_column(String(10), default="", server_default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # the decision was reopened
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_by = relationship("User", foreign_keys=[started_by_id])

    @property
    def objection_open(self) -> bool:
        return self.state == ObjectionState.OPEN


class ProposalScore(Model):
    """The aggregate of a proposal's submitted reviews, refreshed with each submission (a submitted review is
    fixed, and so is the catalogue of a published call): the ranking reads one row per proposal instead of
    every score. Per criterion in catalogue order; None where no reviewer could score it. The weighted total
    (0–100, two decimals) and whether a knock-out criterion is missed are kept for both aggregations, so the
    ranking orders by them in the database."""

    __tablename__ = "proposal_scores"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    reviews: Mapped[int] = mapped_column(default=0)
    means: Mapped[list] = mapped_column(SCORES)
    medians: Mapped[list] = mapped_column(SCORES)
    min_points: Mapped[float | None] = mapped_column(Float)  # the lowest review total (0–100)
    max_points: Mapped[float | None] = mapped_column(Float)
    total_mean: Mapped[float | None] = mapped_column(Float)  # None: no criterion could be scored
    total_median: Mapped[float | None] = mapped_column(Float)
    knocked_mean: Mapped[bool] = mapped_column(default=False, server_default=false())
    knocked_median: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TieBreak(Model):
    """How a tie the call's published tie-break criteria left open was resolved (workflows/tie.py): by a
    decision of the deciding offices (an order with a reason, agreed by each office) or, when the call announced
    lots, by lots drawn in the app (the seed recorded, a second official witnessing). ``members``: the tied
    proposals' ids (sorted), ``ranked``: their order, best first; ``signatures``: who agreed or witnessed,
    [{"user_id", "office", "at"}], the proposer or drawer first."""

    __tablename__ = "tie_breaks"
    __table_args__ = (
        CheckConstraint(state_check(tie_wf), name="state"),
        CheckConstraint("method IN ('decision', 'lot')", name="method"),
        CheckConstraint("method <> 'lot' OR seed IS NOT NULL OR state = 'open'", name="lot_has_seed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=tie_wf.INITIAL, server_default=tie_wf.INITIAL)
    method: Mapped[str] = mapped_column(String(10))
    members: Mapped[list[int]] = mapped_column(JSON)
    ranked: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[str | None] = mapped_column(String(64))
    signatures: Mapped[list[dict]] = mapped_column(JSON, default=list)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    refusal: Mapped[str] = mapped_column(Text, default="")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows import hold as hold_wf
from workflows import state_check

from ..extensions import Model
from ..timeutil import UTCDateTime


class Anonymisation(Model):
    """A proposal whose personal data the worker anonymised after the call's retention period
    (``privacy.retention``): one row per proposal, so a second sweep finds nothing left to do."""

    __tablename__ = "anonymisations"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    anonymised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    files_deleted: Mapped[int] = mapped_column(default=0)
    files: Mapped[list] = mapped_column(JSON, default=list)  # kind, size and SHA-256 of each deleted file
    account_anonymised: Mapped[bool] = mapped_column(default=False)


class LegalHold(Model):
    """A legal hold on a proposal's record (workflows/hold.py): placed and lifted by officials, with reasons."""

    __tablename__ = "legal_holds"
    __table_args__ = (CheckConstraint(state_check(hold_wf), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=hold_wf.INITIAL, server_default=hold_wf.INITIAL)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lift_reason: Mapped[str] = mapped_column(Text, default="")
    placed_by = relationship("User", foreign_keys=[placed_by_id])
    lifted_by = relationship("User", foreign_keys=[lifted_by_id])

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

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

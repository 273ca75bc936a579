from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import UTCDateTime, now


class OutboxMail(db.Model):
    """Every mail the process sends, written in the same transaction as the change that causes it.

    ``dedup_key`` makes a mail unique (kind, object, moment, recipient): writing it twice is a no-op.
    """

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending/sent/failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

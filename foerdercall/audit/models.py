from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..timeutil import UTCDateTime, now


class AuditEvent(Model):
    """Append-only record of every state change, decision, score and document: who, office, when, why.

    Tamper-evident: each event carries ``seq`` (its place in the one chain of all events, in commit order),
    the previous event's hash and its own (SHA-256 over the previous hash and the event's content, see
    ``audit.trail.event_hash``). Changing, deleting or inserting an event breaks the chain from there on;
    ``foerdercall audit verify`` names the first broken event. ``mac``: an HMAC of the hash with the audit key,
    which is not in the database (``audit.trail``), so that the chain cannot be recomputed behind the
    application's back; empty for events written before MACs (covered by the first checkpoint after them).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(200))  # kept as written at the time
    actor_office: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int] = mapped_column()
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # set when the transaction commits (audit.trail.chain_at_commit); empty only until then
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))
    actor = relationship("User")


class AuditChainHead(Model):
    """The end of the audit chain (one row): the last event's place and hash. A transaction that wrote audit
    events locks this row right before it commits, so events are chained in commit order, one after the other."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC of (last_seq, last_hash) with the audit key

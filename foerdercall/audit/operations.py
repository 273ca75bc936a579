"""The audit trail: append-only and chained by hashes.

:func:`record` adds an event to the current transaction; it is written with the transaction's other changes
but without its place in the chain. Right before the transaction commits (:func:`_chain_at_commit`), the
transaction locks the chain's head row (``audit_chain_head``), gives each of its events, in the order they
were written, the next ``seq`` and the previous hash, and stores ``hash = SHA-256(previous hash + canonical
JSON of the event)``; the lock ends with the commit. Transactions are so chained one after the other in
commit order, and the head row is locked only for the moment of the commit (locked from the first event
on, it made every audited transaction wait for the one before it to finish all its work).
:func:`verify_chain` recomputes the chain and names the first event that does not match (changed, deleted,
inserted, reordered, or never chained).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..extensions import db
from ..timeutil import UTC, now
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
_UNCHAINED = "foerdercall_audit_unchained"  # session.info: this transaction wrote audit events


def record(
    actor,
    action: str,
    obj,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    at=None,
) -> AuditEvent:
    """Write one audit event in the current transaction (the caller commits with the change itself)."""
    object_type = obj.__tablename__
    call_id = getattr(obj, "call_id", None) if object_type != "calls" else obj.id
    proposal_id = obj.id if object_type == "proposals" else getattr(obj, "proposal_id", None)
    ev = AuditEvent(
        at=at or now(),
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "System",
        actor_office=actor.office if actor else None,
        action=action,
        object_type=object_type,
        object_id=obj.id,
        call_id=call_id,
        proposal_id=proposal_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason or "",
        data=json.loads(json.dumps(data or {}, default=str)),  # stored exactly as hashed
    )
    db.session.add(ev)
    db.session.info[_UNCHAINED] = True
    return ev


def canonical(ev) -> str:
    """The content an event's hash covers, as one canonical JSON text."""
    return json.dumps({
        "seq": ev.seq,
        "at": ev.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": ev.actor_id, "actor_name": ev.actor_name, "actor_office": ev.actor_office,
        "action": ev.action, "object_type": ev.object_type, "object_id": ev.object_id,
        "call_id": ev.call_id, "proposal_id": ev.proposal_id,
        "from_state": ev.from_state, "to_state": ev.to_state, "reason": ev.reason, "data": ev.data,
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(prev_hash: str, ev) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(ev)}".encode()).hexdigest()


def _head(session: Session) -> AuditChainHead:
    """The chain's head row, locked until the transaction ends (made on first use of an empty database)."""
    query = (select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
             .execution_options(populate_existing=True))
    head = session.execute(query).scalar_one_or_none()
    if head is None:
        insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(AuditChainHead).values(id=1, last_seq=0, last_hash=GENESIS)
                        .on_conflict_do_nothing(index_elements=["id"]))
        head = session.execute(query).scalar_one()
    return head


def _chain(session: Session) -> None:
    """Give the transaction's events (written, not yet chained) their places in the chain, in the order they
    were written, under the lock of the head row. Only this transaction's own events can be unchained: every
    other transaction chains its events before it commits."""
    t = AuditEvent.__table__
    # read before the head is locked (they are this transaction's own, nobody else changes them): the lock,
    # which every audited commit waits for, covers only the hashing and the two updates
    rows = session.execute(select(*t.columns).where(t.c.seq.is_(None)).order_by(t.c.id)).all()
    head = _head(session)
    chained = []
    for row in rows:
        ev = SimpleNamespace(**row._mapping)
        ev.seq, ev.prev_hash = head.last_seq + 1, head.last_hash
        ev.hash = event_hash(ev.prev_hash, ev)
        head.last_seq, head.last_hash = ev.seq, ev.hash
        chained.append({"event_id": ev.id, "seq": ev.seq, "prev_hash": ev.prev_hash, "hash": ev.hash})
    if chained:
        session.execute(update(t).where(t.c.id == bindparam("event_id"))
                        .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash")),
                        chained, execution_options={"synchronize_session": False})
        session.flush()  # the head row


@dataclass
class ChainReport:
    events: int
    head: str
    broken_event_id: int | None = None
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain(batch: int = 5000) -> ChainReport:
    """Recompute the whole chain in order of ``seq``; the first event that does not fit is reported."""
    prev, expected, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = db.session.execute(select(*AuditEvent.__table__.columns).where(AuditEvent.seq >= expected)
                                  .order_by(AuditEvent.seq).limit(batch)).all()  # plain rows, not kept
        for ev in rows:
            count += 1
            if ev.seq != expected:
                return ChainReport(count, prev, ev.id, ev.seq, f"seq {expected} is missing (deleted?)")
            if ev.prev_hash != prev:
                return ChainReport(count, prev, ev.id, ev.seq, "does not follow the previous event")
            if event_hash(prev, ev) != ev.hash:
                return ChainReport(count, prev, ev.id, ev.seq, "content changed after it was written")
            prev, expected, last_seq = ev.hash, expected + 1, ev.seq
        if len(rows) < batch:
            break
    unchained = db.session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.seq.is_(None)))
    if unchained is not None:
        return ChainReport(count, prev, unchained, None, "not in the chain (written behind the application's back?)")
    head = db.session.get(AuditChainHead, 1)
    if head is None or head.last_seq != last_seq or head.last_hash != prev:
        return ChainReport(count, prev, None, last_seq + 1, "events after the last one are missing "
                           f"(the chain's head says {head.last_seq if head else '?'} events)")
    return ChainReport(count, prev)


class AuditImmutable(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _audit_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable("audit events are append-only")


@event.listens_for(Session, "before_commit")
def _chain_at_commit(session):
    if session.in_nested_transaction():  # a savepoint: the transaction itself commits later
        return
    if session.info.pop(_UNCHAINED, False):
        session.flush()
        _chain(session)


@event.listens_for(Session, "after_rollback")
def _forget_unchained(session):
    if not session.in_transaction():  # the whole transaction is gone, not just a savepoint
        session.info.pop(_UNCHAINED, None)

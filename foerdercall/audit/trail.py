"""The audit trail: append-only and chained by hashes.

:func:`record` adds an event to the current transaction; it is written with the transaction's other changes
but without its place in the chain. Right before the transaction commits (:func:`chain_at_commit`), the
transaction locks the chain's head row (``audit_chain_head``), gives each of its events, in the order they
were written, the next ``seq`` and the previous hash, and stores ``hash = SHA-256(previous hash + canonical
JSON of the event)``; the lock ends with the commit. Transactions are so chained one after the other in
commit order, and the head row is locked only for the moment of the commit (locked from the first event
on, it made every audited transaction wait for the one before it to finish all its work).
:func:`checkpoints.verify_chain` recomputes the chain and names the first event that does not match (changed, deleted,
inserted, reordered, or never chained).

The hashes alone are public arithmetic: whoever can write to the database could change an event and recompute
every later hash and the head. So the chain is anchored outside the database (issue 17):

- **MACs.** ``_chain`` also stores ``mac = HMAC-SHA256(audit key, "foerdercall audit event" + hash)`` for each
  event and a MAC of the head (``"foerdercall audit head"``, seq, hash), with the key of :func:`audit_keys`
  (``AUDIT_KEY``, never in the database): two HMACs of 64 bytes under the lock, a few microseconds. A rewritten
  event cannot get a valid MAC; a head moved back needs a MAC the database never held at that place (unless
  someone kept a copy of an older head row, which the checkpoints catch).
- **Checkpoints** (:mod:`.checkpoints`): the sweep signs the head (seq, hash, time) into a file outside the
  database, the log and, once a day, a mail. The database must still hold each checkpoint's seq with its hash,
  and the head may not be behind the newest one.
- **Events from before the MACs** (the column is empty) are covered by the first checkpoint after the upgrade,
  which signs a head that hashes over all of them; until then verify says they are not covered. An event
  without a MAC after one with a MAC, or after any checkpoint, is reported as tampered (the MAC removed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import bindparam, select, update
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
    proposal=None,
) -> AuditEvent:
    """Write one audit event in the current transaction (the caller commits with the change itself).

    ``proposal``: the proposal the object belongs to (a milestone's, a payment's): the event shows in its
    history and in its call's record."""
    object_type = obj.__tablename__
    call_id = getattr(obj, "call_id", None) if object_type != "calls" else obj.id
    proposal_id = obj.id if object_type == "proposals" else getattr(obj, "proposal_id", None)
    if proposal is not None:
        proposal_id, call_id = proposal.id, call_id or proposal.call_id
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
    return json.dumps(
        {
            "seq": ev.seq,
            "at": ev.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": ev.actor_id,
            "actor_name": ev.actor_name,
            "actor_office": ev.actor_office,
            "action": ev.action,
            "object_type": ev.object_type,
            "object_id": ev.object_id,
            "call_id": ev.call_id,
            "proposal_id": ev.proposal_id,
            "from_state": ev.from_state,
            "to_state": ev.to_state,
            "reason": ev.reason,
            "data": ev.data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def event_hash(prev_hash: str, ev) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(ev)}".encode()).hexdigest()


# --- the audit key and the MACs -----------------------------------------------------------------------

HKDF_INFO = b"foerdercall audit"
_KEYS = "foerdercall_audit_keys"  # app.extensions: (configured values, keys)


def audit_keys() -> tuple[bytes, ...]:
    """The audit keys, the signing one first: AUDIT_KEY (comma-separated: the first signs, all verify), else
    HKDF-SHA256 of SECRET_KEY with an info of its own. (The embedded default's create_app puts a random key
    from instance/audit_key into AUDIT_KEY.) Never read from the database."""
    config = current_app.config
    source = (config.get("AUDIT_KEY") or "", config.get("SECRET_KEY") or "")
    cached = current_app.extensions.get(_KEYS)
    if cached is not None and cached[0] == source:
        return cached[1]
    configured = [k.strip() for k in source[0].split(",") if k.strip()]
    if configured:
        keys = tuple(k.encode() for k in configured)
    else:
        secret = source[1]
        if not secret:
            raise RuntimeError("neither AUDIT_KEY nor SECRET_KEY is set: audit events cannot be signed")
        material = secret.encode() if isinstance(secret, str) else bytes(secret)
        keys = (HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material),)
    current_app.extensions[_KEYS] = (source, keys)
    return keys


def mac(key: bytes, kind: str, *parts: Any) -> str:
    """HMAC-SHA256 over a kind of its own ("event", "head", "checkpoint") and the parts, one per line."""
    return hmac.new(
        key, "\n".join((f"foerdercall audit {kind}", *map(str, parts))).encode(), hashlib.sha256
    ).hexdigest()


def mac_matches(value: str | None, kind: str, *parts: Any, keys: Iterable[bytes] | None = None) -> bool:
    if not value:
        return False
    return any(hmac.compare_digest(mac(k, kind, *parts), value) for k in (keys or audit_keys()))


def _head(session: Session) -> AuditChainHead:
    """The chain's head row, locked until the transaction ends (made on first use of an empty database)."""
    query = (
        select(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.execute(query).scalar_one_or_none()
    if head is None:
        insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(AuditChainHead)
            .values(id=1, last_seq=0, last_hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["id"])
        )
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
    key = audit_keys()[0]
    head = _head(session)
    chained = []
    for row in rows:
        ev = SimpleNamespace(**row._mapping)
        ev.seq, ev.prev_hash = head.last_seq + 1, head.last_hash
        ev.hash = event_hash(ev.prev_hash, ev)
        head.last_seq, head.last_hash = ev.seq, ev.hash
        chained.append(
            {
                "event_id": ev.id,
                "seq": ev.seq,
                "prev_hash": ev.prev_hash,
                "hash": ev.hash,
                "mac": mac(key, "event", ev.hash),
            }
        )
    if chained:
        head.mac = mac(key, "head", head.last_seq, head.last_hash)
        session.execute(
            update(t)
            .where(t.c.id == bindparam("event_id"))
            .values(
                seq=bindparam("seq"),
                prev_hash=bindparam("prev_hash"),
                hash=bindparam("hash"),
                mac=bindparam("mac"),
            ),
            chained,
            execution_options={"synchronize_session": False},
        )
        session.flush()  # the head row


@dataclass
class ChainReport:
    events: int
    head: str
    broken_event_id: int | None = None
    broken_seq: int | None = None
    problem: str = ""
    macs: int = 0  # events whose MAC holds
    unsigned: int = 0  # events from before MACs (no MAC)
    checkpoints: int = 0  # checkpoint lines whose MAC holds
    covered: int = 0  # events covered by the newest checkpoint (its seq)
    covered_at: str = ""
    checkpoint_problems: list[str] = field(default_factory=list)  # lines that are not genuine checkpoints

    @property
    def ok(self) -> bool:
        return not self.problem and not self.checkpoint_problems

    def broken(self, event_id: int | None, seq: int | None, problem: str) -> ChainReport:
        self.broken_event_id, self.broken_seq, self.problem = event_id, seq, problem
        return self


def walk(
    report: ChainReport,
    expected: int,
    prev: str,
    *,
    checkpoints: dict | None = None,
    signed_after: int | None = None,
    until: int | None = None,
    batch: int = 5000,
) -> int:
    """Check the events from seq ``expected`` on (``prev``: the hash before it) in order: their places, hashes,
    MACs and the checkpoints that name them. ``signed_after``: events after this seq must carry a MAC (a
    checkpoint was written by the upgraded app then). Stops at the first problem (in ``report``) or after
    ``until``; returns the last seq that held. ``report.head`` ends as the last hash that held."""
    keys = audit_keys()
    checkpoints = checkpoints or {}
    signed_seen = False
    last_seq = expected - 1
    t = AuditEvent.__table__
    while True:
        query = select(*t.columns).where(t.c.seq >= expected)
        if until is not None:
            query = query.where(t.c.seq <= until)
        rows = db.session.execute(query.order_by(t.c.seq).limit(batch)).all()  # plain rows, not kept
        for ev in rows:
            report.events += 1
            if ev.seq != expected:
                report.broken(ev.id, ev.seq, f"seq {expected} is missing (deleted?)")
                return last_seq
            if ev.prev_hash != prev:
                report.broken(ev.id, ev.seq, "does not follow the previous event")
                return last_seq
            if event_hash(prev, ev) != ev.hash:
                report.broken(ev.id, ev.seq, "content changed after it was written")
                return last_seq
            if ev.mac is None:
                if signed_seen:
                    report.broken(
                        ev.id, ev.seq, "has no MAC, although the events before it have one (removed?)"
                    )
                    return last_seq
                if signed_after is not None and ev.seq > signed_after:
                    report.broken(
                        ev.id,
                        ev.seq,
                        "has no MAC, although it was written after the checkpoint of "
                        f"seq {signed_after} (removed?)",
                    )
                    return last_seq
                report.unsigned += 1
            elif mac_matches(ev.mac, "event", ev.hash, keys=keys):
                signed_seen = True
                report.macs += 1
            else:
                before = (
                    f"; or one of the {report.unsigned} events before it without a MAC was changed"
                    if report.unsigned and not signed_seen
                    else ""
                )
                report.broken(
                    ev.id,
                    ev.seq,
                    "its MAC does not match: changed and its hashes recomputed, or "
                    f"signed with another key than AUDIT_KEY / SECRET_KEY{before}",
                )
                return last_seq
            cp = checkpoints.get(ev.seq)
            if cp is not None:
                if cp.hash != ev.hash:
                    report.broken(
                        ev.id,
                        ev.seq,
                        f"differs from the checkpoint of {cp.at} ({cp.source}): an "
                        f"event at or before seq {ev.seq} was changed",
                    )
                    return last_seq
                report.covered, report.covered_at = ev.seq, cp.at
            prev, expected, last_seq = ev.hash, expected + 1, ev.seq
            report.head = prev
        if len(rows) < batch:
            return last_seq


class AuditImmutable(Exception):
    pass


def audit_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable("audit events are append-only")


def chain_at_commit(session):
    if session.in_nested_transaction():  # a savepoint: the transaction itself commits later
        return
    if session.info.pop(_UNCHAINED, False):
        session.flush()
        _chain(session)


def forget_unchained(session):
    if not session.in_transaction():  # the whole transaction is gone, not just a savepoint
        session.info.pop(_UNCHAINED, None)

"""What runs after the commit: one queue per session for the mails to hand over, the jobs to start and the
files to delete.

:func:`on_commit` keeps an entry on the session (``session.info``) together with the transaction it was queued
in. When the outermost transaction commits, the entries run once, right after it (the session is free again:
a callback may read and commit). A rollback drops them, the rollback of a savepoint those queued inside it (a
refused ``fire()``, one refused proposal of a bulk sign-off). :func:`on_rollback` is the reverse (a file
written for a row that did not last): it runs when its transaction or savepoint is rolled back or ends
without a commit, and is dropped by the commit.

An entry is a *kind* with one payload (``on_commit("mail", mail.id)``): the kind's handler gets the payloads
of one commit as a list, in order (a request's mails go to the worker as one hand-over). Or a callable with its
arguments. A callback that fails is logged and does not stop the others: the transaction is committed, and
what it wrote is the record (the relay, the sweep and the job cleanup pick up what was not handed over).

The kinds and the session listeners that drive the queue are registered in :mod:`foerdercall.session_events`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, SessionTransaction

from .extensions import db

log = logging.getLogger(__name__)

KINDS: dict[str, Callable[[list], Any]] = {}  # kind -> handler(payloads); filled by session_events

_QUEUE = "foerdercall_after_commit"  # session.info: the entries of the open transaction
_COMMITTED = (
    "foerdercall_committed_transaction"  # session.info: the transaction whose commit just went through
)
_GATHER = "foerdercall_after_commit_gathered"  # session.info: kind -> Gathered, while gathered() runs


@dataclass
class _Entry:
    owner: SessionTransaction  # the transaction or savepoint it was queued in
    on_commit: bool  # False: runs on rollback
    target: str | Callable
    args: tuple


@dataclass
class Gathered:
    """The payloads of one kind that the commits inside :func:`gathered` released, and what their handler
    returned when the block ended."""

    payloads: list = field(default_factory=list)
    result: Any = None


def on_commit(target: str | Callable, *args) -> None:
    """Run ``target`` once after the outermost transaction of this session commits; never, if it (or the
    savepoint this is queued in) is rolled back. ``target``: a kind with its payload, or a callable with
    its arguments."""
    _queue(True, target, args)


def on_rollback(target: str | Callable, *args) -> None:
    """Run ``target`` when the transaction (or savepoint) this is queued in is rolled back or ends without a
    commit; never, if it commits."""
    _queue(False, target, args)


def _queue(on_commit: bool, target: str | Callable, args: tuple) -> None:
    if isinstance(target, str):
        if target not in KINDS:
            raise LookupError(f"no after-commit handler for {target!r} (session_events.register)")
        if len(args) != 1:
            raise TypeError(f"a kind ({target!r}) takes one payload")
    session = db.session()
    if not session.in_transaction():
        session.begin()
    owner = session.get_nested_transaction() or session.get_transaction()
    assert owner is not None  # begun above
    session.info.setdefault(_QUEUE, []).append(_Entry(owner, on_commit, target, args))


def discard(kind: str) -> list:
    """Drop what this session queued of ``kind`` (a hand-over that is lost; tests). Returns the payloads."""
    entries = db.session.info.get(_QUEUE, [])
    dropped = [e for e in entries if e.target == kind]
    entries[:] = [e for e in entries if e.target != kind]
    return [e.args[0] for e in dropped]


@contextmanager
def gathered(kind: str) -> Iterator[Gathered]:
    """The entries of ``kind`` that the commits inside the block release run together when it ends (the
    sweep: the mails of its many short transactions go to the worker as one hand-over). What was committed
    runs even when the block raises."""
    session = db.session()
    bags = session.info.setdefault(_GATHER, {})
    if kind in bags:
        raise RuntimeError(f"already gathering {kind!r}")
    bag = bags[kind] = Gathered()
    try:
        yield bag
    finally:
        del bags[kind]
        bag.result = _call(kind, KINDS[kind], bag.payloads) if bag.payloads else None


# --- the session listeners (registered in session_events) ------------------------------------------------


def mark_committed(session: Session) -> None:
    """after_commit: remember which transaction committed (a savepoint's release dispatches it too)."""
    session.info[_COMMITTED] = session.get_nested_transaction() or session.get_transaction()


def transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    """after_transaction_end: run, keep or drop the entries of the transaction that ended."""
    if transaction.parent is not None and not transaction.nested:
        return  # a flush's inner transaction: nothing was committed or rolled back by it
    committed = session.info.get(_COMMITTED) is transaction
    if committed:
        del session.info[_COMMITTED]
    entries = session.info.get(_QUEUE)
    if not entries:
        return
    if transaction.parent is None:  # the outermost transaction: everything that is left is decided
        del session.info[_QUEUE]
        _run(session, [e for e in entries if e.on_commit == committed], committed=committed)
    elif not committed:  # a savepoint rolled back: what was queued inside it goes with it
        inside = [e for e in entries if _within(e.owner, transaction)]
        if inside:
            entries[:] = [e for e in entries if not _within(e.owner, transaction)]
            _run(session, [e for e in inside if not e.on_commit], committed=False)
    # a savepoint released: its entries wait for the transaction around it


def _within(owner: SessionTransaction | None, transaction: SessionTransaction) -> bool:
    while owner is not None:
        if owner is transaction:
            return True
        owner = owner.parent
    return False


def _run(session: Session, entries: list[_Entry], *, committed: bool) -> None:
    """In the order queued; a kind once with all its payloads (where it was first queued)."""
    steps: list[tuple[str | Callable, list]] = []
    of_kind: dict[str, list] = {}
    for e in entries:
        if not isinstance(e.target, str):
            steps.append((e.target, list(e.args)))
        elif e.target in of_kind:
            of_kind[e.target].append(e.args[0])
        else:
            of_kind[e.target] = [e.args[0]]
            steps.append((e.target, of_kind[e.target]))
    bags = session.info.get(_GATHER, {}) if committed else {}
    for target, args in steps:
        if not isinstance(target, str):
            _call(getattr(target, "__qualname__", repr(target)), target, *args)
        elif target in bags:
            bags[target].payloads.extend(args)
        else:
            _call(target, KINDS[target], args)


def _call(name: str, fn: Callable, *args) -> Any:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - committed: the next callback still runs; the rows are the record
        log.exception("after-commit queue: %s failed", name)
        return None

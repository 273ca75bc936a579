"""Row locks: a transaction that will change a row locks it first and reads it again, so that the second of
two racing transactions sees the first's result. Every state change (``workflow.engine.fire``) and every
operation that guards a sum (the call's budget, file numbers) locks through here."""

from __future__ import annotations

import functools

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from .extensions import db

_LOCKED = "foerdercall_locked_rows"  # session.info: (table, id) of the rows this transaction has locked


def lock(obj):
    """Lock the row and reload it: the second of two racing transactions sees the first's result.

    PostgreSQL: ``FOR NO KEY UPDATE`` (what an UPDATE that keeps the key takes itself). It excludes every
    other locker of the row, but not the ``KEY SHARE`` locks that inserts referencing the row take for their
    foreign key: with ``FOR UPDATE``, two submissions that had each written an audit event of the call (a
    reference to it) and then locked the call waited for each other.

    Once per transaction: a row this transaction has already locked (and so reloaded) cannot have been
    changed by anyone else since, so a second ``lock`` of it (save, upload and submit in one request each
    lock the proposal) returns the object as it is, without another ``SELECT … FOR UPDATE``. The memory of
    locked rows ends with the transaction and with the rollback of any savepoint (PostgreSQL releases the
    row locks taken inside a savepoint that is rolled back); see :func:`forget_locks`. SQLite: every
    transaction is ``BEGIN IMMEDIATE`` (one writer), so nothing changes under it either."""
    session = db.session()
    cls = type(obj)
    key = (cls.__tablename__, obj.id)
    locked = session.info.get(_LOCKED)
    if locked is not None and key in locked and obj in session and session.in_transaction():
        # as the reload would: flush first, and forget the loaded relationships (rows this transaction wrote
        # by their foreign key only, an opening of the call, an attachment of the proposal, are found)
        if session.autoflush:
            session.flush()
        session.expire(obj, _relationships(cls))  # type: ignore[arg-type]  # mypy: a class is hashable
        return obj
    row = session.execute(
        select(cls)
        .where(cls.id == obj.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    session.info.setdefault(_LOCKED, set()).add(key)
    return row


@functools.cache
def _relationships(cls) -> tuple[str, ...]:
    return tuple(r.key for r in sa_inspect(cls).relationships)


def lock_id(cls, id_: int, *options):
    """Load a row by its id already locked (see :func:`lock`), or None: a request that will change the row
    reads it once instead of reading it and then locking it. ``options``: loader options (a joined
    many-to-one is read with it, only the row itself is locked)."""
    session = db.session()
    row = (
        session.execute(
            select(cls)
            .where(cls.id == id_)
            .options(*options)
            .with_for_update(of=cls, key_share=True)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )
    if row is not None:
        session.info.setdefault(_LOCKED, set()).add((cls.__tablename__, row.id))
    return row


def forget_locks(session, *_args) -> None:
    """after_soft_rollback (session_events): any rollback, of a savepoint too (PostgreSQL releases the row
    locks taken in it)."""
    session.info.pop(_LOCKED, None)


def forget_locks_at_end(session, transaction) -> None:
    if transaction.parent is None:  # commit, rollback or close; a savepoint's release keeps its locks
        forget_locks(session)

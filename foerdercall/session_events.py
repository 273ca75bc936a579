"""Every listener on the SQLAlchemy session, and what runs after a commit, in one place (create_app calls
:func:`register`). The functions live with the rules they serve; only here are they attached. The
engine's own listeners (SQLite's pragmas and BEGIN IMMEDIATE) are per engine, in foerdercall/__init__.py.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from . import aftercommit, locking
from .audit import trail as audit
from .calls import operations as calls
from .jobs.runner import start_jobs
from .mail.operations import dispatch
from .proposals.operations import delete_files
from .reviews import queries as reviews

_registered = False


def register() -> None:
    """Attach the listeners to every session (class-wide, once per process: later calls change nothing)."""
    global _registered
    if _registered:
        return
    _registered = True

    # A published call's criteria, weights and attachments change only through correct_call().
    event.listen(Session, "before_flush", calls.published_call_is_fixed)
    # Audit events are append-only: a flush that changes or deletes one is refused.
    event.listen(Session, "before_flush", audit.audit_append_only)
    # The transaction's new audit events join the hash chain just before it commits.
    event.listen(Session, "before_commit", audit.chain_at_commit)
    # ... and a rolled-back transaction leaves nothing to chain.
    event.listen(Session, "after_rollback", audit.forget_unchained)
    # A rolled-back savepoint released its row locks: lock() must lock again.
    event.listen(Session, "after_soft_rollback", locking.forget_locks)
    # A signature of neutrality remembered for the session may have been rolled back with its savepoint.
    event.listen(Session, "after_soft_rollback", reviews.forget_neutrality)
    # The end of the transaction releases every row lock.
    event.listen(Session, "after_transaction_end", locking.forget_locks_at_end)

    # What runs after the commit (foerdercall.aftercommit), one kind each:
    aftercommit.KINDS.update(
        mail=dispatch,  # the outbox rows a transaction wrote, handed to the worker (or delivered here)
        job=start_jobs,  # bulk jobs, started once their row is committed (the worker must find it)
        delete_file=delete_files,  # files of deleted rows, or written for rows that were rolled back
    )
    # Which transaction committed (a savepoint's release is reported as a commit too).
    event.listen(Session, "after_commit", aftercommit.mark_committed)
    # Run, keep or drop the queue when a transaction or savepoint ends; last, after the lock memory is reset,
    # because what runs may start a new transaction on the same session.
    event.listen(Session, "after_transaction_end", aftercommit.transaction_ended)

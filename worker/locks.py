"""Only one at a time: a PostgreSQL advisory lock held by a connection of its own.

The lock belongs to a transaction on that connection, so it is released when the job ends, and also when
the worker dies (the connection goes with it). SQLite (the embedded default) has one writer anyway.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from foerdercall.extensions import db


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Yields True when this process holds the lock ``name``, False when another one does."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"foerdercall:{name}".encode())
    conn = db.engine.connect()
    try:
        yield bool(conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))
    finally:
        try:
            conn.rollback()
            conn.close()
        except DBAPIError:  # the connection is gone, and the lock with it
            conn.invalidate()

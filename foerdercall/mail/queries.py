"""Read queries about the mails: the outbox of the officials and a person's own messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from .models import OutboxMail

OUTBOX_PAGE = 500  # the newest mails the outbox shows


def outbox_page(readable, limit: int = OUTBOX_PAGE) -> tuple[list[OutboxMail], int]:
    """The newest mails an official may read (``readable``: the rulebook's condition,
    ``policy.reading.readable_mails``), and how many they may not: all of them, not only the newest."""
    mails = db.session.scalars(select(OutboxMail).where(readable).order_by(OutboxMail.id.desc()).limit(limit))
    hidden = db.session.scalar(select(func.count()).select_from(OutboxMail).where(~readable))
    return list(mails), hidden or 0


def messages_of(user) -> list[OutboxMail]:
    """The user's own mails, newest first (a held one once it is released)."""
    return list(
        db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.recipient_id == user.id, OutboxMail.held.is_(False))
            .order_by(OutboxMail.id.desc())
        )
    )


def failed_mails_where(
    reason: str | None = None, failed_from: dt.datetime | None = None, failed_until: dt.datetime | None = None
) -> list:
    """The failed mails with this reason (exactly) that failed in this time (both ends included)."""
    m = OutboxMail
    where = [m.status == "failed"]
    if reason is not None:
        where.append(m.last_error == reason)
    if failed_from is not None:
        where.append(m.failed_at >= failed_from)
    if failed_until is not None:
        where.append(m.failed_at <= failed_until)
    return where


@dataclass(frozen=True)
class FailedGroup:
    reason: str
    failure: str
    count: int
    first: dt.datetime | None
    last: dt.datetime | None


def failed_by_reason(limit: int = 50) -> list[FailedGroup]:
    """The failed mails grouped by their reason, the largest group first."""
    m = OutboxMail
    rows = db.session.execute(
        select(m.last_error, func.max(m.failure), func.count(), func.min(m.failed_at), func.max(m.failed_at))
        .where(m.status == "failed")
        .group_by(m.last_error)
        .order_by(func.count().desc(), m.last_error)
        .limit(limit)
    ).all()
    return [FailedGroup(*row) for row in rows]

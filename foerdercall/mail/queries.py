"""Read queries about the mails: the outbox of the officials and a person's own messages."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import OutboxMail

OUTBOX_PAGE = 500  # the newest mails the outbox shows


def newest_mails(limit: int = OUTBOX_PAGE) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)))


def messages_of(user) -> list[OutboxMail]:
    """The user's own mails, newest first (a held one once it is released)."""
    return list(
        db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.recipient_id == user.id, OutboxMail.held.is_(False))
            .order_by(OutboxMail.id.desc())
        )
    )

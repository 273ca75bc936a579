"""Read queries about calls that pages share."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from workflows import CallState

from ..extensions import db
from .models import Call, CallVersion


def listed_calls(*, with_drafts: bool) -> Sequence[Call]:
    """The calls, the latest deadline first; drafts only ``with_drafts`` (for those who may see them)."""
    q = select(Call).order_by(Call.submission_deadline.desc())
    if not with_drafts:
        q = q.where(Call.state != CallState.DRAFT)
    return db.session.scalars(q).all()


def versions_of(call) -> Sequence[CallVersion]:
    """The call as published and as corrected, in order."""
    return db.session.scalars(
        select(CallVersion).where(CallVersion.call_id == call.id).order_by(CallVersion.version)
    ).all()


def code_taken(code: str, *, but=None) -> bool:
    """Whether another call (than ``but``) has this code (the file numbers' prefix)."""
    q = select(Call.id).where(Call.code == code)
    if but is not None:
        q = q.where(Call.id != but.id)
    return db.session.scalar(q) is not None

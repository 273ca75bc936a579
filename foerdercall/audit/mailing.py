"""The day's first audit checkpoint, mailed to AUDIT_CHECKPOINT_MAIL: a copy of it outside the server."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from flask import current_app

from ..mail.operations import queue_mail
from ..timeutil import to_berlin
from .checkpoints import Checkpoint, checkpoint_file


def mail_checkpoint(cp: Checkpoint, at: dt.datetime) -> None:
    """The day's first checkpoint to AUDIT_CHECKPOINT_MAIL: keyed by the day, so never twice."""
    address = (current_app.config.get("AUDIT_CHECKPOINT_MAIL") or "").strip()
    if not address:
        return
    day = to_berlin(at).date().isoformat()
    office = SimpleNamespace(id=None, email=address, locale="de", name=address)
    queue_mail(
        "audit_checkpoint",
        office,
        f"{day}:{address}",
        checkpoint=cp,
        line=cp.line(),
        day=day,
        file=str(checkpoint_file()),
    )

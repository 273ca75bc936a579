"""The effects of the call workflow (workflows/call.py)."""

from __future__ import annotations

from ..extensions import db
from ..policy.context import Context
from ..workflow.engine import effect
from .models import CallVersion
from .operations import call_snapshot


@effect
def snapshot_version(ctx: Context):
    call = ctx.obj
    call.published_at = ctx.now
    db.session.add(
        CallVersion(
            call_id=call.id,
            version=call.version,
            snapshot=call_snapshot(call),
            reason="Veröffentlichung",
            created_by_id=ctx.actor.id,
            created_at=ctx.now,
        )
    )


@effect
def mark_closed(ctx: Context):
    ctx.obj.closed_at = ctx.now

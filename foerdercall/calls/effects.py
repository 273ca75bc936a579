"""The effects of the call workflow (workflows/call.py)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from ..policy.context import Context
from ..proposals.models import Proposal
from ..workflow.engine import effect
from .models import Call, CallVersion
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


# --- the opening of the sealed submissions (workflows/opening.py) ----------------------------------------


@effect
def note_opening_request(ctx: Context):
    ctx.obj.requested_by_id, ctx.obj.requested_at = ctx.actor.id, ctx.now


@effect
def write_opening_record(ctx: Context):
    """The opening record (Öffnungsniederschrift): every submitted proposal with its time of receipt and the
    hashes of its files, and a hash over them."""
    opening = ctx.obj
    call = db.session.get_one(Call, opening.call_id)
    proposals = db.session.scalars(
        select(Proposal)
        .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
        .order_by(Proposal.file_seq)
    ).all()
    requested_by = db.session.get_one(User, opening.requested_by_id)
    opening.confirmed_by_id = ctx.actor.id
    opening.confirmed_at = ctx.now
    opening.record = {
        "call": call.code,
        "opened_at": ctx.now.isoformat(),
        "officials": [
            {"name": requested_by.name, "office": requested_by.office},
            {"name": ctx.actor.name, "office": ctx.actor.office},
        ],
        "proposals": [
            {
                "file_number": p.file_number,
                "received_at": p.submitted_at.isoformat() if p.submitted_at else None,  # selected: all set
                "state": p.state,
                "files": [{"name": a.filename, "sha256": a.sha256} for a in p.attachments],
            }
            for p in proposals
        ],
    }
    opening.record["sha256"] = hashlib.sha256(repr(opening.record["proposals"]).encode()).hexdigest()
    ctx.audit_data["proposals"] = len(proposals)

"""Ties the published tie-break criteria leave open (workflows/tie.py): an order proposed by one deciding office
and agreed by the others, or lots drawn in the app and witnessed. Each step goes through ``fire`` and so into
the audit trail; the ranking (ranking.service) puts a resolved group in its order."""

from __future__ import annotations

import random
import secrets

from flask_babel import gettext as _

from workflows import TieState

from ..audit.trail import record
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..locking import lock
from ..policy.conditions import tie_decider, tie_order_refusable, tie_still_open
from ..policy.context import Context
from ..timeutil import now
from ..workflow.engine import effect, fire
from .models import TieBreak


def drawn_order(members: list[int], seed: str) -> list[int]:
    """The order lots give the tied proposals: a shuffle of their sorted ids by the seed. Anyone can draw it
    again from the seed in the record and get the same order."""
    return random.Random(seed).sample(sorted(members), k=len(members))


def _signature(actor) -> dict:
    return {"user_id": actor.id, "name": actor.name, "office": actor.office, "at": now().isoformat()}


@effect
def sign_tie(ctx: Context) -> None:
    """The proposer, an agreeing office or the witness signs (kept on the row for the record)."""
    tb = ctx.obj
    tb.signatures = [*(tb.signatures or []), _signature(ctx.actor)]
    ctx.audit_data["ranked"] = tb.ranked
    if tb.state == TieState.RESOLVED:
        tb.resolved_at = ctx.now


@effect
def cast_lots(ctx: Context) -> None:
    """Draw the lots: a fresh random seed, the order it gives, both kept and audited."""
    tb = ctx.obj
    tb.seed = secrets.token_hex(16)
    tb.ranked = drawn_order(tb.members, tb.seed)
    tb.signatures = [_signature(ctx.actor)]
    ctx.audit_data.update(seed=tb.seed, ranked=tb.ranked)


def _members(ids: list[int]) -> list[int]:
    members = sorted(set(ids))
    if len(members) < 2:
        raise ActionRefused(_("Ein Gleichstand hat mindestens zwei Angebote."))
    return members


def propose_tie_order(call, actor, order: list[int], reason: str) -> TieBreak:
    """An official of a deciding office proposes the order of the tied proposals (best first), with the reason."""
    call = lock(call)  # one decision on a tie at a time
    members = _members(order)
    if len(order) != len(members):
        raise ActionRefused(_("Bitte geben Sie jedem Angebot einen eigenen Platz."))
    tb = TieBreak(
        call_id=call.id,
        method="decision",
        members=members,
        ranked=list(order),
        reason=(reason or "").strip(),
        proposed_by_id=actor.id,
        proposed_at=now(),
    )
    return fire(tb, "propose_tie_order", actor, reason=reason)


def draw_lots(call, actor, members: list[int]) -> TieBreak:
    """Lots, where the call announced them: drawn at once, to be witnessed by a second official."""
    call = lock(call)
    tb = TieBreak(
        call_id=call.id,
        method="lot",
        members=_members(members),
        proposed_by_id=actor.id,
        proposed_at=now(),
    )
    return fire(tb, "draw_lots", actor)


def agree_to_tie(tb: TieBreak, actor) -> TieBreak:
    """Agree to a proposed order (or witness a draw). The agreement that completes it resolves the tie; with more
    than two deciding offices the ones before the last sign here (audited) and wait for the rest."""
    tb = lock(tb)
    signed = {s["office"] for s in tb.signatures or []}
    deciding = set(db.session.get_one(Call, tb.call_id).deciding_offices)
    if (
        tb.method == "decision"
        and tb.state == TieState.PROPOSED
        and actor.office in deciding - signed
        and not deciding <= signed | {actor.office}
    ):
        ctx = Context(obj=tb, actor=actor, now=now())
        if message := tie_still_open(ctx) or tie_decider(ctx) or tie_order_refusable(ctx):
            raise ActionRefused(message)
        tb.signatures = [*(tb.signatures or []), _signature(actor)]
        db.session.flush()
        record(actor, "agree_tie_order", tb, data={"ranked": tb.ranked})
        return tb
    return fire(tb, "resolve_tie", actor)


def refuse_tie_order(tb: TieBreak, actor, reason: str) -> TieBreak:
    """Another deciding office does not agree: the proposal ends, with the reason; a new one may follow."""
    tb = fire(tb, "refuse_tie_order", actor, reason=reason)
    tb.refusal = reason.strip()
    return tb

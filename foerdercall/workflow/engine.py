"""The one way a state changes: fire(obj, trigger, actor, ...).

It locks the row, checks that the transition exists from the current state, that the actor may fire
it and that its conditions hold, runs the shared ``transitions`` machine on the row, applies the
transition's effects (mails go to the outbox) and writes the audit event, all in the caller's
database transaction. A refusal raises ActionRefused with a message for the user and changes nothing.

A new object (not yet added to the session: an opening requested, a report submitted, a payment recorded)
starts in its workflow's INITIAL state; the transition stores it in the state it leads to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from transitions import Machine

import workflows as wf_data
from workflows import find_transition, workflow_name

from ..audit.models import AuditEvent
from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..locking import lock
from ..policy.actors import proposal_of
from ..policy.conditions import CONDITIONS
from ..policy.context import Context
from ..policy.transitions import conditions_refusal, state_refusal, who_refusal
from ..timeutil import now as clock_now


class _Machine(Machine):
    """Finds a state by its value: a row may hold its workflow's enum member (``transitions`` would take an
    enum member's name)."""

    def get_state(self, state):
        return super().get_state(str(state))


_MACHINES: dict[str, Machine] = {}


def machine(name: str) -> Machine:
    if name not in _MACHINES:
        _MACHINES[name] = _Machine(model=None, **wf_data.machine_config(wf_data.WORKFLOWS[name]))
    return _MACHINES[name]


# The effects that workflows/ names, registered by the domains (``@effect`` in their effects modules).
EFFECTS: dict[str, Callable[[Context], None]] = {}


def effect(fn):
    EFFECTS[fn.__name__] = fn
    return fn


def unregistered() -> list[str]:
    """Conditions and effects that workflows/ names but no module registered (the app factory refuses to start)."""
    missing = []
    for name, module in wf_data.WORKFLOWS.items():
        for t in module.TRANSITIONS:
            missing += [
                f"{name}.{t['trigger']}: condition {c}"
                for c in t.get("conditions", ())
                if c not in CONDITIONS
            ]
            missing += [
                f"{name}.{t['trigger']}: effect {e}" for e in t.get("effects", ()) if e not in EFFECTS
            ]
    return missing


def request_now() -> dt.datetime:
    """The moment the whole request had arrived at the server, its files included (web.py ``_start`` reads the
    body before it reads the clock): the moment that counts for deadlines. A submission whose upload began before
    the deadline but ended after it is late; the draft keeps its text and files."""
    if has_request_context() and getattr(g, "request_started", None) is not None:
        return g.request_started
    return clock_now()


def _just_done(obj, trigger: str, actor) -> bool:
    """The object's last change was this very transition by this actor, and it is still where that led."""
    last = db.session.execute(
        select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.to_state)
        .where(AuditEvent.object_type == obj.__tablename__, AuditEvent.object_id == obj.id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return last is not None and tuple(last) == (trigger, actor.id if actor else None, obj.state)


def fire(
    obj, trigger: str, actor, *, reason: str = "", note: str = "", now: dt.datetime | None = None, **params
):
    name = workflow_name(obj)
    new = sa_inspect(obj).transient  # made by this transition: nothing to lock, nobody else sees it yet
    if new:
        obj.state = obj.state or wf_data.WORKFLOWS[name].INITIAL
    else:
        obj = lock(obj)
    t = find_transition(name, trigger)
    if t is None:
        raise ActionRefused(_("Diese Aktion gibt es nicht."))
    if obj.state not in t["source"] and not new and _just_done(obj, trigger, actor):
        return obj  # the same request again (a double click, a retried request, a second tab): done once
    if refusal := state_refusal(t, obj) or who_refusal(t, obj, actor):
        raise ActionRefused(refusal)
    reason = (reason or "").strip()
    if t.get("reason_required") and not reason:
        raise ActionRefused(_("Bitte geben Sie eine Begründung an."))
    ctx = Context(obj=obj, actor=actor, now=now or request_now(), reason=reason, params=params)
    if note := (note or "").strip():  # an official's internal note: in the audit event, never in a mail
        ctx.audit_data["note"] = note
    # A savepoint: a refusal or error anywhere below leaves the caller's other changes (a saved draft) intact.
    with db.session.begin_nested():
        if refusal := conditions_refusal(t, ctx):
            raise ActionRefused(refusal)
        from_state = obj.state
        # no autoflush: the new state and the columns the effects fill in reach the database together
        # (the CHECK constraints tie states to required columns)
        with db.session.no_autoflush:
            if new:
                db.session.add(obj)
            machine(name).events[trigger].trigger(obj)
            for eff in t.get("effects", ()):
                EFFECTS[eff](ctx)
        if new:
            db.session.flush()  # its id, for the audit event
        record(
            actor,
            trigger,
            obj,
            from_state=from_state,
            to_state=obj.state,
            reason=reason,
            data=ctx.audit_data,
            at=ctx.now,
            proposal=proposal_of(obj),
        )
        db.session.flush()
    return obj


def follow(obj, trigger: str) -> None:
    """Move a part along with its whole, inside the whole's transition of the same name (an effect): the final
    report with the proposal's ``accept_final_report``. Only transitions marked ``part_of`` in the part's
    workflow; checked against its states and run on its machine like any other. The whole's audit event
    records the change; a new part starts in its INITIAL state."""
    name = workflow_name(obj)
    t = find_transition(name, trigger)
    if t is None or not t.get("part_of"):
        raise ActionRefused(_("Diese Aktion gibt es nicht."))
    obj.state = obj.state or wf_data.WORKFLOWS[name].INITIAL
    if refusal := state_refusal(t, obj):
        raise ActionRefused(refusal)
    machine(name).events[trigger].trigger(obj)

"""The one way a state changes: fire(obj, trigger, actor, ...).

It locks the row, checks that the transition exists from the current state, that the actor may fire
it and that its conditions hold, runs the shared ``transitions`` machine on the row, applies the
transition's effects (mails go to the outbox) and writes the audit event, all in the caller's
database transaction. A refusal raises ActionRefused with a message for the user and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from transitions import Machine

import workflows as wf_data

from ..audit.operations import record
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import label
from ..timeutil import now as clock_now

_MACHINES: dict[str, Machine] = {}


def machine(name: str) -> Machine:
    if name not in _MACHINES:
        _MACHINES[name] = Machine(model=None, **wf_data.machine_config(wf_data.WORKFLOWS[name]))
    return _MACHINES[name]


def workflow_name(obj) -> str:
    return {"proposals": "proposal", "calls": "call"}[obj.__tablename__]


def transitions_of(name: str) -> list[dict]:
    return wf_data.WORKFLOWS[name].TRANSITIONS


def find_transition(name: str, trigger: str) -> dict | None:
    return next((t for t in transitions_of(name) if t["trigger"] == trigger), None)


def state_label(name: str, state: str, lang: str | None = None) -> str:
    return label(wf_data.WORKFLOWS[name].STATE_LABELS[state], lang)


# Audit actions that are not transitions (operations); transitions use their workflow label.
OPERATION_LABELS = {
    "create_call": ("Aufruf angelegt", "Call created"),
    "update_call": ("Aufruf geändert", "Call changed"),
    "correct_call": ("Aufruf berichtigt", "Call corrected"),
    "request_opening": ("Öffnung angestoßen", "Opening requested"),
    "confirm_opening": ("Öffnung bestätigt", "Opening confirmed"),
    "start_draft": ("Entwurf begonnen", "Draft started"),
    "add_attachment": ("Anlage hochgeladen", "Attachment uploaded"),
    "remove_attachment": ("Anlage entfernt", "Attachment removed"),
    "extend_deadline": ("Frist verlängert", "Deadline extended"),
    "sign_neutrality": ("Neutralitätserklärung", "Declaration of neutrality"),
    "declare_conflict": ("Erklärung zu Interessenkonflikt", "Conflict of interest declared"),
    "assign_reviewer": ("Gutachter/in zugewiesen", "Reviewer assigned"),
    "submit_review": ("Gutachten abgegeben", "Review submitted"),
    "sign_off_approve": ("Zeichnung: Zustimmung", "Sign-off: approve"),
    "sign_off_reject": ("Zeichnung: Ablehnung", "Sign-off: reject"),
    "report_milestone": ("Meilenstein berichtet", "Milestone reported"),
    "accept_milestone": ("Meilenstein abgenommen", "Milestone accepted"),
    "add_milestone": ("Meilenstein hinzugefügt", "Milestone added"),
    "submit_interim_report": ("Zwischenbericht eingereicht", "Interim report submitted"),
    "accept_interim_report": ("Zwischenbericht abgenommen", "Interim report accepted"),
    "return_interim_report": ("Zwischenbericht: Nachbesserung", "Interim report returned"),
    "record_payment": ("Zahlung erfasst", "Payment recorded"),
    "milestone_overdue": ("Meilenstein überfällig", "Milestone overdue"),
    "report_overdue": ("Abschlussbericht überfällig", "Final report overdue"),
    "create_user": ("Konto angelegt", "Account created"),
    "set_roles": ("Rollen geändert", "Roles changed"),
}


def action_label(action: str, lang: str | None = None) -> str:
    for name in ("proposal", "call"):
        t = find_transition(name, action)
        if t is not None:
            return label(t["label"], lang)
    pair = OPERATION_LABELS.get(action)
    return label(pair, lang) if pair else action


def request_now() -> dt.datetime:
    """The moment the whole request had arrived at the server, its files included (web.py ``_start`` reads the
    body before it reads the clock): the moment that counts for deadlines. A submission whose upload began before
    the deadline but ended after it is late; the draft keeps its text and files."""
    if has_request_context() and getattr(g, "request_started", None) is not None:
        return g.request_started
    return clock_now()


@dataclass
class Context:
    obj: Any
    actor: Any  # a User, or None for the system (worker)
    now: dt.datetime
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    audit_data: dict[str, Any] = field(default_factory=dict)


_LOCKED = "foerdercall_locked_rows"  # session.info: (table, id) of the rows this transaction has locked


def lock(obj):
    """Lock the row and reload it: the second of two racing transactions sees the first's result.

    PostgreSQL: ``FOR NO KEY UPDATE`` (what an UPDATE that keeps the key takes itself). It excludes every
    other locker of the row, but not the ``KEY SHARE`` locks that inserts referencing the row take for their
    foreign key: with ``FOR UPDATE``, two submissions that had each written an audit event of the call (a
    reference to it) and then locked the call waited for each other.

    Once per transaction: a row this transaction has already locked (and so reloaded) cannot have been
    changed by anyone else since, so a second ``lock`` of it (save, upload and submit in one request each
    lock the proposal) returns the object as it is, without another ``SELECT … FOR UPDATE``. The memory of
    locked rows ends with the transaction and with the rollback of any savepoint (PostgreSQL releases the
    row locks taken inside a savepoint that is rolled back); see :func:`_forget_locks`. SQLite: every
    transaction is ``BEGIN IMMEDIATE`` (one writer), so nothing changes under it either."""
    session = db.session()
    cls = type(obj)
    key = (cls.__tablename__, obj.id)
    locked = session.info.get(_LOCKED)
    if locked is not None and key in locked and obj in session and session.in_transaction():
        # as the reload would: flush first, and forget the loaded relationships (rows this transaction wrote
        # by their foreign key only, an opening of the call, an attachment of the proposal, are found)
        if session.autoflush:
            session.flush()
        session.expire(obj, _relationships(cls))
        return obj
    row = session.execute(
        select(cls)
        .where(cls.id == obj.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    session.info.setdefault(_LOCKED, set()).add(key)
    return row


@functools.cache
def _relationships(cls) -> tuple[str, ...]:
    return tuple(r.key for r in sa_inspect(cls).relationships)


def lock_id(cls, id_: int, *options):
    """Load a row by its id already locked (see :func:`lock`), or None: a request that will change the row
    reads it once instead of reading it and then locking it. ``options``: loader options (a joined
    many-to-one is read with it, only the row itself is locked)."""
    session = db.session()
    row = (
        session.execute(
            select(cls)
            .where(cls.id == id_)
            .options(*options)
            .with_for_update(of=cls, key_share=True)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )
    if row is not None:
        session.info.setdefault(_LOCKED, set()).add((cls.__tablename__, row.id))
    return row


def _forget_locks(session, *_args) -> None:
    session.info.pop(_LOCKED, None)


# any rollback, of a savepoint too (PostgreSQL releases the row locks taken in it); the end of the transaction
event.listen(Session, "after_soft_rollback", _forget_locks)


@event.listens_for(Session, "after_transaction_end")
def _forget_locks_at_end(session, transaction) -> None:
    if transaction.parent is None:  # commit, rollback or close; a savepoint's release keeps its locks
        _forget_locks(session)


def _office_ok(spec: str, actor) -> bool:
    role, _sep, office = spec.partition(":")
    if actor is None or not actor.has_role(role):
        return False
    if role == "official":
        return actor.office is not None and (not office or actor.office == office)
    return True


def may_fire(t: dict, obj, actor) -> bool:
    from ..access import has_conflict  # local: access imports models that import this package

    for spec in t["who"]:
        if spec == "system":
            if actor is None:
                return True
            continue
        if not _office_ok(spec, actor):
            continue
        if obj.__tablename__ == "proposals":
            if spec == "applicant":
                if obj.applicant_id == actor.id:
                    return True
                continue
            # nobody decides on a proposal they submitted or declared a conflict with
            if obj.applicant_id == actor.id or has_conflict(actor, obj):
                continue
        return True
    return False


def _just_done(obj, trigger: str, actor) -> bool:
    """The object's last change was this very transition by this actor, and it is still where that led."""
    from ..audit.models import AuditEvent

    last = db.session.execute(
        select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.to_state)
        .where(AuditEvent.object_type == obj.__tablename__, AuditEvent.object_id == obj.id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return last is not None and tuple(last) == (trigger, actor.id if actor else None, obj.state)


def fire(obj, trigger: str, actor, *, reason: str = "", now: dt.datetime | None = None, **params):
    from .effects import EFFECTS
    from .guards import GUARDS

    name = workflow_name(obj)
    obj = lock(obj)
    t = find_transition(name, trigger)
    if t is None:
        raise ActionRefused(_("Diese Aktion gibt es nicht."))
    if obj.state not in t["source"] and _just_done(obj, trigger, actor):
        return obj  # the same request again (a double click, a retried request, a second tab): done once
    if obj.state not in t["source"]:
        raise ActionRefused(
            _(
                "„%(action)s“ ist im Status „%(state)s“ nicht möglich.",
                action=label(t["label"]),
                state=state_label(name, obj.state),
            )
        )
    if not may_fire(t, obj, actor):
        raise ActionRefused(_("Sie dürfen „%(action)s“ hier nicht ausführen.", action=label(t["label"])))
    reason = (reason or "").strip()
    if t.get("reason_required") and not reason:
        raise ActionRefused(_("Bitte geben Sie eine Begründung an."))
    ctx = Context(obj=obj, actor=actor, now=now or request_now(), reason=reason, params=params)
    # A savepoint: a refusal or error anywhere below leaves the caller's other changes (a saved draft) intact.
    with db.session.begin_nested():
        for cond in t.get("conditions", ()):
            message = GUARDS[cond](ctx)
            if message:
                raise ActionRefused(message)
        from_state = obj.state
        # no autoflush: the new state and the columns the effects fill in reach the database together
        # (the CHECK constraints tie states to required columns)
        with db.session.no_autoflush:
            machine(name).events[trigger].trigger(obj)
            for eff in t.get("effects", ()):
                EFFECTS[eff](ctx)
        record(
            actor,
            trigger,
            obj,
            from_state=from_state,
            to_state=obj.state,
            reason=reason,
            data=ctx.audit_data,
            at=ctx.now,
        )
        db.session.flush()
    return obj


def available_triggers(obj, actor) -> list[dict]:
    """Transitions the actor could fire from here (conditions are checked when fired)."""
    name = workflow_name(obj)
    return [
        t
        for t in transitions_of(name)
        if obj.state in t["source"] and tuple(t["who"]) != ("system",) and may_fire(t, obj, actor)
    ]

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..timeutil import now
from .models import AuditEvent


def record(
    actor,
    action: str,
    obj,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    at=None,
) -> AuditEvent:
    """Write one audit event in the current transaction (the caller commits with the change itself)."""
    object_type = obj.__tablename__
    call_id = getattr(obj, "call_id", None) if object_type != "calls" else obj.id
    proposal_id = obj.id if object_type == "proposals" else getattr(obj, "proposal_id", None)
    ev = AuditEvent(
        at=at or now(),
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "System",
        actor_office=actor.office if actor else None,
        action=action,
        object_type=object_type,
        object_id=obj.id,
        call_id=call_id,
        proposal_id=proposal_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason or "",
        data=data or {},
    )
    db.session.add(ev)
    return ev


class AuditImmutable(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _audit_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable("audit events are append-only")

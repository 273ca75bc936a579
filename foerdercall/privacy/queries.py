"""What was anonymised after the retention period, and how the history shows it (the proposal page, the
personal data export and the Vergabevermerk mask the same texts)."""

from __future__ import annotations

from sqlalchemy import select

from workflows import HoldState

from ..audit.models import AuditEvent
from ..extensions import db
from ..proposals.models import Proposal
from .models import Anonymisation, LegalHold

ANONYMISED = "(anonymisiert)"


def is_anonymised(p: Proposal) -> bool:
    return db.session.get(Anonymisation, p.id) is not None


def applicant_label(p: Proposal) -> str:
    """The applicant as shown with the proposal: name and organisation, or ``ANONYMISED``."""
    if is_anonymised(p):
        return ANONYMISED
    return ", ".join(x for x in (p.applicant.name, p.applicant.organisation) if x)


def _by_applicant(e: AuditEvent, p: Proposal) -> bool:
    return e.actor_id is not None and e.actor_id == p.applicant_id and is_anonymised(p)


def event_actor(e: AuditEvent, p: Proposal) -> str:
    """Who acted, as shown in a proposal's history: the applicant of an anonymised proposal is not named."""
    return ANONYMISED if _by_applicant(e, p) else e.actor_name


def event_reason(e: AuditEvent, p: Proposal) -> str:
    """The reason of a history entry; what the applicant of an anonymised proposal wrote is not shown."""
    return ANONYMISED if _by_applicant(e, p) and e.reason else e.reason


def active_hold(proposal_id: int) -> LegalHold | None:
    """The legal hold on the proposal's record now, if any."""
    return db.session.scalar(
        select(LegalHold).where(LegalHold.proposal_id == proposal_id, LegalHold.state == HoldState.HELD)
    )


def held_proposals(ids) -> dict[int, LegalHold]:
    """Proposal id -> its legal hold now, for these proposals (one query)."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {
        h.proposal_id: h
        for h in db.session.scalars(
            select(LegalHold).where(LegalHold.proposal_id.in_(wanted), LegalHold.state == HoldState.HELD)
        )
    }

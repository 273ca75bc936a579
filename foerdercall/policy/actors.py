"""Who someone is for a rule: their role and office, the applicant of a proposal, a conflict declared; and who
may fire a transition of workflows/ (its ``who``)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from workflows import ProposalState

from ..accounts.models import User
from ..awards.models import Award
from ..awards.queries import sign_offs
from ..extensions import db
from ..offices.queries import office_labels
from ..proposals.models import Proposal
from ..reviews.queries import has_conflict


def is_official(user) -> bool:
    return user.is_authenticated and user.has_role("official") and user.office is not None


def _office_ok(spec: str, actor) -> bool:
    role, _sep, office = spec.partition(":")
    if actor is None or not actor.has_role(role):
        return False
    if role == "official":
        return actor.office is not None and (not office or actor.office == office)
    return True


def proposal_of(obj) -> Proposal | None:
    """The proposal an object is or belongs to: a milestone's, a report's, a standstill's (its objection), a
    payment's (through its award); None for a call or its opening. By the foreign key, so that it works for a
    new object too."""
    if isinstance(obj, Proposal):
        return obj
    if (proposal_id := getattr(obj, "proposal_id", None)) is not None:
        return db.session.get(Proposal, proposal_id)
    if (award_id := getattr(obj, "award_id", None)) is not None:
        award = db.session.get(Award, award_id)
        return db.session.get(Proposal, award.proposal_id) if award is not None else None
    return None


def may_fire(t: dict, obj, actor) -> bool:
    """Whether the actor is one of those the transition's ``who`` names: ``system`` (the worker, no actor),
    ``applicant`` (the applicant of the proposal the object is or belongs to), ``official`` /
    ``official:<key>`` (an office's officials) or another role. Nobody decides on a proposal (or on what belongs
    to it: a milestone, a report, a payment, an objection) they submitted or declared a conflict with."""
    p = proposal_of(obj)
    for spec in t["who"]:
        if spec == "system":
            if actor is None:
                return True
            continue
        if not _office_ok(spec, actor):
            continue
        if spec == "applicant":
            if p is not None and p.applicant_id == actor.id:
                return True
            continue
        # nobody decides on a proposal they submitted or declared a conflict with
        if p is not None and (p.applicant_id == actor.id or has_conflict(actor, p)):
            continue
        return True
    return False


def sign_off_refusal(p: Proposal, actor) -> str | None:
    """Why this person cannot sign the proposal for their office now (None: they can)."""
    if p.state != ProposalState.REVIEWED:
        return _("Nur begutachtete Angebote können gezeichnet werden.")
    offices = p.call.deciding_offices
    if not actor.has_role("official") or actor.office not in offices:
        return _(
            "Nur Mitarbeitende der entscheidenden Ämter dieses Aufrufs (%(offices)s) zeichnen.",
            offices=office_labels(offices),
        )
    if p.applicant_id == actor.id or has_conflict(actor, p):
        return _("Sie haben einen Interessenkonflikt mit diesem Angebot.")
    existing = sign_offs(p)
    if actor.office in existing:
        return _("Ihr Amt hat bereits gezeichnet (%(name)s).", name=existing[actor.office].user.name)
    if any(s.user_id == actor.id for s in existing.values()):
        return _("Eine Person kann nicht für zwei Ämter zeichnen.")
    return None


def required_two_factor_roles() -> set[str]:
    """The roles of REQUIRE_TWO_FACTOR_ROLES (comma list)."""
    return {
        r.strip() for r in (current_app.config.get("REQUIRE_TWO_FACTOR_ROLES") or "").split(",") if r.strip()
    }


def two_factor_required(user) -> bool:
    """Whether the person's roles make the second factor mandatory (REQUIRE_TWO_FACTOR_ROLES)."""
    return user.is_authenticated and bool(user.roles & required_two_factor_roles())


def verification_missing(user: User | None) -> str | None:
    """The message why an unverified applicant cannot submit yet, else None (a workflow condition)."""
    if user is not None and not user.email_verified:
        return _(
            "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse mit dem Link aus unserer E-Mail. "
            "Einen neuen Link können Sie unter „Konto“ anfordern. Ihr Entwurf bleibt gespeichert."
        )
    return None


def two_factor_setup_due(user) -> bool:
    """A person who must use the second factor and has none: can do nothing but set it up (web.py)."""
    return two_factor_required(user) and not user.two_factor_enabled

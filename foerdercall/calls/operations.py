"""Calls: set up while draft, fixed once published, corrected only as a new recorded version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from ..accounts.models import User
from ..audit.trail import record
from ..awards.operations import sign_off_many
from ..errors import ActionRefused
from ..extensions import db
from ..jobs.models import BulkJob
from ..jobs.operations import sign_off_is_large, start_sign_off
from ..locking import lock
from ..mail.operations import queue_mail
from ..offices.queries import default_deciding_offices
from ..policy import check
from ..policy.conditions import catalogue_complete, offices_named
from ..proposals.models import Proposal
from ..reviews.models import NeutralityDeclaration, Review
from ..timeutil import minute_end, now
from ..workflow.engine import Context, fire
from .models import Call, CallVersion, Criterion, Opening, RequiredAttachment

# The default catalogue of DOMAIN.md: (key, name, weight %, knock-out minimum)
DEFAULT_CRITERIA = [
    ("innovation", "Innovation und Neuheit des Ansatzes", 20, None),
    (
        "economic_effect",
        "Wirtschaftliche Wirkung auf die Leipziger Kreativwirtschaft "
        "(Marktzugang, Sichtbarkeit, Einkommen, Arbeitsplätze)",
        20,
        None,
    ),
    ("feasibility", "Qualität und Umsetzbarkeit (Konzept, Arbeits- und Zeitplan, Team)", 20, 2),
    ("networking", "Vernetzung und Kooperation (teilmarktübergreifend, mit Partnerstädten)", 15, None),
    ("city_effect", "Wirkung für die Stadt und ihre Stadtteile, öffentliche Zugänglichkeit", 10, None),
    ("costs", "Angemessenheit der Kosten", 15, None),
]
# The fields of action of the creative-economy plan: a new call's, until its editor names others.
DEFAULT_FIELDS_OF_ACTION = [
    {"key": "networks", "de": "Netzwerke", "en": "Networks"},
    {"key": "education", "de": "Bildung & Beschäftigung", "en": "Education & employment"},
    {"key": "marketing", "de": "Marketing", "en": "Marketing"},
    {"key": "urban_development", "de": "Stadtentwicklung", "en": "Urban development"},
    {"key": "financing", "de": "Finanzierung", "en": "Financing"},
]
DEFAULT_ATTACHMENTS = [
    ("offer", "Leistungsangebot mit Kalkulation (PDF)"),
    ("declarations", "Eigenerklärungen (PDF)"),
]
FROZEN_CALL_FIELDS = (
    "scale_max",
    "min_total",
    "mode",
    "fields_of_action",
    "deciding_offices",
    "submission_deadline",
    "opens_at",
    "budget_cents",
    "max_amount_cents",
)


def call_snapshot(call: Call) -> dict[str, Any]:
    return {
        "version": call.version,
        "title": call.title,
        "description": call.description,
        "fields_of_action": list(call.fields_of_action or []),
        "deciding_offices": list(call.deciding_offices or []),
        "milestone_plan": list(call.milestone_plan or []),
        "budget_cents": call.budget_cents,
        "max_amount_cents": call.max_amount_cents,
        "submission_deadline": call.submission_deadline.isoformat(),
        "scale_max": call.scale_max,
        "min_total": call.min_total,
        "criteria": [
            {"key": c.key, "name": c.name, "weight": c.weight, "knockout_min": c.knockout_min}
            for c in call.criteria
        ],
        "required_attachments": [{"key": r.key, "label": r.label} for r in call.required_attachments],
    }


def field_catalogue(call: Call | None = None) -> list[dict[str, str]]:
    """The fields of action an editor may choose from: the call's own, then those of the default catalogue."""
    own = list(call.fields_of_action or []) if call is not None else []
    keys = {f["key"] for f in own}
    return own + [f for f in DEFAULT_FIELDS_OF_ACTION if f["key"] not in keys]


def _fields_of_action(values, call: Call | None = None) -> list[dict[str, str]]:
    """Fields of action as the call stores them; a bare key stands for its entry in the catalogue."""
    by_key = {f["key"]: f for f in field_catalogue(call)}
    return [
        dict(by_key.get(v, {"key": v, "de": v, "en": v})) if isinstance(v, str) else dict(v) for v in values
    ]


def default_milestone_plan(months: int) -> list[dict[str, Any]]:
    """Kick-off after a month, the mid-term (with the interim report) half-way."""
    return [
        {"de": "Projektstart", "en": "Kick-off", "month": 1},
        {"de": "Halbzeit: Zwischenstand", "en": "Mid-term", "month": max(1, months // 2)},
    ]


def create_call(actor, **fields) -> Call:
    criteria = fields.pop("criteria", None)
    attachments = fields.pop("required_attachments", None)
    fields.setdefault("deciding_offices", default_deciding_offices())
    fields.setdefault("milestone_plan", default_milestone_plan(fields.get("implementation_months") or 12))
    fields["fields_of_action"] = _fields_of_action(fields.get("fields_of_action", DEFAULT_FIELDS_OF_ACTION))
    call = Call(created_by_id=actor.id, created_at=now(), **fields)
    for i, (key, name, weight, ko) in enumerate(criteria if criteria is not None else DEFAULT_CRITERIA):
        call.criteria.append(Criterion(position=i, key=key, name=name, weight=weight, knockout_min=ko))
    for i, (key, label) in enumerate(attachments if attachments is not None else DEFAULT_ATTACHMENTS):
        call.required_attachments.append(RequiredAttachment(position=i, key=key, label=label))
    db.session.add(call)
    db.session.flush()
    record(actor, "create_call", call, to_state=call.state)
    return call


def update_call(call: Call, actor, **fields) -> Call:
    """Change a draft call (the frozen-call guard refuses fixed terms of a published one)."""
    criteria = fields.pop("criteria", None)
    if "fields_of_action" in fields:
        fields["fields_of_action"] = _fields_of_action(fields["fields_of_action"], call)
    for k, v in fields.items():
        setattr(call, k, v)
    if criteria is not None:
        by_key = {c.key: c for c in call.criteria}
        for i, (key, name, weight, ko) in enumerate(criteria):
            c = by_key.get(key) or Criterion(key=key)
            c.position, c.name, c.weight, c.knockout_min = i, name, weight, ko
            if c.id is None:
                call.criteria.append(c)
        for key, c in by_key.items():
            if key not in {k for k, *_ in criteria}:
                call.criteria.remove(c)
    db.session.flush()
    record(actor, "update_call", call, data={"fields": sorted(fields)})
    return call


def correct_call(call: Call, actor, reason: str, **changes) -> CallVersion:
    """A correction of a published call: a new version, recorded, and everyone concerned is told."""
    check(actor, "call.correct", call)
    if not (reason or "").strip():
        raise ActionRefused(_("Bitte begründen Sie die Berichtigung."))
    deadline = changes.get("submission_deadline")
    if deadline is not None and deadline != call.submission_deadline and minute_end(deadline) <= now():
        raise ActionRefused(
            _(
                "Die berichtigte Einreichungsfrist liegt in der Vergangenheit. Bitte wählen Sie "
                "einen späteren Zeitpunkt."
            )
        )
    before = call_snapshot(call)
    session = db.session()
    session.info["call_correction"] = True
    try:
        update_call(call, actor, **changes)

        ctx = Context(obj=call, actor=actor, now=now())
        problem = catalogue_complete(ctx) or offices_named(ctx)  # as when it was published
        if problem:
            raise ActionRefused(problem)
        call.version += 1
        db.session.flush()
    finally:
        session.info.pop("call_correction", None)
    version = CallVersion(
        call_id=call.id,
        version=call.version,
        snapshot=call_snapshot(call),
        reason=reason,
        created_by_id=actor.id,
        created_at=now(),
    )
    db.session.add(version)
    record(actor, "correct_call", call, reason=reason, data={"version": call.version, "before": before})
    # everyone concerned: applicants with a draft or an offer, and the reviewers of this call

    users = {p.applicant for p in db.session.scalars(select(Proposal).where(Proposal.call_id == call.id))}
    users |= set(
        db.session.scalars(
            select(User)
            .join(NeutralityDeclaration, NeutralityDeclaration.user_id == User.id)
            .where(NeutralityDeclaration.call_id == call.id)
        )
    )
    users |= set(
        db.session.scalars(
            select(User)
            .join(Review, Review.reviewer_id == User.id)
            .join(Proposal, Proposal.id == Review.proposal_id)
            .where(Proposal.call_id == call.id)
        )
    )
    for user in sorted(users, key=lambda u: u.id):
        queue_mail("call_corrected", user, f"call:{call.id}:v{call.version}", call=call, reason=reason)
    db.session.flush()
    return version


def request_opening(call: Call, actor) -> Opening:
    """First official: asks to open the sealed submissions (only after every deadline has passed)."""
    call = lock(call)  # serialises two requests at once
    if call.opening is not None:
        raise ActionRefused(_("Die Öffnung wurde bereits angestoßen."))
    return fire(Opening(call_id=call.id), "request_opening", actor)


def confirm_opening(call: Call, actor) -> Opening:
    """Second official (another one): confirms; the opening record (Öffnungsniederschrift) is written."""
    call = lock(call)
    if call.opening is None:
        raise ActionRefused(_("Die Öffnung wurde noch nicht angestoßen."))
    return fire(call.opening, "confirm_opening", actor)


def published_call_is_fixed(session, flush_context, instances):
    """Criteria, weights, scale and attachments of a published call change only through correct_call()."""
    if session.info.get("call_correction"):
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Criterion | RequiredAttachment):
            call = obj.call
            if call is not None and call.published_at is not None:
                raise ActionRefused(_("Der Aufruf ist veröffentlicht: Kriterien und Anlagen sind fest."))
        elif isinstance(obj, Call) and obj.published_at is not None and obj in session.dirty:
            state = inspect(obj)
            # a criterion or attachment taken out of the collection is an orphan, no longer tied to its call
            if any(state.attrs[name].history.deleted for name in ("criteria", "required_attachments")):
                raise ActionRefused(_("Der Aufruf ist veröffentlicht: Kriterien und Anlagen sind fest."))
            for name in FROZEN_CALL_FIELDS:
                hist = state.attrs[name].history
                if hist.has_changes() and hist.deleted and hist.deleted[0] is not None:
                    raise ActionRefused(_("Der Aufruf ist veröffentlicht: seine Bedingungen sind fest."))


@dataclass
class BulkSignOff:
    """What a bulk sign-off did: the job that signs many, or for each proposal its file number and None (signed)
    or why it was not signed."""

    job: BulkJob | None = None
    results: list[tuple[str, str | None]] = field(default_factory=list)


def sign_off_chosen(
    call: Call, actor, proposal_ids: Iterable[int], decision: str, reason: str = ""
) -> BulkSignOff:
    """The decision page: the chosen proposals of the call, each signed for the actor's office exactly as a single
    sign-off (``sign_off_many``); many of them through a job, each in its own transaction, with progress."""
    chosen = db.session.scalars(
        select(Proposal)
        .where(Proposal.call_id == call.id, Proposal.id.in_(list(proposal_ids)))
        .order_by(Proposal.file_seq)
    ).all()
    if sign_off_is_large(len(chosen)):
        return BulkSignOff(job=start_sign_off(call, actor, chosen, decision, reason))
    numbers = {p.id: p.file_number or "" for p in chosen}  # decided: numbered at the submission
    return BulkSignOff(
        results=[(numbers[pid], message) for pid, message in sign_off_many(chosen, actor, decision, reason)]
    )

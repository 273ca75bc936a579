"""Calls: set up while draft, fixed once published, corrected only as a new recorded version."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from workflows import CallState

from ..accounts.models import User
from ..appform.definition import DefinitionError, parse_definition
from ..audit.trail import record
from ..awards.operations import BULK_STEPS, steps_many
from ..errors import ActionRefused
from ..extensions import db
from ..jobs.models import BulkJob
from ..jobs.operations import sign_off_is_large, start_steps
from ..locking import lock
from ..mail.operations import queue_mail
from ..mailtemplates.models import MailTemplate
from ..offices.queries import default_deciding_offices
from ..policy import check
from ..policy.conditions import catalogue_complete, offices_named
from ..privacy.notice import notice_text
from ..proposals.models import Proposal
from ..reviews.models import NeutralityDeclaration, Review
from ..timeutil import add_months, minute_end, now
from ..workflow.engine import Context, fire
from .models import Call, CallVersion, Criterion, Opening
from .queries import code_taken

# The default catalogue of DOMAIN.md: (key, name, weight %, knock-out minimum)
DEFAULT_CRITERIA = [
    ("innovation", "Innovation und Neuheit des Ansatzes", 20, None),
    (
        "economic_effect",
        "Wirtschaftliche Wirkung auf die Leipziger Kreativwirtschaft "
        "(Marktzugang, Sichtbarkeit, Einkommen, Arbeitsplätze)",
        20,
        None,
        "",
        2,  # DOMAIN.md: ties go to the higher score on feasibility, then on economic effect
    ),
    ("feasibility", "Qualität und Umsetzbarkeit (Konzept, Arbeits- und Zeitplan, Team)", 20, 2, "", 1),
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
    "application_form",  # the questions (issue 14): fixed with the criteria, changed only by correct_call
    "lots_announced",  # how a tie left after the tie-break criteria is decided
    "eu_funded",  # the publicity duty and the retention of the records follow from it
    "grant_conditions",  # part of every approval notice
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
            {
                "key": c.key,
                "name": c.name,
                "description": c.description,
                "weight": c.weight,
                "knockout_min": c.knockout_min,
                "tie_rank": c.tie_rank,
            }
            for c in call.criteria
        ],
        "lots_announced": call.lots_announced,
        "eu_funded": call.eu_funded,
        "grant_conditions": call.grant_conditions,
        "application_form": copy.deepcopy(call.application_form),
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


DEFAULT_MONTHS = 12  # a measure is carried out within one year


def checked_form(data: Any) -> dict[str, Any]:
    """An application form as the call stores it; one that cannot be filled in is refused, naming every problem."""
    try:
        return parse_definition(data).to_data()
    except DefinitionError as exc:
        raise ActionRefused(" ".join(exc.problems)) from exc


def default_milestone_plan(months: int) -> list[dict[str, Any]]:
    """Kick-off after a month, the mid-term (with the interim report) half-way."""
    return [
        {"de": "Projektstart", "en": "Kick-off", "month": 1},
        {"de": "Halbzeit: Zwischenstand", "en": "Mid-term", "month": max(1, months // 2)},
    ]


def _criterion_row(row) -> tuple[str, str, int, int | None, str, int | None]:
    """A catalogue row: (key, name, weight %, knock-out minimum or None[, description[, tie-break rank]])."""
    key, name, weight, ko, *rest = row
    return key, name, weight, ko, (rest[0] if rest else "") or "", rest[1] if len(rest) > 1 else None


def create_call(actor, **fields) -> Call:
    criteria = fields.pop("criteria", None)
    fields.setdefault("deciding_offices", default_deciding_offices())
    fields.setdefault(
        "milestone_plan", default_milestone_plan(fields.get("implementation_months") or DEFAULT_MONTHS)
    )
    fields["fields_of_action"] = _fields_of_action(fields.get("fields_of_action", DEFAULT_FIELDS_OF_ACTION))
    if "application_form" in fields:
        fields["application_form"] = checked_form(fields["application_form"])
    call = Call(created_by_id=actor.id, created_at=now(), **fields)
    for i, row in enumerate(criteria if criteria is not None else DEFAULT_CRITERIA):
        key, name, weight, ko, description, tie_rank = _criterion_row(row)
        call.criteria.append(
            Criterion(
                position=i,
                key=key,
                name=name,
                description=description,
                weight=weight,
                knockout_min=ko,
                tie_rank=tie_rank,
            )
        )
    db.session.add(call)
    db.session.flush()
    record(actor, "create_call", call, to_state=call.state)
    return call


def update_call(call: Call, actor, **fields) -> Call:
    """Change a draft call (the frozen-call guard refuses fixed terms of a published one)."""
    criteria = fields.pop("criteria", None)
    if "application_form" in fields:
        fields["application_form"] = checked_form(fields["application_form"])
    if "fields_of_action" in fields:
        fields["fields_of_action"] = _fields_of_action(fields["fields_of_action"], call)
    checked_text = notice_text(call) if call.privacy_checked_at is not None else None
    for k, v in fields.items():
        setattr(call, k, v)
    if checked_text is not None and notice_text(call) != checked_text:
        # the officer checked another text (the generated template changes with the call's data too)
        call.privacy_checked_at = call.privacy_checked_by_id = None
        fields["privacy_checked_at"] = None
    if criteria is not None:
        rows = [_criterion_row(r) for r in criteria]
        by_key = {c.key: c for c in call.criteria}
        for key, c in by_key.items():  # removed rows first: a new row may not meet its key's old row
            if key not in {k for k, *_ in rows}:
                call.criteria.remove(c)
        for i, (key, name, weight, ko, description, tie_rank) in enumerate(rows):
            c = by_key.get(key) or Criterion(key=key)
            c.position, c.name, c.weight, c.knockout_min = i, name, weight, ko
            if c.tie_rank != tie_rank:
                c.tie_rank = tie_rank
            if c.description != description:
                c.description = description
            if c.id is None:
                call.criteria.append(c)
    db.session.flush()
    record(actor, "update_call", call, data={"fields": sorted(fields)})
    return call


def change_form(call: Call, actor, application_form: dict[str, Any], reason: str = "") -> None:
    """The call's application form from the question builder: a draft's is saved, a published call's form changes
    only as a correction (a new version, with its reason, everyone concerned told)."""
    check(actor, "call.edit_form", call)
    if call.state == CallState.DRAFT:
        update_call(call, actor, application_form=application_form)
    else:
        correct_call(call, actor, reason, application_form=application_form)


def mark_privacy_checked(call: Call, actor) -> Call:
    """An official records that the data-protection officer checked the notice in force (the draft's)."""
    check(actor, "call.edit", call)
    call.privacy_checked_at, call.privacy_checked_by_id = now(), actor.id
    db.session.flush()
    record(actor, "check_privacy_notice", call, data={"notice": notice_text(call)})
    return call


# A copy of a call (copy_call): every column of Call is in one of these three (a test checks it), so a new
# column is either copied or left out on purpose.
COPIED_COLUMNS = (
    "title",
    "description",
    "fields_of_action",
    "deciding_offices",
    "mode",
    "legal_regime",
    "procedure_type",
    "procedure_reason",
    "estimated_value_cents",
    "budget_cents",
    "max_amount_cents",
    "clarification_days",
    "acceptance_days",
    "implementation_months",
    "milestone_plan",
    "reminder_days",
    "review_reminder_days",
    "signoff_reminder_days",
    "signoff_escalation_days",
    "milestone_reminder_days",
    "implementation_reminder_days",
    "hold_decision_mails",
    "reviewers_per_proposal",
    "reviewer_from_each_office",
    "justify_every_score",
    "blind_review",
    "hide_applicant",
    "score_aggregation",
    "standstill_threshold_cents",
    "privacy_notice",
    "retention_months",
    "scale_max",
    "min_total",
    "lots_announced",
    "eu_funded",
    "grant_conditions",
    "reasons_request_days",
    "application_form",  # next year's call asks the same questions
)
MOVED_COLUMNS = ("opens_at", "submission_deadline", "review_deadline")  # by a year, in Leipzig time
NOT_COPIED_COLUMNS = (
    "id",
    "code",  # a new one: the old with a number (copy_code)
    "state",
    "version",
    "published_at",
    "closed_at",
    "committed_cents",
    "next_file_seq",
    "privacy_checked_at",  # the officer checks the copy's notice again
    "privacy_checked_by_id",
    "created_by_id",
    "created_at",
    "row_version",
)


def copy_code(code: str) -> str:
    """The first free code "KW2011-2", "KW2011-3" … (a copy of a copy counts on: "KW2011-2" gives "KW2011-3")."""
    base = re.sub(r"-[0-9]{1,4}$", "", code) or code
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: 30 - len(suffix)] + suffix
        if not code_taken(candidate):
            return candidate
        n += 1


def copy_call(call: Call, actor) -> Call:
    """A new draft with everything of the call (texts, terms, criteria, required attachments, its mail templates,
    reminders) but a new code, the dates a year later and nothing of its course (state, versions, proposals,
    opening, the privacy check). The mail templates come as drafts: each is previewed and activated anew."""
    check(actor, "call.copy", call)
    fields: dict[str, Any] = {name: copy.deepcopy(getattr(call, name)) for name in COPIED_COLUMNS}
    for name in MOVED_COLUMNS:
        value = getattr(call, name)
        fields[name] = add_months(value, 12) if value is not None else None
    new = Call(code=copy_code(call.code), created_by_id=actor.id, created_at=now(), **fields)
    for c in call.criteria:
        new.criteria.append(
            Criterion(
                position=c.position,
                key=c.key,
                name=c.name,
                description=c.description,
                weight=c.weight,
                knockout_min=c.knockout_min,
                tie_rank=c.tie_rank,
            )
        )
    db.session.add(new)
    db.session.flush()
    for t in db.session.scalars(select(MailTemplate).where(MailTemplate.call_id == call.id)).all():
        db.session.add(
            MailTemplate(
                call_id=new.id,
                kind=t.kind,
                lang=t.lang,
                state=t.state,
                field_of_action=t.field_of_action,
                subject=t.subject,
                body=t.body,
                created_by_id=actor.id,
                edited_by_id=actor.id,
            )
        )
    db.session.flush()
    record(actor, "copy_call", new, to_state=new.state, data={"copy_of": call.id, "code": call.code})
    return new


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
    # everyone concerned: applicants with a draft or an offer, the reviewers of this call and everyone else who
    # signed its declaration of neutrality (officials, advisors), but not the one who corrects it

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
    for user in sorted(users - {actor}, key=lambda u: u.id):
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
    """Criteria, weights, scale and the form (its attachments too) of a published call change only through
    correct_call()."""
    if session.info.get("call_correction"):
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Criterion):
            call = obj.call
            if call is not None and call.published_at is not None:
                raise ActionRefused(_("Der Aufruf ist veröffentlicht: Kriterien und Anlagen sind fest."))
        elif isinstance(obj, Call) and obj.published_at is not None and obj in session.dirty:
            state = inspect(obj)
            # a criterion taken out of the collection is an orphan, no longer tied to its call
            if state.attrs.criteria.history.deleted:
                raise ActionRefused(_("Der Aufruf ist veröffentlicht: Kriterien und Anlagen sind fest."))
            for name in FROZEN_CALL_FIELDS:
                hist = state.attrs[name].history
                if hist.has_changes() and hist.deleted and hist.deleted[0] is not None:
                    raise ActionRefused(_("Der Aufruf ist veröffentlicht: seine Bedingungen sind fest."))


@dataclass
class BulkOutcome:
    """What a bulk step did: the job that does many, or for each proposal its file number and None (done) or why
    it was not done."""

    job: BulkJob | None = None
    results: list[tuple[str, str | None]] = field(default_factory=list)


def steps_chosen(
    call: Call, actor, proposal_ids: Iterable[int], step: str, decision: str = "", reason: str = ""
) -> BulkOutcome:
    """The chosen proposals of the call, each stepped exactly as on its own (``steps_many``: a sign-off for the
    actor's office, the formal check passed, the award); many of them through a job, each in its own
    transaction, with progress."""
    if step not in BULK_STEPS:
        raise ActionRefused(_("Diese Aktion gibt es nicht."))
    chosen = db.session.scalars(
        select(Proposal)
        .where(Proposal.call_id == call.id, Proposal.id.in_(list(proposal_ids)))
        .order_by(Proposal.file_seq)
    ).all()
    if sign_off_is_large(len(chosen)):
        return BulkOutcome(job=start_steps(call, actor, chosen, step, decision, reason))
    numbers = {p.id: p.file_number or "" for p in chosen}  # decided: numbered at the submission
    return BulkOutcome(
        results=[
            (numbers[pid], message) for pid, message in steps_many(chosen, actor, step, decision, reason)
        ]
    )

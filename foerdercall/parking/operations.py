"""Parking a refused post, finding what this browser parked, taking it over into a draft or discarding it, and
the worker's removal of what expired."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
from typing import cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, delete, func, select

from workflows import find_transition

from ..awards.models import Milestone, Report
from ..awards.operations import interim_report_in
from ..extensions import db
from ..policy.actors import sign_off_refusal
from ..policy.reading import can_view_proposal
from ..policy.transitions import steps
from ..proposals.models import Proposal
from ..proposals.queries import open_clarification
from ..reviews.models import Review
from ..text import token_digest
from ..timeutil import now
from .models import ParkedPost

KEEP = dt.timedelta(hours=24)
MAX_FIELD_CHARS = 50_000  # a form field longer than the longest form field (20,000) plus room
MAX_TOTAL_CHARS = 300_000
MAX_PER_BROWSER = 10
MAX_ROWS = 5_000  # in all: someone posting again and again without a cookie cannot fill the database
# anonymous posts per client address: PARK_MAX_PER_ADDRESS (config), so one client cannot fill MAX_ROWS
SWEEP_BATCH = 500  # expired rows the worker deletes per transaction

# The forms whose text is kept: endpoint → the URL argument that names the target.
# Drafts (the text is taken over into the draft on the owner's click): the proposal form and the review form.
# One-shot forms (nothing to save a draft into; the parked page offers the text in the same form, to be sent by
# the person): the answer to a clarification request, a milestone report, the interim and the final report; for
# the offices the sign-off with its reason and the steps that need a written reason (request for documents,
# ineligibility, changes to the final report, termination).
PROPOSAL_FIELDS = (
    "title",
    "field_of_action",
    "summary",
    "description",
    "work_plan",
    "team",
    "leipzig_relation",
    "requested_amount",
    "advice_requested",
)
REVIEW_FIELD = re.compile(r"^(score|justification)_\d{1,9}$")
PARKABLE = {
    "proposals.edit": "proposal_id",
    "reviews.score": "review_id",
    "proposals.answer": "proposal_id",
    "awards.milestone_report": "milestone_id",
    "awards.report": "proposal_id",
    "awards.sign": "proposal_id",
    "proposals.fire_trigger": "proposal_id",
}
DRAFT_FORMS = ("proposals.edit", "reviews.score")
FORM_FIELDS = {  # the one-shot forms' text fields, in the order of the form
    "proposals.answer": ("answer",),
    "awards.milestone_report": ("text",),
    "awards.report": ("narrative", "use_of_funds", "spent"),
    "awards.sign": ("reason",),
    "proposals.fire_trigger": ("reason",),
}
REPORT_KINDS = ("interim", "final")
DECISIONS = ("approve", "reject")
# kept with the text (which report, which step, which decision), not typed: a post without typed text is not kept
META_FIELDS = ("kind", "trigger", "decision")


def reason_trigger(trigger) -> bool:
    """A step of the proposal workflow a person fires with a written reason (a form of its own aside)."""
    t = find_transition("proposal", trigger) if isinstance(trigger, str) else None
    return (
        t is not None
        and bool(t.get("reason_required"))
        and tuple(t["who"]) != ("system",)
        and trigger != "answer_request"
    )


class ParkRefused(Exception):
    """The post's text cannot be kept (a bound is reached): the person is shown the text and this message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def browser_key(cookie_value: str) -> str:
    return token_digest(cookie_value)


def address_key(address: str | None) -> str | None:
    """A keyed hash (not reversible without the app's secret) of the client's address; an IPv6 address counts
    by its /64 (one client usually has a whole /64), an IPv4-mapped one as the IPv4 address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        net = address
    else:
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        net = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(secret, b"parked-address:" + net.encode(), hashlib.sha256).hexdigest()


def text_fields(endpoint: str, form, view_args: dict | None = None) -> dict[str, str]:
    """The text a person typed into the form (no token, no buttons, no files); for a report also its kind."""
    meta = {}
    if endpoint == "proposals.edit":
        names = [n for n in PROPOSAL_FIELDS if n in form]
    elif endpoint == "reviews.score":
        names = [n for n in form if REVIEW_FIELD.match(n)]
    elif endpoint in FORM_FIELDS:
        names = [n for n in FORM_FIELDS[endpoint] if n in form]
        if endpoint == "awards.report":
            kind = (view_args or {}).get("kind")
            if kind not in REPORT_KINDS:
                return {}
            meta["kind"] = kind
        elif endpoint == "awards.sign":
            if form.get("decision") not in DECISIONS:
                return {}
            meta["decision"] = form.get("decision")
        elif endpoint == "proposals.fire_trigger":
            trigger = (view_args or {}).get("trigger")
            if not reason_trigger(trigger):
                return {}
            meta["trigger"] = trigger
    else:
        return {}
    return {**{n: str(form.get(n, ""))[:MAX_FIELD_CHARS] for n in names}, **meta}


def _typed(fields: dict[str, str]) -> dict[str, str]:
    return {n: v for n, v in fields.items() if n not in META_FIELDS}


def park(
    key: str,
    user_id: int | None,
    endpoint: str,
    target_id: int,
    fields: dict[str, str],
    had_files: bool,
    address: str | None = None,
) -> ParkedPost | None:
    """Keep the fields for this browser (the newest post per form wins); None when there is nothing to keep.

    Refused with :class:`ParkRefused` (the caller shows the text back, nothing is lost silently) when the
    database holds MAX_ROWS parked posts, or when the post is anonymous and its client address already has
    PARK_MAX_PER_ADDRESS anonymous ones. What was parked before is never pushed out by a newer post of
    someone else; a logged-in person's post does not count against the address's bound."""
    typed = _typed(fields)
    if not any(v.strip() for v in typed.values()) or sum(len(v) for v in typed.values()) > MAX_TOTAL_CHARS:
        return None
    moment = now()
    db.session.execute(delete(ParkedPost).where(ParkedPost.expires_at < moment))
    row = db.session.scalar(
        select(ParkedPost).where(
            ParkedPost.browser_key == key, ParkedPost.endpoint == endpoint, ParkedPost.target_id == target_id
        )
    )
    where = address_key(address)
    if (
        row is None
        and db.session.execute(select(func.count()).select_from(ParkedPost)).scalar_one() >= MAX_ROWS
    ):
        raise ParkRefused(_("Gerade werden zu viele Eingaben aufbewahrt."))
    if user_id is None and where is not None:
        others = (
            select(func.count())
            .select_from(ParkedPost)
            .where(ParkedPost.address_key == where, ParkedPost.user_id.is_(None))
        )
        if row is not None:
            others = others.where(ParkedPost.id != row.id)
        if db.session.scalar(others) >= current_app.config["PARK_MAX_PER_ADDRESS"]:
            raise ParkRefused(
                _("Von Ihrer Adresse aus wurden schon zu viele Eingaben ohne Anmeldung aufbewahrt.")
            )
    if row is None:
        older = db.session.scalars(
            select(ParkedPost)
            .where(ParkedPost.browser_key == key)
            .order_by(ParkedPost.created_at.desc())
            .offset(MAX_PER_BROWSER - 1)
        ).all()
        for old in older:
            db.session.delete(old)
        row = ParkedPost(browser_key=key, endpoint=endpoint, target_id=target_id)
        db.session.add(row)
    row.user_id, row.fields, row.had_files, row.address_key = user_id, fields, had_files, where
    row.created_at, row.expires_at = moment, moment + KEEP
    db.session.flush()
    return row


def typed_text(fields: dict[str, str]) -> list[str]:
    """The typed text of a post, field by field (what a refused post shows back to copy)."""
    return [v for v in _typed(fields).values() if str(v).strip()]


def may_take_over(row: ParkedPost, user) -> bool:
    """Only the owner of the draft (or review, or the form's proposal) may see and take over the text, and only
    while the form is open and the text was not sent since (an answered request, a reported milestone, a
    report submitted after the text was parked)."""
    if row.user_id is not None and row.user_id != user.id:
        return False
    if row.endpoint == "proposals.edit":
        p = db.session.get(Proposal, row.target_id)
        return p is not None and p.applicant_id == user.id and p.state == "draft"
    if row.endpoint == "reviews.score":
        r = db.session.get(Review, row.target_id)
        return (
            r is not None
            and r.reviewer_id == user.id
            and r.submitted_at is None
            and r.proposal.state == "in_review"
        )
    if row.endpoint == "proposals.answer":
        p = db.session.get(Proposal, row.target_id)
        c = open_clarification(p) if p is not None else None
        # the text answers the request that was open when it was typed, not a later one
        return (
            p is not None
            and p.applicant_id == user.id
            and p.state == "clarification"
            and c is not None
            and c.requested_at <= row.created_at
        )
    if row.endpoint == "awards.milestone_report":
        m = db.session.get(Milestone, row.target_id)
        p = db.session.get(Proposal, m.proposal_id) if m is not None else None
        # not accepted yet, and not reported since the text was typed (a report may be corrected until accepted)
        return (
            m is not None
            and p is not None
            and p.applicant_id == user.id
            and p.state == "in_implementation"
            and m.accepted_at is None
            and (m.reported_at is None or m.reported_at < row.created_at)
        )
    if row.endpoint == "awards.report":
        p = db.session.get(Proposal, row.target_id)
        kind = row.fields.get("kind")
        if (
            p is None
            or p.applicant_id != user.id
            or p.state != "in_implementation"
            or kind not in REPORT_KINDS
        ):
            return False
        if kind == "interim" and interim_report_in(p) is not None:  # one at a time (the service's rule)
            return False
        sent = select(Report.id).where(
            Report.proposal_id == p.id, Report.kind == kind, Report.submitted_at >= row.created_at
        )
        return db.session.scalar(sent.limit(1)) is None
    if row.endpoint in ("awards.sign", "proposals.fire_trigger"):
        return _office_may_take_over(row, user)
    return False


def _office_may_take_over(row: ParkedPost, user) -> bool:
    """The sign-off and the steps with a reason: only someone who may read the proposal and still take that
    step (the office has not signed yet; the proposal is still where the step starts)."""
    p = db.session.get(Proposal, row.target_id)
    if p is None or not can_view_proposal(user, p):
        return False
    if row.endpoint == "awards.sign":  # the sign-off's own rule (awards.operations)
        return sign_off_refusal(p, user) is None and row.fields.get("decision") in DECISIONS
    trigger = row.fields.get("trigger")
    return reason_trigger(trigger) and trigger in steps(p, user)


def is_draft_form(row: ParkedPost) -> bool:
    """Whether the text is taken over into a draft (else the person sends the form with it)."""
    return row.endpoint in DRAFT_FORMS


def parked_for(key: str | None, user) -> list[ParkedPost]:
    """What this browser parked that this person may take over (newest first)."""
    if not key or not user.is_authenticated:
        return []
    rows = db.session.scalars(
        select(ParkedPost)
        .where(ParkedPost.browser_key == key, ParkedPost.expires_at >= now())
        .order_by(ParkedPost.created_at.desc())
    ).all()
    return [r for r in rows if may_take_over(r, user)]


def find(key: str | None, user, parked_id: int) -> ParkedPost | None:
    return next((r for r in parked_for(key, user) if r.id == parked_id), None)


def discard(row: ParkedPost) -> None:
    db.session.delete(row)
    db.session.flush()


def delete_expired(at: dt.datetime, batch: int = SWEEP_BATCH) -> tuple[int, int]:
    """One batch of the parked posts past their expiry (the worker commits each batch: a short lock each,
    however many expired; worker/sweep.py). Returns (rows found, rows deleted)."""
    ids = db.session.scalars(
        select(ParkedPost.id).where(ParkedPost.expires_at < at).order_by(ParkedPost.id).limit(batch)
    ).all()
    if not ids:
        return 0, 0
    res = db.session.execute(
        delete(ParkedPost)
        .where(ParkedPost.id.in_(ids), ParkedPost.expires_at < at)
        .execution_options(synchronize_session=False)
    )
    return len(ids), cast(CursorResult, res).rowcount or 0  # a DELETE's result

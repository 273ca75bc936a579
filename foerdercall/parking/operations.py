"""Parking a refused post, finding what this browser parked, taking it over into a draft or discarding it, and
the worker's removal of what expired."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, delete, func, select

from ..extensions import db
from ..policy import may
from ..text import token_digest
from ..timeutil import now
from .models import DECISIONS, REPORT_KINDS, ParkedPost, reason_trigger

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
# The draft form is the call's application form (forms/application.py): a question's key, a table's cell
# (<key>-<row>-<column>) or an indicator's target (<key>-<indicator>), and the advice flag; never a button.
PROPOSAL_FIELD = re.compile(
    r"^[a-z][a-z0-9_]{0,39}(-[0-9]{1,3}-[a-z][a-z0-9_]{0,39}|-[a-z][a-z0-9_]{0,39})?$"
)
PROPOSAL_NOT_TYPED = ("csrf_token", "action")
MAX_PROPOSAL_FIELDS = 1_000  # more names than any form has: the rest of a hand-made post is not kept
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
# kept with the text (which report, which step, which decision), not typed: a post without typed text is not kept
META_FIELDS = ("kind", "trigger", "decision")


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


def text_fields(endpoint: str, form, view_args: dict | None = None) -> dict[str, Any]:
    """The text a person typed into the form (no token, no buttons, no files); for a report also its kind."""
    meta = {}
    if endpoint == "proposals.edit":
        names = [n for n in form if PROPOSAL_FIELD.match(n) and n not in PROPOSAL_NOT_TYPED]
        names = names[:MAX_PROPOSAL_FIELDS]
        several = {n: form.getlist(n) for n in names if len(form.getlist(n)) > 1}  # several answers ticked
        if several:
            kept = {n: str(form.get(n, ""))[:MAX_FIELD_CHARS] for n in names}
            return {**kept, **{n: [str(v)[:MAX_FIELD_CHARS] for v in vs] for n, vs in several.items()}}
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
    return [r for r in rows if may(user, "parking.take_over", r)]


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

"""Parking a refused post, finding what this browser parked, taking it over into a draft or discarding it."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import delete, func, select

from ..extensions import db
from ..proposals.models import Proposal
from ..reviews.models import Review
from ..timeutil import now
from .models import ParkedPost

KEEP = dt.timedelta(hours=24)
MAX_FIELD_CHARS = 50_000  # a form field longer than the longest form field (20,000) plus room
MAX_TOTAL_CHARS = 300_000
MAX_PER_BROWSER = 10
MAX_ROWS = 5_000  # in all: someone posting again and again without a cookie cannot fill the database

# The forms whose text is kept: endpoint → (URL argument of the target, which posted fields are text).
PROPOSAL_FIELDS = ("title", "field_of_action", "summary", "description", "work_plan", "team", "leipzig_relation",
                   "requested_amount", "advice_requested")
REVIEW_FIELD = re.compile(r"^(score|justification)_\d{1,9}$")
PARKABLE = {
    "proposals.edit": "proposal_id",
    "reviews.score": "review_id",
}


def browser_key(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def text_fields(endpoint: str, form) -> dict[str, str]:
    """The text a person typed into the form (no token, no buttons, no files)."""
    if endpoint == "proposals.edit":
        names = [n for n in PROPOSAL_FIELDS if n in form]
    else:
        names = [n for n in form if REVIEW_FIELD.match(n)]
    return {n: str(form.get(n, ""))[:MAX_FIELD_CHARS] for n in names}


def park(key: str, user_id: int | None, endpoint: str, target_id: int, fields: dict[str, str],
         had_files: bool) -> ParkedPost | None:
    """Keep the fields for this browser (the newest post per form wins); None when there is nothing to keep."""
    if not any(v.strip() for v in fields.values()) or sum(len(v) for v in fields.values()) > MAX_TOTAL_CHARS:
        return None
    moment = now()
    db.session.execute(delete(ParkedPost).where(ParkedPost.expires_at < moment))
    if db.session.scalar(select(func.count()).select_from(ParkedPost)) >= MAX_ROWS:
        return None
    row = db.session.scalar(select(ParkedPost).where(
        ParkedPost.browser_key == key, ParkedPost.endpoint == endpoint, ParkedPost.target_id == target_id))
    if row is None:
        older = db.session.scalars(select(ParkedPost).where(ParkedPost.browser_key == key)
                                   .order_by(ParkedPost.created_at.desc()).offset(MAX_PER_BROWSER - 1)).all()
        for old in older:
            db.session.delete(old)
        row = ParkedPost(browser_key=key, endpoint=endpoint, target_id=target_id)
        db.session.add(row)
    row.user_id, row.fields, row.had_files = user_id, fields, had_files
    row.created_at, row.expires_at = moment, moment + KEEP
    db.session.flush()
    return row


def may_take_over(row: ParkedPost, user) -> bool:
    """Only the owner of the draft (or review) may see and take over the text, and only while it is open."""
    if row.user_id is not None and row.user_id != user.id:
        return False
    if row.endpoint == "proposals.edit":
        p = db.session.get(Proposal, row.target_id)
        return p is not None and p.applicant_id == user.id and p.state == "draft"
    if row.endpoint == "reviews.score":
        r = db.session.get(Review, row.target_id)
        return (r is not None and r.reviewer_id == user.id and r.submitted_at is None
                and r.proposal.state == "in_review")
    return False


def parked_for(key: str | None, user) -> list[ParkedPost]:
    """What this browser parked that this person may take over (newest first)."""
    if not key or not user.is_authenticated:
        return []
    rows = db.session.scalars(select(ParkedPost).where(ParkedPost.browser_key == key,
                                                       ParkedPost.expires_at >= now())
                              .order_by(ParkedPost.created_at.desc())).all()
    return [r for r in rows if may_take_over(r, user)]


def find(key: str | None, user, parked_id: int) -> ParkedPost | None:
    return next((r for r in parked_for(key, user) if r.id == parked_id), None)


def discard(row: ParkedPost) -> None:
    db.session.delete(row)
    db.session.flush()

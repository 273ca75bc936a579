"""The JSON API under /api/v1 (issue 15), described by /api/v1/openapi.json.

A token (``Authorization: Bearer fc_…``) acts as its person: what it reads and does goes through the same rules as
the pages (``policy``), and only within its scopes. Without a token only the public data is readable (published
calls, the register, the implementation reports). Lists are paginated with a cursor. Every error is JSON
(RFC 9457 problem details), never an HTML page. Every use of a token is audited."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, g, json, request
from flask_login import AnonymousUserMixin
from sqlalchemy import or_, select
from werkzeug.exceptions import HTTPException

from workflows import CallState, ProposalState

from ..awards.models import Award, Milestone, Payment
from ..awards.operations import record_payment
from ..awards.queries import award_of
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..outcomes.exports import as_json as report_json
from ..outcomes.operations import add_values
from ..outcomes.queries import measure_progress, values_of
from ..outcomes.report import calls_of_year, implementation_report, report_text
from ..outcomes.values import plain, read_values
from ..policy import may
from ..policy.actors import is_official
from ..policy.reading import can_view_proposal, is_public_call, may_see_call
from ..proposals.models import Proposal
from ..register.operations import as_open_data, measures
from ..reviews.models import Review
from ..timeutil import to_berlin
from .models import ApiToken
from .openapi import document
from .operations import note_use, token_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PAGE_DEFAULT = 50
PAGE_MAX = 100
PROBLEM = "application/problem+json"
CURSOR = re.compile(r"[0-9]{1,10}")
ID_MAX = 2**31 - 1  # ids are 32-bit integers (PostgreSQL refuses a larger one in a query)
PLAIN_NUMBER = re.compile(r"-?\d{1,16}(\.\d{1,8})?")


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "", **extra: Any):
        super().__init__(title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def is_api_request() -> bool:
    return request.path.startswith(bp.url_prefix or "/api/v1")


def problem_response(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        **({"detail": detail} if detail else {}),
        **extra,
    }
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="foerdercall"'
    return resp


@bp.errorhandler(Problem)
def _problem(exc: Problem):
    return problem_response(exc.status, exc.title, exc.detail, **exc.extra)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    return problem_response(exc.code or 500, exc.name, exc.description or "")


@bp.errorhandler(ActionRefused)
def _refused(exc: ActionRefused):
    db.session.rollback()
    g.rollback = True
    return problem_response(422, "Unprocessable Content", exc.message)


def _user():
    return g.api_user


def _token() -> ApiToken | None:
    return g.get("api_token")


@bp.before_request
def _authenticate():
    """The bearer token, if sent: unknown, revoked or of a locked account is a 401 (never the public answer)."""
    g.api_user, g.api_token = AnonymousUserMixin(), None
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    kind, _sep, secret = header.partition(" ")
    token = token_for(secret.strip()) if kind.lower() == "bearer" else None
    if token is None:
        raise Problem(401, "Unauthorized", "The token is unknown or revoked.")
    g.api_user, g.api_token = token.user, token
    return None


@bp.after_request
def _audit(resp: Response):
    """Every use of a token leaves an audit event: with what the request changed, or alone when the request was
    refused (what it wrote is undone here, and the event is all the request's one commit keeps, web.py)."""
    token = _token()
    if token is None or resp.status_code >= 500:
        return resp
    if resp.status_code >= 400:
        db.session.rollback()
        g.rollback = False  # nothing left of the refused request: the commit keeps only the audit of the use
        token = db.session.get_one(ApiToken, token.id)
    note_use(token, request.method, request.path)
    return resp


def _need(scope: str) -> None:
    token = _token()
    if token is None:
        raise Problem(401, "Unauthorized", "This needs a token (Authorization: Bearer …).")
    if scope not in token.scopes:
        raise Problem(403, "Forbidden", f"The token lacks the scope {scope}.")


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")


def _iso(value) -> str | None:
    return to_berlin(value).isoformat() if value is not None else None


def _limit() -> int:
    raw = request.args.get("limit", str(PAGE_DEFAULT))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3 or not 1 <= int(raw) <= PAGE_MAX:
        raise Problem(400, "Bad Request", f"limit must be a whole number from 1 to {PAGE_MAX}.")
    return int(raw)


def _cursor() -> int:
    """Where a page starts: the ``next_cursor`` of the page before (opaque to the caller; today a row id)."""
    raw = request.args.get("cursor")
    if raw is None:
        return 0
    if not CURSOR.fullmatch(raw) or int(raw) > ID_MAX:
        raise Problem(400, "Bad Request", "The cursor is not one this API gave.")
    return int(raw)


def _next(last_id: int | None) -> str | None:
    return str(last_id) if last_id is not None else None


def _int_arg(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > ID_MAX:
        raise Problem(400, "Bad Request", f"{name} must be a whole number from 0 to {ID_MAX}.")
    return int(raw)


# --- calls -----------------------------------------------------------------------------------------------------


def _call_data(c: Call) -> dict[str, Any]:
    definition = c.stored_form
    return {
        "id": c.id,
        "code": c.code,
        "title": c.title,
        "mode": c.mode,
        "state": c.state,
        "budget_cents": c.budget_cents,
        "max_amount_cents": c.max_amount_cents,
        "opens_at": _iso(c.opens_at),
        "submission_deadline": _iso(c.submission_deadline),
        "deciding_offices": list(c.deciding_offices or []),
        "fields_of_action": [
            {"key": f["key"], "de": f["de"], "en": f.get("en") or ""} for f in c.fields_of_action or []
        ],
        "indicators": [
            {
                "key": i.key,
                "name": i.label.to_data(),
                "unit": i.unit,
                "aggregate": i.aggregate,
                "field_of_action": i.field or None,
                "integer": i.integer,
            }
            for _q, i in definition.indicators()
        ],
    }


def _visible_call(call_id: int) -> Call:
    c = db.session.get(Call, call_id)
    if c is None or not may_see_call(_user(), c):
        raise Problem(404, "Not Found", "No such call.")
    return c


@bp.get("/calls")
def calls():
    after, limit = _cursor(), _limit()
    q = select(Call).where(Call.id > after).order_by(Call.id).limit(limit + 1)
    if not may_see_call(_user(), Call(state=CallState.DRAFT)):
        q = q.where(Call.state != CallState.DRAFT)
    rows = list(db.session.scalars(q))
    page = rows[:limit]
    return _json(
        {
            "items": [_call_data(c) for c in page],
            "next_cursor": _next(page[-1].id) if len(rows) > limit else None,
        }
    )


@bp.get("/calls/<int:call_id>")
def call(call_id: int):
    return _json(_call_data(_visible_call(call_id)))


# --- proposals ---------------------------------------------------------------------------------------------------


def _proposal_data(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "call_id": p.call_id,
        "file_number": p.file_number,
        "state": p.state,
        "title": p.title,
        "requested_amount_cents": p.requested_amount_cents,
        "field_of_action": p.field_of_action or None,
        "place": p.place or None,
        "submitted_at": _iso(p.submitted_at),
        "decided_at": _iso(p.decided_at),
    }


def _visible_proposal(proposal_id: int) -> Proposal:
    _need("read")
    p = db.session.get(Proposal, proposal_id)
    if p is None or not can_view_proposal(_user(), p):  # the same answer whether or not it exists
        raise Problem(404, "Not Found", "No such proposal.")
    return p


@bp.get("/proposals")
def proposals():
    """The proposals the token's person may read, oldest first. The query narrows to what the person's roles can
    reach at all (their own; an official's submitted ones; a reviewer's assigned ones; an advisor's who asked);
    the rulebook decides each row (``can_view_proposal``)."""
    _need("read")
    user = _user()
    reach = [Proposal.applicant_id == user.id]
    if is_official(user):
        reach.append(Proposal.state != ProposalState.DRAFT)
    if user.has_role("reviewer"):
        reach.append(Proposal.id.in_(select(Review.proposal_id).where(Review.reviewer_id == user.id)))
    if user.has_role("advisor"):
        reach.append(Proposal.advice_requested.is_(True))
    after, limit, call_id = _cursor(), _limit(), _int_arg("call_id", request.args.get("call_id"))
    found: list[Proposal] = []
    last = after
    more = False
    while True:
        q = (
            select(Proposal)
            .where(Proposal.id > last)
            .where(or_(*reach))
            .order_by(Proposal.id)
            .limit(limit * 2)
        )
        if call_id is not None:
            q = q.where(Proposal.call_id == call_id)
        batch = list(db.session.scalars(q))
        for p in batch:
            if len(found) == limit:
                more = True
                break
            last = p.id
            if can_view_proposal(user, p):
                found.append(p)
        if more or len(batch) < limit * 2:
            break
    return _json(
        {
            "items": [_proposal_data(p) for p in found],
            "next_cursor": _next(found[-1].id if found else None) if more else None,
        }
    )


@bp.get("/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    p = _visible_proposal(proposal_id)
    data = _proposal_data(p)
    award = award_of(p)
    data["award"] = _award_data(p, award) if award is not None else None
    return _json(data)


def _award_data(p: Proposal, award: Award) -> dict[str, Any]:
    milestones = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position, Milestone.id)
    )
    return {
        "amount_cents": award.amount_cents - award.released_cents,
        "awarded_at": _iso(award.awarded_at),
        "accepted_at": _iso(award.accepted_at),
        "implementation_ends_at": _iso(award.implementation_ends_at),
        "milestones": [
            {
                "id": m.id,
                "title": m.title,
                "state": m.state,
                "due_at": _iso(m.due_at),
                "reported_at": _iso(m.reported_at),
                "accepted_at": _iso(m.accepted_at),
            }
            for m in milestones
        ],
        "payments": [_payment_data(pay) for pay in award.payments]
        if may(_user(), "proposal.read_payments", p)
        else None,
    }


def _payment_data(pay: Payment) -> dict[str, Any]:
    return {
        "id": pay.id,
        "state": pay.state,
        "amount_cents": pay.amount_cents,
        "paid_at": _iso(pay.paid_at),
        "reference": pay.reference,
        "note": pay.note,
    }


@bp.get("/proposals/<int:proposal_id>/reviews")
def reviews(proposal_id: int):
    p = _visible_proposal(proposal_id)
    if not may(_user(), "proposal.read_assessment", p):
        raise Problem(403, "Forbidden", "The reviews of this proposal are not for this token's person.")
    items = []
    for r in db.session.scalars(select(Review).where(Review.proposal_id == p.id).order_by(Review.id)):
        items.append(
            {
                "id": r.id,
                "reviewer_id": r.reviewer_id,
                "submitted": r.submitted_at is not None,
                "submitted_at": _iso(r.submitted_at),
                "total_points": r.total_points if r.submitted_at else None,
                "scores": [
                    {"criterion_id": s.criterion_id, "score": s.score, "justification": s.justification}
                    for s in r.scores
                ]
                if r.submitted_at
                else [],
            }
        )
    return _json({"items": items})


@bp.get("/proposals/<int:proposal_id>/indicators")
def indicators(proposal_id: int):
    p = _visible_proposal(proposal_id)
    award = award_of(p)
    progress = measure_progress(p, award) if award is not None else None
    return _json(
        {
            "planned_and_achieved": [
                {
                    "key": i.indicator.key,
                    "unit": i.indicator.unit,
                    "planned": plain(i.planned) if i.planned is not None else None,
                    "achieved": plain(i.achieved) if i.achieved is not None else None,
                }
                for i in (progress.indicators if progress else [])
            ],
            "values": [
                {
                    "id": v.id,
                    "key": v.indicator,
                    "value": plain(v.value),
                    "corrected": plain(v.corrected) if v.corrected is not None else None,
                    "state": v.state,
                    "source": v.source,
                    "reported_at": _iso(v.reported_at),
                }
                for v in values_of(p)
            ],
        }
    )


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Problem(400, "Bad Request", "The body must be a JSON object.")
    return data


@bp.post("/proposals/<int:proposal_id>/payments")
def add_payment(proposal_id: int):
    """The finance system books a payment (its booking number makes a resend harmless)."""
    _need("payments:write")
    p = _visible_proposal(proposal_id)
    data = _body()
    amount, note, reference = data.get("amount_cents"), data.get("note", ""), data.get("reference")
    errors = {}
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 10**12:
        errors["amount_cents"] = "A whole number of euro cents above 0."
    if not isinstance(note, str) or len(note) > 500:
        errors["note"] = "A text of at most 500 characters."
    if reference is not None and (
        not isinstance(reference, str) or not reference.strip() or len(reference) > 100
    ):
        errors["reference"] = "A text of 1 to 100 characters."
    if errors or not isinstance(amount, int):
        raise Problem(422, "Unprocessable Content", "Some fields are wrong.", errors=errors)
    before = (
        db.session.scalar(select(Payment.id).where(Payment.reference == reference)) if reference else None
    )
    pay = record_payment(p, _user(), amount, note, reference=reference)
    return _json(_payment_data(pay), 200 if before == pay.id else 201)


@bp.post("/proposals/<int:proposal_id>/indicator-values")
def add_indicator_values(proposal_id: int):
    """Achieved values from a survey tool: {"values": {key: number}, "comments": {key: text}}."""
    _need("indicators:write")
    p = _visible_proposal(proposal_id)
    data = _body()
    raw, comments = data.get("values"), data.get("comments") or {}
    if not isinstance(raw, dict) or not raw or not isinstance(comments, dict):
        raise Problem(422, "Unprocessable Content", "values must be an object of indicator keys and numbers.")
    # data, not typing: a JSON number or a plain decimal string ("12.5"); "1,5" is neither (not read as 15)
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            typed[str(key)] = repr(value) if isinstance(value, float) else str(value)
        elif isinstance(value, str) and PLAIN_NUMBER.fullmatch(value):
            typed[str(key)] = value
        else:
            errors[str(key)[:40]] = "A number: a JSON number or a string like 12.5."
    entry = read_values(p.call.form_definition, typed, comments, "en", p.field_of_action)
    errors |= entry.errors
    if errors:
        raise Problem(422, "Unprocessable Content", "Some values are wrong.", errors=errors)
    rows = add_values(p, _user(), entry.values)
    return _json(
        {
            "items": [
                {"id": v.id, "key": v.indicator, "value": plain(v.value), "state": v.state} for v in rows
            ]
        },
        201,
    )


# --- public data ----------------------------------------------------------------------------------------------------


@bp.get("/register")
def register():
    return _json({"measures": as_open_data(measures(_int_arg("call_id", request.args.get("call_id"))))})


@bp.get("/reports/<int:year>")
def year_report(year: int):
    calls_ = calls_of_year(year)
    if not calls_:
        raise Problem(404, "Not Found", "No published call has its deadline in that year.")
    text = report_text(year=year)
    return _json(report_json(implementation_report(calls_, year), text.text if text else ""))


@bp.get("/calls/<int:call_id>/report")
def call_report(call_id: int):
    c = _visible_call(call_id)
    if not is_public_call(c):
        raise Problem(404, "Not Found", "No such call.")
    text = report_text(call=c)
    return _json(report_json(implementation_report([c]), text.text if text else ""))


@bp.get("/openapi.json")
def openapi():
    return _json(document())

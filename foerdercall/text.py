"""Plain text as the app stores it: no control characters.

A NUL cannot be stored in PostgreSQL, and the other control characters break XLSX exports, PDFs and mails.
Form fields and query arguments are cleaned when a request comes in (``web._clean_input``); services that take
text from elsewhere (the command line, tests) clean it with :func:`printable` themselves.
"""
from __future__ import annotations

import re

_ROW_ID = re.compile(r"[0-9]{1,9}")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """The text without control characters (line breaks and tabs kept) and without lone surrogates."""
    return _CONTROL.sub("", text)


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def row_id(value) -> int | None:
    """A row id as a page sends it (a query argument, a form value): 1 to 9 ASCII digits, else None. ("²" passes
    str.isdigit() but not int(); a longer number lies past PostgreSQL's integer.)"""
    return int(value) if isinstance(value, str) and _ROW_ID.fullmatch(value) else None

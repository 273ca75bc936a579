"""Plain text as the app stores it: no control characters.

A NUL cannot be stored in PostgreSQL, and the other control characters break XLSX exports, PDFs and mails.
Form fields and query arguments are cleaned when a request comes in (``web._clean_input``); services that take
text from elsewhere (the command line, tests) clean it with :func:`printable` themselves.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """The text without control characters (line breaks and tabs kept) and without lone surrogates."""
    return _CONTROL.sub("", text)


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


# The largest row id: PostgreSQL's integer (a larger number is no row of ours; the routes' <int:…> use it too).
MAX_ID = 2**31 - 1
_ID = re.compile(r"[0-9]{1,10}")


def parse_id(value) -> int | None:
    """A row id as the pages send it (a query argument, a posted choice): ASCII digits only ("²" and "٣" pass
    str.isdigit() but not int(), "+1" and " 1" pass int()), 1 to 2^31 - 1. Anything else is None: no row (the
    caller answers 404 or a message, never a 500 from int() or from the database's integer range)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def one_line(text: str) -> str:
    """The text on one line: line breaks (CR, LF, and Unicode's line and paragraph separators) and the spaces
    around them become one space. For single-line inputs and mail headers."""
    return _BREAKS.sub(" ", text)


_BREAKS = re.compile(r"[ \t]*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+[ \t]*")


def token_digest(token: str) -> str:
    """What the database keeps of a random token (a login session's, an unlock link's, a browser's parking key):
    its SHA-256, hex. A lookup by it needs no constant-time comparison."""
    return hashlib.sha256(token.encode()).hexdigest()


# Characters that change how a name is shown without being seen: direction marks and overrides, zero-width
# characters, fillers. Every control and format character (Unicode Cc, Cf, …) goes as well.
_INVISIBLE = set("\u115f\u1160\u3164\uffa0\u034f\u17b4\u17b5\u180e\u2800") | {
    chr(c) for c in range(0xFE00, 0xFE10)
}
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def safe_filename(name: str) -> str:
    """The name a file is stored and sent under: no path, no control, direction or invisible characters, none
    of the characters Windows forbids, at most 200 characters, and always ending in ``.pdf`` (``evil.html``
    becomes ``evil.html.pdf``; the file is a PDF whatever its name said)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = name.rsplit("/", 1)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if ch in _INVISIBLE or category in _DROP_CATEGORIES or ch in '<>:"/\\|?*':
            continue
        kept.append(" " if category == "Zs" else ch)
    cleaned = " ".join("".join(kept).split()).rstrip(". ")
    stem = cleaned[:-4] if cleaned.lower().endswith(".pdf") else cleaned
    suffix = cleaned[-4:] if cleaned.lower().endswith(".pdf") else ".pdf"
    stem = stem.rstrip(". ")[:196].rstrip(". ") if len(stem) > 196 else stem.rstrip(". ")
    return stem + suffix if stem else "dokument.pdf"

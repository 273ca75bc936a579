"""iCalendar (RFC 5545) written by hand: one small encoder for the mail's single-event attachment
(``foerdercall.mail.message.ics_event``) and the calendar exports of a call's or a proposal's deadlines
(``foerdercall.calendar.events``).

What RFC 5545 asks and this module does: CRLF line ends; content lines folded at 75 octets, never inside a
UTF-8 character (3.1); TEXT values with backslash, semicolon, comma and line breaks escaped (3.3.11); times
in UTC with a trailing ``Z`` (3.3.5, form #2), so no VTIMEZONE is needed; a DTSTAMP and a UID per event. A
deadline is a moment (DTSTART without DTEND: an event of no duration at that instant, 3.6.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

CRLF = "\r\n"
PRODID = "-//foerdercall//foerdercall//DE"


def ics_time(moment: dt.datetime) -> str:
    """A DATE-TIME in UTC (form #2): 20261031T225900Z."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_text(value: str) -> str:
    """A TEXT value (RFC 5545, 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def ics_fold(line: str) -> list[str]:
    """Content lines of at most 75 octets (RFC 5545, 3.1), continued with a leading space, never
    splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return out


def _uri(value: str) -> str:
    """A URI value: no line breaks (a URI is not TEXT and is not escaped)."""
    return "".join(value.split())


@dataclass
class Event:
    """One VEVENT: a deadline at ``at``; ``uid`` stable per object and kind, so a re-import updates it."""

    uid: str
    at: dt.datetime
    summary: str
    description: str = ""
    url: str = ""

    def lines(self, stamp: dt.datetime) -> list[str]:
        out = [
            "BEGIN:VEVENT",
            f"UID:{_uri(self.uid)}",
            f"DTSTAMP:{ics_time(stamp)}",
            f"DTSTART:{ics_time(self.at)}",
            f"SUMMARY:{ics_text(self.summary)}",
        ]
        if self.description:
            out.append(f"DESCRIPTION:{ics_text(self.description)}")
        if self.url:
            out.append(f"URL:{_uri(self.url)}")
        out += ["TRANSP:TRANSPARENT", "END:VEVENT"]
        return out


def vcalendar(events: Iterable[Event], stamp: dt.datetime, name: str | None = None) -> str:
    """The whole VCALENDAR object (METHOD:PUBLISH), folded, with CRLF line ends."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    if name:
        lines.append(f"X-WR-CALNAME:{ics_text(name)}")
    for event in events:
        lines += event.lines(stamp)
    lines.append("END:VCALENDAR")
    return "".join(f"{part}{CRLF}" for line in lines for part in ics_fold(line))

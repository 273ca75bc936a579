"""The mail as it goes over the wire: one function writes the MIME bytes of an outbox row.

Written by hand instead of with ``email.message.EmailMessage`` because the worker builds hundreds of mails a
second and the standard library's header objects cost a few milliseconds per mail; the structure is small
and fixed:

    multipart/mixed                      (only when the mail is about a due date)
      multipart/alternative
        text/plain; charset=utf-8        quoted-printable, CRLF lines
        text/html; charset=utf-8         the same text, escaped, line breaks kept
      text/calendar; method=PUBLISH      termin.ics (RFC 5545, hand-written, UTC)

Boundaries start with ``=_``, which quoted-printable never produces, so no body can contain them. Header
values that are not plain ASCII are RFC 2047 encoded words; line breaks in a value are never passed on (no
header injection). Message-ID and the .ics UID are stable per outbox row: a resend is the same mail.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import hashlib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from flask import current_app, render_template

from ..calendar import Event, vcalendar
from .models import OutboxMail

CRLF = "\r\n"


def _digest(mail: OutboxMail, n: int) -> str:
    return hashlib.sha256(mail.dedup_key.encode()).hexdigest()[:n]


def _domain() -> str:
    return current_app.config["MAIL_FROM"].rpartition("@")[2].rstrip(">") or "foerdercall"


def message_id(mail: OutboxMail) -> str:
    """Stable per outbox row: a resend of the same mail carries the same Message-ID."""
    return f"<fc.{_digest(mail, 24)}@{_domain()}>"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def header_text(value: str) -> str:
    """A header value: as it is when it is ASCII, else UTF-8 encoded words of at most 75 characters."""
    value = _one_line(value)
    if value.isascii():
        return value
    words, chunk = [], b""
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > 45:  # 45 bytes -> 60 base64 characters -> a 72-character word
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return f"{CRLF} ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def _address(value: str) -> str:
    name, addr = parseaddr(_one_line(value))
    return formataddr((name, addr), charset="utf-8") if name else addr


def _text_part(subtype: str, text: str, extra: str = "") -> str:
    canonical = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF).encode("utf-8")
    body = binascii.b2a_qp(canonical, istext=True).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{extra}{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}{body}"
    )


def _multipart(subtype: str, boundary: str, parts: list[str]) -> str:
    inner = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}{inner}--{boundary}--{CRLF}'


def html_body(mail: OutboxMail) -> str:
    paragraphs = [p.split("\n") for p in mail.body.strip().split("\n\n")]
    return render_template("mail/html_part.html", mail=mail, paragraphs=paragraphs)


def message_bytes(mail: OutboxMail) -> bytes:
    """The whole mail, ready for SMTP DATA or an .eml file."""
    tag = _digest(mail, 16)
    body = _multipart(
        "alternative", f"=_fc{tag}_alt", [_text_part("plain", mail.body), _text_part("html", html_body(mail))]
    )
    if mail.event_at is not None:  # the date is the point: into the recipient's calendar
        calendar = _text_part(
            "calendar",
            ics_event(mail),
            "; method=PUBLISH" + CRLF + 'Content-Disposition: attachment; filename="termin.ics"',
        )
        body = _multipart("mixed", f"=_fc{tag}_mix", [body, calendar])
    headers = [
        f"From: {_address(current_app.config['MAIL_FROM'])}",
        f"To: {_address(mail.to_address)}",
        f"Subject: {header_text(mail.subject)}",
        f"Date: {format_datetime(mail.created_at)}",
        f"Message-ID: {message_id(mail)}",
        f"X-Foerdercall-Key: {_one_line(mail.dedup_key)}",
        f"Content-Language: {_one_line(mail.locale)}",
        "MIME-Version: 1.0",
    ]
    return (CRLF.join(headers) + CRLF + body).encode("ascii")


def envelope(mail: OutboxMail) -> tuple[str, str]:
    """(sender, recipient) for the SMTP envelope."""
    return parseaddr(current_app.config["MAIL_FROM"])[1], parseaddr(mail.to_address)[1]


def to_message(mail: OutboxMail) -> EmailMessage:
    """The mail parsed back, for reading it (tests, the outbox): exactly the bytes that are sent."""
    return email.message_from_bytes(message_bytes(mail), policy=email.policy.default)


# --- the calendar attachment ----------------------------------------------------------------------------


def ics_event(mail: OutboxMail) -> str:
    """One VEVENT at ``mail.event_at`` (UTC), its summary the subject, its UID stable per mail (the encoder is
    ``foerdercall.calendar``, shared with the calendar exports of a call's deadlines)."""
    assert mail.event_at is not None  # only a mail with a date has the event
    event = Event(uid=f"fc.{_digest(mail, 32)}@{_domain()}", at=mail.event_at, summary=mail.subject)
    return vcalendar([event], stamp=mail.created_at)

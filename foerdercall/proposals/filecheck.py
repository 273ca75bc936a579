"""What an uploaded PDF is allowed to contain, and the optional virus scan by a clamd server.

**Active content.** A PDF may carry JavaScript, launch actions, embedded files, multimedia, form submission and
import, and XFA forms; a reader may run them when the file is opened by an official. :func:`active_content` finds
them without a PDF library, on the raw bytes and bounded in time and memory:

- Names are read as PDF names and normalised (``/J#61vaScript`` is ``/JavaScript``).
- The names with a short spelling (``/JS``, ``/XFA``) count only in the file's object syntax, not inside stream
  data (an image or a font may hold those bytes by chance); the long ones (``/JavaScript``, ``/Launch``, …) count
  anywhere: 7 bytes and more do not occur by chance, and an action always names its type (``/S /JavaScript``).
- Object streams (``/Type /ObjStm``, or a stream with ``/N`` and ``/First``) are decoded (FlateDecode,
  ASCIIHexDecode, ASCII85Decode, chained) and searched like the file itself; their decoded size and the time
  taken are capped (a small "zip bomb" must not fill the memory). An object stream that cannot be decoded
  within the caps, or with another filter or a predictor, makes the file uninspectable: it is refused.
- Encrypted PDFs encrypt streams but not the names of their dictionaries: one without object streams is
  inspected as usual; one with object streams cannot be, and is refused with the request for an unencrypted file.

``/OpenAction`` and ``/AA`` (what runs when the document or a page opens) are reported together with what they
can run; alone (e.g. an open action that shows page 1) they are harmless.

**Virus scan.** With ``CLAMD_SOCKET`` (a unix socket path or ``host:port``), :func:`clamd_scan` sends the file
with clamd's ``zINSTREAM`` command. A finding refuses the file; an unreachable or failing scanner refuses it too
(fail closed) and is logged.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# the names that make a PDF active, each with its normalised spelling; SHORT ones only in object syntax
ACTIVE = (
    "JavaScript",
    "JS",
    "Launch",
    "EmbeddedFile",
    "EmbeddedFiles",
    "RichMedia",
    "SubmitForm",
    "ImportData",
    "XFA",
)
SHORT = {"JS", "XFA"}
TRIGGERS = ("OpenAction", "AA")  # reported with active content, never alone

_DELIMS = rb"\x00\t\n\x0c\r ()<>\[\]{}/%"
_NAME = re.compile(rb"/([^" + _DELIMS + rb"]{1,127})")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# a stream's dictionary ends right before the keyword; its data starts after the end of line
_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_ENDSTREAM = re.compile(rb"(?:\r\n|\n|\r)?endstream")
_LENGTH = re.compile(rb"/Length\s+(\d{1,12})(?!\s+\d+\s+R)")
_FILTERS = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^" + _DELIMS + rb"]+)")


class Uninspectable(Exception):
    """The file could not be inspected completely (a bomb, a broken or unknown encoding, the time is up)."""


class Encrypted(Uninspectable):
    """Encrypted, with object streams whose objects cannot be read without the key."""


@dataclass
class Findings:
    names: set[str] = field(default_factory=set)

    @property
    def active(self) -> list[str]:
        """What makes the file active, as PDF names, in a fixed order ('/JS' folded into '/JavaScript')."""
        found = {
            "JavaScript" if n == "JS" else "EmbeddedFile" if n == "EmbeddedFiles" else n
            for n in self.names
            if n in ACTIVE
        }
        if not found:
            return []
        order = (
            "JavaScript",
            "Launch",
            "EmbeddedFile",
            "RichMedia",
            "SubmitForm",
            "ImportData",
            "XFA",
            *TRIGGERS,
        )
        return ["/" + n for n in order if n in found or (n in TRIGGERS and n in self.names)]


def _names(data: bytes) -> set[str]:
    out = set()
    for m in _NAME.finditer(data):
        raw = m.group(1)
        if b"#" in raw:
            raw = _HEX_ESCAPE.sub(lambda h: bytes([int(h.group(1), 16)]), raw)
        name = raw.decode("latin-1")
        if name in ACTIVE or name in TRIGGERS:
            out.add(name)
    return out


def _normal(raw: bytes) -> bytes:
    return _HEX_ESCAPE.sub(lambda h: bytes([int(h.group(1), 16)]), raw) if b"#" in raw else raw


def _filters(dictionary: bytes) -> list[str]:
    """The filter names of the last /Filter entry of the text (the stream's own comes last before its data)."""
    found = list(_FILTERS.finditer(dictionary))
    if not found:
        return []
    return [_normal(n.group(1)).decode("latin-1") for n in _NAME.finditer(found[-1].group(1))]


def _has(text: bytes, name: bytes) -> bool:
    """Whether a name occurs in the text (hex escapes normalised)."""
    return any(_normal(m.group(1)) == name for m in _NAME.finditer(text))


class _Budget:
    def __init__(self, max_bytes: int, seconds: float):
        self.left = max_bytes
        self.deadline = time.monotonic() + seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise Uninspectable("time")

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise Uninspectable("size")
        self.check_time()


def _inflate(data: bytes, budget: _Budget) -> bytes:
    d = zlib.decompressobj()
    out = bytearray()
    chunk = data
    try:
        while chunk:
            piece = d.decompress(chunk, 1 << 20)
            budget.take(len(piece))
            out += piece
            chunk = d.unconsumed_tail
            if d.eof:
                break
    except zlib.error as exc:
        raise Uninspectable("flate") from exc
    if not d.eof:
        raise Uninspectable("truncated")
    return bytes(out)


def _decode(data: bytes, filters: list[str], budget: _Budget) -> bytes:
    for f in filters:
        if f in ("FlateDecode", "Fl"):
            data = _inflate(data, budget)
        elif f in ("ASCIIHexDecode", "AHx"):
            digits = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">", 1)[0])
            data = binascii.unhexlify(digits + (b"0" if len(digits) % 2 else b""))
        elif f in ("ASCII85Decode", "A85"):
            body = data.strip()
            body = body[2:] if body.startswith(b"<~") else body
            try:
                data = base64.a85decode(b"<~" + body.split(b"~>", 1)[0] + b"~>", adobe=True)
            except ValueError as exc:
                raise Uninspectable("ascii85") from exc
        else:
            raise Uninspectable(f"filter {f}")
        budget.take(len(data))
    return data


IMAGE_FILTERS = {"DCTDecode", "DCT", "JPXDecode", "CCITTFaxDecode", "CCF", "JBIG2Decode"}


def active_content(path: Path, *, max_decoded: int, seconds: float) -> Findings:
    """The active-content names of the PDF at `path` (an empty Findings: none); raises Uninspectable."""
    data = path.read_bytes()
    budget = _Budget(max_decoded, seconds)
    findings = Findings()
    encrypted = _has(data, b"Encrypt")
    syntax: list[bytes] = []  # the file outside stream data
    pos = 0
    for m in _STREAM.finditer(data):
        if m.start() < pos:  # a "stream" keyword inside data already skipped
            continue
        budget.check_time()
        start = m.end()
        # everything since the previous stream's data: this stream's dictionary is the last part of it
        gap = data[pos : m.start() + 2]
        syntax.append(data[pos:start])
        end = None
        lengths = list(_LENGTH.finditer(gap))
        if lengths:
            n = int(lengths[-1].group(1))
            if start + n <= len(data) and _ENDSTREAM.match(data, start + n):
                end = start + n
        if end is None:
            e = _ENDSTREAM.search(data, start)
            end = e.start() if e else None
        if end is None:  # no end: the rest is searched as syntax (never skipped unseen)
            pos = start
            break
        stream_data = data[start:end]
        pos = end
        # long names count even inside stream data
        findings.names |= {n for n in _names(stream_data) if n not in SHORT}
        explicit = _has(gap, b"ObjStm")
        if not (explicit or (_has(gap, b"N") and _has(gap, b"First"))):
            continue
        # an object stream (or, by /N and /First only, perhaps one: an outline item next to an ICC profile)
        if encrypted:
            if explicit:
                raise Encrypted("encrypted object stream")
            continue
        filters = _filters(gap)
        try:
            if re.search(rb"/Predictor\s+([2-9]|1\d)", gap):
                raise Uninspectable("predictor")
            if any(f in IMAGE_FILTERS for f in filters):
                raise Uninspectable("image filter")
            findings.names |= _names(_decode(stream_data, filters, budget))
        except (Uninspectable, binascii.Error) as exc:
            if explicit or not (set(filters) & IMAGE_FILTERS or "predictor" in str(exc)):
                raise Uninspectable(str(exc)) from exc
    syntax.append(data[pos:])
    findings.names |= _names(b"\n".join(syntax))
    return findings


# --- clamd ---------------------------------------------------------------------------------------------------


class ScannerUnavailable(Exception):
    pass


def clamd_scan(path: Path, address: str, timeout: float) -> str | None:
    """The name of what clamd found in the file, or None when it is clean; ScannerUnavailable when clamd cannot
    be reached or answers with an error."""
    try:
        if address.startswith("/") or ":" not in address:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: str | tuple[str, int] = address
        else:
            host, _, port = address.rpartition(":")
            sock = socket.socket(
                socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, socket.SOCK_STREAM
            )
            target = (host.strip("[]"), int(port))
        with sock:
            sock.settimeout(timeout)
            sock.connect(target)
            sock.sendall(b"zINSTREAM\0")
            with open(path, "rb") as f:
                while chunk := f.read(64 * 1024):
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
    except (OSError, ValueError) as exc:
        raise ScannerUnavailable(f"clamd at {address}: {exc}") from exc
    reply = answer.rstrip(b"\0").decode("utf-8", "replace").strip()
    if reply.endswith(" OK") and reply.startswith("stream:"):
        return None
    if reply.endswith(" FOUND") and reply.startswith("stream:"):
        return reply[len("stream:") : -len(" FOUND")].strip() or "?"
    raise ScannerUnavailable(f"clamd at {address} answered {reply!r}")

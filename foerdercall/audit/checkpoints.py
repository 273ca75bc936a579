"""Signed checkpoints of the audit chain, written outside the database (issue 17).

A checkpoint is one line of JSON, ``{"seq": …, "hash": …, "at": …, "mac": …}``: the chain's head (its last
event's place and hash) at a moment, with ``mac = HMAC-SHA256(audit key, "foerdercall audit checkpoint", seq,
hash, at)``. Since every hash covers all events before it, a checkpoint pins the whole chain up to its seq.

:func:`write_checkpoint` (the sweep, ``foerdercall audit checkpoint``) writes one when the head moved since the
file's last checkpoint, after checking the events since then (their hashes and MACs: a broken chain is not
signed, it is logged as an error). The line is

- appended to ``AUDIT_CHECKPOINT_FILE`` (default ``instance/audit-checkpoints.log``, mode 0600) under an
  exclusive ``flock`` of the file, with ``O_APPEND`` in one write, then fsync: several processes never write
  the same checkpoint twice, nor lines into each other;
- logged at INFO on the logger ``foerdercall.audit`` (for the city's log collection);
- mailed to ``AUDIT_CHECKPOINT_MAIL`` (the audit office), the day's first checkpoint, once a day (the mail's key
  is the day).

``foerdercall audit verify`` reads the configured file and any copies given (an audit office's file, or log
lines: text before the JSON is ignored) with :func:`read_checkpoints`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..timeutil import UTC, now
from .models import AuditChainHead, AuditEvent
from .trail import GENESIS, ChainReport, audit_keys, mac, mac_matches, walk

log = logging.getLogger("foerdercall.audit")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TAIL = 64 * 1024  # the end of the file read for its last checkpoint


class ChainBroken(Exception):
    """The chain since the last checkpoint does not hold: no checkpoint is signed over it."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    mac: str
    source: str = ""  # file:line it was read from

    def line(self) -> str:
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "at": self.at, "mac": self.mac}, separators=(",", ":")
        )

    def genuine(self, keys=None) -> bool:
        return mac_matches(self.mac, "checkpoint", self.seq, self.hash, self.at, keys=keys)


def sign(seq: int, hash_: str, at: dt.datetime) -> Checkpoint:
    stamp = at.astimezone(UTC).isoformat(timespec="seconds")
    return Checkpoint(seq, hash_, stamp, mac(audit_keys()[0], "checkpoint", seq, hash_, stamp))


def parse_line(text: str, source: str = "") -> Checkpoint | None:
    """The checkpoint in a line (None: no checkpoint in it); ValueError when it is one, but damaged."""
    start = text.find('{"seq"')
    if start < 0:
        return None
    try:
        obj, _end = json.JSONDecoder().raw_decode(text[start:])
        cp = Checkpoint(obj["seq"], obj["hash"], obj["at"], obj["mac"], source)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a readable checkpoint") from exc
    if not (
        isinstance(cp.seq, int)
        and cp.seq > 0
        and isinstance(cp.hash, str)
        and _HEX64.fullmatch(cp.hash)
        and isinstance(cp.at, str)
        and isinstance(cp.mac, str)
    ):
        raise ValueError("not a readable checkpoint")
    return cp


def read_checkpoints(paths: Iterable[str]) -> tuple[dict[int, Checkpoint], int, list[str]]:
    """The genuine checkpoints of these files by seq, how many lines were genuine, and a problem for every
    line that looks like a checkpoint but is not one (its MAC does not match, or it cannot be read)."""
    keys = audit_keys()
    found: dict[int, Checkpoint] = {}
    genuine, problems = 0, []
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, text in enumerate(f, start=1):
                where = f"{path}:{number}"
                try:
                    cp = parse_line(text, where)
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                if cp is None:
                    continue
                if not cp.genuine(keys):
                    problems.append(
                        f"{where}: the checkpoint's MAC does not match (forged or changed, or signed "
                        "with another key): " + text.strip()[:200]
                    )
                    continue
                genuine += 1
                known = found.get(cp.seq)
                if known is None or known.at > cp.at:
                    found[cp.seq] = cp  # the same seq twice: the earliest (every copy names the same hash)
    return found, genuine, problems


def checkpoint_file() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_FILE"])


def _last_genuine(fd: int) -> Checkpoint | None:
    """The file's last checkpoint whose MAC holds (read from its end)."""
    size = os.fstat(fd).st_size
    start = max(0, size - _TAIL)
    tail = os.pread(fd, size - start, start).decode("utf-8", errors="replace").splitlines()
    if start:
        tail = tail[1:]  # a line cut in two
    keys = audit_keys()
    for text in reversed(tail):
        try:
            cp = parse_line(text)
        except ValueError:
            continue
        if cp is not None and cp.genuine(keys):
            return cp
    return None


def _head() -> tuple[int, str] | None:
    row = db.session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).first()
    return (row.last_seq, row.last_hash) if row is not None and row.last_seq else None


def check_since(last: Checkpoint | None, head: tuple[int, str]) -> str:
    """The problem of the chain from the last checkpoint to the head ("" when it holds): the events since
    (hashes, MACs), and that they end at the head. Without a checkpoint, the whole chain."""
    start_seq, start_hash = (last.seq, last.hash) if last else (0, "0" * 64)
    report = ChainReport(0, start_hash)
    end = walk(report, start_seq + 1, start_hash, signed_after=last.seq if last else None, until=head[0])
    if report.problem:
        where = f"event id {report.broken_event_id} (seq {report.broken_seq})"
        return f"{where}: {report.problem}"
    if (end, report.head) != head:
        return f"the chain ends at seq {end}, its head says {head[0]}"
    return ""


def write_checkpoint(at: dt.datetime | None = None) -> Checkpoint | None:
    """Sign the chain's head into the checkpoint file when it moved since the file's last checkpoint (None
    otherwise). Raises ChainBroken (and logs it) when the events since do not hold or the head went back."""
    at = at or now()
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    if _head() is None:  # nothing chained yet (this also begins the transaction before the file lock)
        return None
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time; released when the descriptor closes
        head = _head()  # read again under the lock: what another process signed meanwhile is seen
        assert head is not None  # it was there before the lock, and events are never deleted
        last = _last_genuine(fd)
        if last is not None and (last.seq, last.hash) == head:
            return None
        if last is not None and head[0] <= last.seq:
            problem = (
                f"the chain's head (seq {head[0]}) is not ahead of the last checkpoint (seq {last.seq}, "
                f"{last.at}): events deleted or changed?"
            )
        else:
            problem = check_since(last, head)
        if problem:
            log.error("audit chain broken, no checkpoint written: %s", problem)
            raise ChainBroken(problem)
        cp = sign(head[0], head[1], at)
        os.write(fd, (cp.line() + "\n").encode())  # one write in append mode: never into another line
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        _fsync_dir(path.parent)
    log.info("audit checkpoint %s", cp.line())
    return cp


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def verify_chain(checkpoint_files: Iterable[str] = (), batch: int = 5000) -> ChainReport:
    """Recompute the whole chain in order of ``seq`` with its MACs, against the signed checkpoints of the
    configured file (when it exists) and of ``checkpoint_files``; the first event that does not fit is
    reported, and every checkpoint line whose own MAC is wrong."""
    configured = current_app.config.get("AUDIT_CHECKPOINT_FILE") or ""
    files = list(dict.fromkeys([*([configured] if configured else []), *map(str, checkpoint_files)]))
    checkpoints, genuine, problems = read_checkpoints(files)
    report = ChainReport(0, GENESIS, checkpoints=genuine, checkpoint_problems=problems)
    first = min(checkpoints, default=None)
    last_seq = walk(report, 1, GENESIS, checkpoints=checkpoints, signed_after=first, batch=batch)
    if report.problem:
        return report
    unchained = db.session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.seq.is_(None)))
    if unchained is not None:
        return report.broken(unchained, None, "not in the chain (written behind the application's back?)")
    head = db.session.get(AuditChainHead, 1)
    if head is None or head.last_seq != last_seq or head.last_hash != report.head:
        return report.broken(
            None,
            last_seq + 1,
            "events after the last one are missing "
            f"(the chain's head says {head.last_seq if head else '?'} events)",
        )
    newest = checkpoints.get(max(checkpoints)) if checkpoints else None
    if newest is not None and newest.seq > last_seq:
        return report.broken(
            None,
            last_seq + 1,
            f"seq {last_seq + 1} and later are missing: the checkpoint of "
            f"{newest.at} ({newest.source}) says the chain held {newest.seq} events",
        )
    if head.mac is None:
        if report.macs:
            return report.broken(
                None,
                last_seq + 1,
                "the chain's head has no MAC, although its events have "
                "(removed? events after the last one may be missing)",
            )
    elif not mac_matches(head.mac, "head", head.last_seq, head.last_hash):
        return report.broken(
            None,
            last_seq + 1,
            f"the chain's head (seq {last_seq}) has no valid MAC: moved "
            "back (events after the last one deleted?) or changed",
        )
    return report

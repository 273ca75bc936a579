"""Benchmark: the deadline surge (issue 5, "Load: the deadline surge").

Everything runs on this machine, nothing is left behind:

1. a fresh PostgreSQL database ``surge_<pid>`` (migrations), a call open for submissions whose deadline is a few
   minutes after the end of the run (one required attachment: the offer as PDF), N applicants with a verified
   address and a filled-in draft each (the password hashed once with the configured argon2 parameters and the
   hash reused; users and drafts bulk-inserted with SQLAlchemy Core), three officials (through the operations);
2. the app served by gunicorn (``deploy/gunicorn.conf.py`` when it exists, else ``-k gthread``) on that
   database, with a Redis database of its own as broker and a ``foerdercall worker`` writing the receipts into
   the file outbox;
3. the cross-check of the load client: the same GET (``/login``) at the same fixed rate, once with this
   benchmark's asyncio client and once with an independent threaded ``http.client`` client;
4. the surge: an open-loop client (arrivals at a fixed rate, Poisson by default) where each arrival is one
   applicant's complete submission - GET /login, POST /login, GET the proposal form, POST a draft save (a
   share of them), POST the form with the 1 MB PDF and "Verbindlich einreichen" - with the real forms and CSRF
   tokens, while officials browse the call's proposals list, dashboard and page at a low rate (the ranking is
   404 while a procurement call is sealed, as it is before the deadline). Latency is timed
   from the scheduled arrival (coordinated omission), per kind of request; 429/503 count as shed;
5. the count: submitted proposals in the database against the submissions the clients saw acknowledged
   (lost, duplicated, committed but not acknowledged), receipts in the outbox, uploads per proposal.

Aims (issue 5): at 50 submissions/s for 15 minutes the final post's p99 < 300 ms and no errors; at twice the
rate only deliberate 429/503, admitted requests under 2 s and nothing committed lost. Reported, not asserted.

    .venv/bin/python bench/surge.py --rate 50 --duration 900 --warmup 30
    .venv/bin/python bench/surge.py --rate 100 --duration 900 --warmup 30
    .venv/bin/python bench/surge.py --quick --rate 10          # 60 s, for development
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from surge_client import (  # noqa: E402
    SHED,
    HTTPError,
    Session,
    Stats,
    asyncio_fixed_rate,
    csrf_of,
    multipart,
    percentile,
    run_open_loop,
    schedule,
    threaded_fixed_rate,
)

PASSWORD = "surge-password-123"
BIN = pathlib.Path(sys.executable).parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
P99_AIM_S = 0.300
ADMITTED_AIM_S = 2.0
KINDS = [
    "login_page",
    "login_post",
    "form",
    "save",
    "submit",
    "session",
    "official_list",
    "official_dashboard",
    "official_call",
]
TEXT = {
    "title": "Leipziger Kreativwerkstatt {i}",
    "summary": "Eine offene Werkstatt für Gestaltung, Ton und Druck im Leipziger Westen.",
    "description": "Konzept: " + "Wir öffnen die Werkstatt an drei Tagen der Woche. " * 40,
    "work_plan": "Monat 1-3: Aufbau; Monat 4-12: offene Werkstatt, Kurse und Ausstellungen. " * 10,
    "team": "Zwei Gestalterinnen, ein Drucker, eine Projektleitung. " * 5,
    "leipzig_relation": "Die Werkstatt liegt in Plagwitz und arbeitet mit Schulen im Stadtteil. " * 5,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def padded_pdf(size: int) -> bytes:
    """A valid one-page PDF (correct xref offsets) padded to ``size`` bytes with an unreferenced stream."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"

    def build(pad: int) -> bytes:
        out = bytearray(head)
        offsets = []
        stream = b"<< /Length %d >>\nstream\n" % pad + b"0" * pad + b"\nendstream"
        for n, body in enumerate([*objs, stream], 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
        return bytes(out)

    pad = max(0, size - len(build(0)))
    for _ in range(4):  # the digits of /Length and startxref grow with the padding
        pdf = build(pad)
        if len(pdf) == size or pad == 0:
            break
        pad = max(0, pad - (len(pdf) - size))
    return pdf


# --- building the data ---------------------------------------------------------------------------------------


def _one_attachment() -> dict:
    """The default form with one required attachment, the offer as PDF (what each submission uploads)."""
    import copy

    from foerdercall.appform.default import DEFAULT_FORM

    form = copy.deepcopy(DEFAULT_FORM)
    for section in form["sections"]:
        section["questions"] = [
            q for q in section["questions"] if q["type"] != "attachment" or q["key"] == "offer"
        ]
    return form


def build(app, n_applicants: int, deadline_utc: dt.datetime) -> dict:
    from foerdercall.accounts import operations as account_ops
    from foerdercall.accounts.models import RoleGrant, User
    from foerdercall.calls.operations import create_call, mark_privacy_checked
    from foerdercall.extensions import db
    from foerdercall.proposals.models import Proposal
    from foerdercall.timeutil import now
    from foerdercall.workflow.engine import fire

    t = time.perf_counter()
    pw_hash = account_ops.hash_password(PASSWORD)  # the configured parameters: the server never rehashes
    hash_ms = []
    hasher = account_ops.password_hasher()
    for _ in range(15):
        c0 = time.process_time()
        hasher.verify(pw_hash, PASSWORD)
        hash_ms.append((time.process_time() - c0) * 1000)
    hash_ms.sort()
    officials = [
        account_ops.create_user(
            f"{o.lower()}@surge.test", f"Official {o}", PASSWORD, roles=("official",), office=o
        )
        for o in ("KA", "AfWiFoe")
    ]
    officials.append(
        account_ops.create_user("ka2@surge.test", "Official KA 2", PASSWORD, roles=("official",), office="KA")
    )
    ka = officials[0]
    call = create_call(
        ka,
        code="SURGE",
        title="Kreativwirtschaft: Last vor der Frist",
        description="Benchmark",
        fields_of_action=["networks", "marketing"],
        budget_cents=100_000_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=now() - dt.timedelta(days=30),
        submission_deadline=deadline_utc,
        application_form=_one_attachment(),
    )
    mark_privacy_checked(call, ka)  # the officer checked the notice
    fire(call, "publish", ka)
    db.session.commit()
    call_id = call.id
    t_ops = time.perf_counter() - t

    t = time.perf_counter()
    created = now() - dt.timedelta(days=10)
    users = User.__table__
    applicant_ids: list[int] = []
    with db.engine.begin() as conn:
        for start in range(0, n_applicants, 5000):
            rows = [
                {
                    "email": f"surge{i:06d}@surge.test",
                    "name": f"Antragstellerin {i}",
                    "organisation": f"Atelier {i}",
                    "password_hash": pw_hash,
                    "locale": "de",
                    "office": None,
                    "head_of_office": False,
                    "active": True,
                    "created_at": created,
                    "email_verified_at": created,
                }
                for i in range(start, min(n_applicants, start + 5000))
            ]
            ids = conn.execute(insert(users).returning(users.c.id, sort_by_parameter_order=True), rows)
            applicant_ids += [r[0] for r in ids]
        conn.execute(
            insert(RoleGrant.__table__), [{"user_id": u, "role": "applicant"} for u in applicant_ids]
        )
        prows = [
            {
                "call_id": call_id,
                "applicant_id": u,
                "state": "draft",
                **{k: v.format(i=i) for k, v in TEXT.items()},
                "field_of_action": "networks",
                "requested_amount_cents": 20_000_00,
                "advice_requested": False,
                "created_at": created,
                "updated_at": created,
                "row_version": 1,
            }
            for i, u in enumerate(applicant_ids)
        ]
        proposal_ids: list[int] = []
        table = Proposal.__table__
        for start in range(0, len(prows), 5000):
            ids = conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), prows[start : start + 5000]
            )
            proposal_ids += [r[0] for r in ids]
        conn.execute(text("ANALYZE"))
    t_bulk = time.perf_counter() - t
    return {
        "call_id": call_id,
        "applicants": list(zip(applicant_ids, proposal_ids, strict=True)),
        "officials": [o.email for o in officials],
        "ops_s": t_ops,
        "bulk_s": t_bulk,
        "hash_ms": hash_ms,
        "hash_params": argon2_params(pw_hash),
    }


def argon2_params(h: str) -> str:
    import argon2

    p = argon2.extract_parameters(h)
    return f"{p.type.name.lower()} m={p.memory_cost} KiB t={p.time_cost} p={p.parallelism}"


# --- processes -----------------------------------------------------------------------------------------------


class Procs:
    def __init__(self, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, tuple[subprocess.Popen, pathlib.Path]] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        logf = self.tmp / f"{name}.log"
        with logf.open("wb") as out:
            proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT), start_new_session=True
            )
        self.procs[name] = (proc, logf)
        return proc

    def tail(self, name: str, n: int = 3000) -> str:
        return self.procs[name][1].read_text(errors="replace")[-n:]

    def stop(self) -> None:
        for proc, _l in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _l in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the process group we started (workers, pool)
            except ProcessLookupError:
                pass
            proc.wait()


def wait_http(port: int, proc: subprocess.Popen, procs: Procs, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + procs.tail("gunicorn"))
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/login")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer:\n" + procs.tail("gunicorn"))


def gunicorn_pids(master: int) -> list[int]:
    out = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                out.append(int(entry.name))
    return sorted(out)


CLK = os.sysconf("SC_CLK_TCK")


def cpu_of(sessions: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user+system) of the processes we started (by session id: gunicorn and its workers, the
    Celery worker), of this process (the load client) and of all of PostgreSQL (shared with whatever else
    runs on the machine)."""
    out: dict[str, float] = defaultdict(float)
    me = os.getpid()
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        sid, secs = int(fields[3]), (int(fields[11]) + int(fields[12])) / CLK
        if int(entry.name) == me:
            out["load client (this process)"] += secs
        elif sid in sessions:
            out[sessions[sid]] += secs
        elif comm == "postgres":
            out["postgres (all)"] += secs
    return out


def machine_busy() -> tuple[float, float]:
    vals = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(vals) - vals[3] - vals[4], sum(vals)


class UploadJanitor(threading.Thread):
    """45,000 uploads of 1 MB would fill the disk: delete stored files a few seconds after they arrived (their
    size and SHA-256 stay in the attachments table). Counts what it saw."""

    def __init__(self, folder: pathlib.Path, keep: bool) -> None:
        super().__init__(daemon=True)
        self.folder, self.keep = folder, keep
        self.seen = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # the last sweep (main thread) may meet this thread's

    def sweep(self) -> None:
        cutoff = time.time() - 5
        with self.lock:
            try:
                entries = list(os.scandir(self.folder))
            except FileNotFoundError:
                return
            for e in entries:
                if e.name.endswith(".pdf") and e.stat().st_mtime < cutoff:
                    self.seen += 1
                    if not self.keep:
                        os.unlink(e.path)

    def run(self) -> None:
        while not self.stopping.wait(5):
            self.sweep()


# --- the surge -----------------------------------------------------------------------------------------------


class Surge:
    def __init__(self, args, port: int, built: dict, pdf: bytes, measure_from: float) -> None:
        self.args, self.port, self.pdf = args, port, pdf
        self.call_id = built["call_id"]
        self.applicants = built["applicants"]
        self.officials = built["officials"]
        self.official_cookies: list[dict] = []
        self.stats = Stats()
        self.measure_from = measure_from  # scheduled offsets before this are warm-up
        self.acknowledged: dict[int, str] = {}  # proposal id -> the page it was redirected to
        self.refused: Counter = Counter()
        self.unknown: set[int] = set()  # the submission's answer never came (timeout, connection)
        self.shed_submit: set[int] = set()
        self.overflow = 0
        self.rng = random.Random(args.seed)
        self.start = 0.0

    def _record(self, measured: bool, kind: str, latency, status, expected) -> None:
        if measured:
            self.stats.add(kind, latency, status, expected)

    async def _step(
        self, s: Session, measured: bool, kind: str, since: float, expected, method: str, path: str, **kw
    ):
        """One request; returns (response or None, completion time). None: shed or failed (recorded)."""
        try:
            r = await asyncio.wait_for(s.send(method, path, **kw), self.args.timeout)
        except TimeoutError:
            self._record(measured, kind, None, "timeout", expected)
            return None, time.monotonic()
        except (OSError, HTTPError, asyncio.IncompleteReadError, ValueError) as exc:
            self._record(measured, kind, None, f"conn: {type(exc).__name__}", expected)
            return None, time.monotonic()
        done = time.monotonic()
        self._record(measured, kind, done - since, r.status, expected)
        ok = r.status in expected if isinstance(expected, tuple) else r.status == expected
        return (r if ok else None), done

    async def submission(self, i: int, due: float) -> None:
        """One applicant's complete submission."""
        user_no = i
        _uid, pid = self.applicants[user_no]
        email = f"surge{user_no:06d}@surge.test"
        measured = due - self.start >= self.measure_from
        if measured:
            self.stats.lags.append(time.monotonic() - due)
        s = Session("127.0.0.1", self.port)
        try:
            r, t = await self._step(s, measured, "login_page", due, 200, "GET", "/login")
            if r is None:
                return
            r, t = await self._step(
                s,
                measured,
                "login_post",
                t,
                302,
                "POST",
                "/login",
                form={"csrf_token": csrf_of(r.body), "email": email, "password": PASSWORD},
            )
            if r is None:
                return
            edit = f"/proposals/{pid}/edit"
            r, t = await self._step(s, measured, "form", t, 200, "GET", edit)
            if r is None:
                return
            token = csrf_of(r.body)
            fields = [
                ("csrf_token", token),
                *[(k, v.format(i=user_no)) for k, v in TEXT.items()],
                ("field_of_action", "networks"),
                ("requested_amount", "20000,00"),
            ]
            if random.random() < self.args.save_share:
                r, t = await self._step(
                    s,
                    measured,
                    "save",
                    t,
                    302,
                    "POST",
                    edit,
                    body=multipart([*fields, ("kind", "offer"), ("action", "save")], []),
                )
                if r is None:
                    return
            body = multipart(
                [*fields, ("kind", "offer"), ("action", "submit")], [("file", "angebot.pdf", self.pdf)]
            )
            try:
                r = await asyncio.wait_for(s.send("POST", edit, body=body), self.args.timeout)
            except TimeoutError:
                self.unknown.add(pid)
                self._record(measured, "submit", None, "timeout", 302)
                return
            except (OSError, HTTPError, asyncio.IncompleteReadError, ValueError) as exc:
                self.unknown.add(pid)
                self._record(measured, "submit", None, f"conn: {type(exc).__name__}", 302)
                return
            done = time.monotonic()
            location = r.headers.get("location", "")
            if r.status == 302 and location.rstrip("/").endswith(f"/proposals/{pid}"):
                self.acknowledged[pid] = location
                self._record(measured, "submit", done - t, 302, 302)
                self._record(measured, "session", done - due, 200, 200)
            elif r.status in SHED:
                self.shed_submit.add(pid)
                self._record(measured, "submit", done - t, r.status, 302)
            else:  # refused (redirect back to the form with a message) or an error page
                self.refused[f"{r.status} -> {location or '-'}"] += 1
                self._record(
                    measured, "submit", done - t, "302 refused" if r.status == 302 else r.status, 302
                )
        except HTTPError as exc:  # e.g. a page without a CSRF token
            self._record(measured, "session", None, f"client: {exc}", 200)
        finally:
            s.close()

    async def official_login(self, email: str) -> dict:
        s = Session("127.0.0.1", self.port)
        try:
            r = await s.send("GET", "/login")
            r = await s.send(
                "POST", "/login", form={"csrf_token": csrf_of(r.body), "email": email, "password": PASSWORD}
            )
            if r.status != 302:
                raise RuntimeError(f"official {email} could not log in: {r.status}")
            return dict(s.cookies)
        finally:
            s.close()

    async def official(self, i: int, due: float) -> None:
        measured = due - self.start >= self.measure_from
        # (the ranking is 404 until the joint opening: a procurement call's submissions are sealed)
        kind, path = [
            ("official_list", f"/calls/{self.call_id}/proposals"),
            ("official_dashboard", f"/calls/{self.call_id}/dashboard"),
            ("official_call", f"/calls/{self.call_id}"),
        ][i % 3]
        s = Session("127.0.0.1", self.port, self.official_cookies[i % len(self.official_cookies)])
        try:
            await self._step(s, measured, kind, due, 200, "GET", path)
        finally:
            s.close()

    async def run(self, total: float) -> dict:
        self.official_cookies = [await self.official_login(e) for e in self.officials]
        rng = random.Random(self.args.seed)
        arrivals = schedule(self.args.rate, total, not self.args.fixed_interval, rng)
        if len(arrivals) > len(self.applicants):
            raise RuntimeError(f"{len(arrivals)} arrivals but only {len(self.applicants)} applicants")
        official_arrivals = schedule(self.args.official_rate, total, not self.args.fixed_interval, rng)
        self.start = time.monotonic() + 0.5

        def overflow(i: int, due: float) -> None:
            self.overflow += 1
            if due - self.start >= self.measure_from:
                self.stats.add("session", None, "client overflow", 200)

        progress = asyncio.ensure_future(self._progress(total))
        peaks = await asyncio.gather(
            run_open_loop(arrivals, self.start, self.submission, self.args.max_in_flight, overflow),
            run_open_loop(official_arrivals, self.start, self.official, 200, lambda i, d: None),
        )
        progress.cancel()
        return {
            "arrivals": len(arrivals),
            "official_arrivals": len(official_arrivals),
            "peak": peaks[0],
            "wall": time.monotonic() - self.start,
        }

    async def _progress(self, total: float) -> None:
        while True:
            await asyncio.sleep(15)
            el = time.monotonic() - self.start
            sub = self.stats.kinds.get("submit")
            lat = sorted(sub.latencies) if sub else []
            log(
                f"  t={el:5.0f}s/{total:.0f}s acknowledged {len(self.acknowledged):,}  measured submit p99 "
                f"{percentile(lat, 0.99) * 1000:.0f} ms  errors {sum(k.errors for k in self.stats.kinds.values())}"
                f"  shed {sum(k.shed for k in self.stats.kinds.values())}"
            )


def count_in_db(url: str, call_id: int) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            submitted = conn.execute(
                text(
                    "SELECT id, file_number, submitted_at FROM proposals WHERE call_id = :c AND state = 'submitted'"
                ),
                {"c": call_id},
            ).all()
            dup_numbers = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT file_number FROM proposals WHERE file_number IS NOT NULL "
                    "GROUP BY file_number HAVING count(*) > 1) d"
                )
            ).scalar()
            submit_events = conn.execute(
                text(
                    "SELECT proposal_id, count(*) FROM audit_events WHERE call_id = :c AND action = 'submit' "
                    "GROUP BY proposal_id"
                ),
                {"c": call_id},
            ).all()
            offers = conn.execute(
                text(
                    "SELECT a.proposal_id, count(*) FROM attachments a JOIN proposals p ON p.id = a.proposal_id "
                    "WHERE p.call_id = :c AND a.kind = 'offer' GROUP BY a.proposal_id"
                ),
                {"c": call_id},
            ).all()
            receipts = conn.execute(
                text("SELECT status, count(*) FROM outbox_mails WHERE kind = 'receipt' GROUP BY status")
            ).all()
            receipt_dups = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT proposal_id FROM outbox_mails WHERE kind = 'receipt' "
                    "GROUP BY proposal_id HAVING count(*) > 1) d"
                )
            ).scalar()
            states = dict(
                conn.execute(
                    text("SELECT state, count(*) FROM proposals WHERE call_id = :c GROUP BY state"),
                    {"c": call_id},
                ).all()
            )
            sizes = conn.execute(text("SELECT min(size), max(size) FROM attachments")).one()
    finally:
        engine.dispose()
    return {
        "submitted": {r[0]: (r[1], r[2]) for r in submitted},
        "dup_numbers": dup_numbers,
        "submit_events": dict(submit_events),
        "offers": dict(offers),
        "receipts": dict(receipts),
        "receipt_dups": receipt_dups,
        "states": states,
        "sizes": tuple(sizes),
    }


def py_spy_summary(raw: pathlib.Path, top: int = 25) -> list[str]:
    """Collapsed stacks of py-spy (--format raw): the frames with the most samples (inclusive), in our code."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _s, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        n = int(n)
        total += n
        frames = stack.split(";")
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    out = [f"   {total} samples; inclusive share of the frames in foerdercall/, worker/, forms/, templates:"]
    ours = [
        (f, n)
        for f, n in inclusive.most_common()
        if any(k in f for k in ("foerdercall/", "worker/", "forms/", ".html"))
    ]
    out += [f"   {n / max(1, total) * 100:5.1f} %  {f[:150]}" for f, n in ours[:top]]
    out.append("   own time (leaf frames):")
    out += [f"   {n / max(1, total) * 100:5.1f} %  {f[:150]}" for f, n in own.most_common(15)]
    return out


# --- main ----------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=50.0, help="submissions (arrivals) per second")
    ap.add_argument("--duration", type=float, default=None, help="measured seconds after the warm-up (900)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds of load before measuring (30)")
    ap.add_argument("--quick", action="store_true", help="defaults --duration 60 --warmup 10 (development)")
    ap.add_argument(
        "--fixed-interval", action="store_true", help="arrivals at a fixed interval (default Poisson)"
    )
    ap.add_argument("--official-rate", type=float, default=1.0, help="official page views per second")
    ap.add_argument(
        "--save-share", type=float, default=0.3, help="share of arrivals that save the draft first"
    )
    ap.add_argument("--pdf-bytes", type=int, default=1024 * 1024)
    ap.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per request before it counts as failed"
    )
    ap.add_argument(
        "--max-in-flight",
        type=int,
        default=3000,
        help="arrivals in flight before the client refuses to start more (client overflow)",
    )
    ap.add_argument(
        "--aims",
        choices=("auto", "sustain", "overload"),
        default="auto",
        help="which aims to judge: sustain (the 50/s run), overload (twice the rate); auto: by --rate",
    )
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--gunicorn-args",
        default="",
        help="instead of deploy/gunicorn.conf.py, e.g. '-k gthread -w 3 --threads 6'",
    )
    ap.add_argument(
        "--app",
        choices=("foerdercall", "bare"),
        default="foerdercall",
        help="bare: instead of foerdercall the bare path of bench/surge_bare.py (no worker, no mail): "
        "the floor under the app on this machine",
    )
    ap.add_argument(
        "--check-rate", type=float, default=20.0, help="rate of the client cross-check (GET /login)"
    )
    ap.add_argument("--check-seconds", type=float, default=10.0, help="0: skip the cross-check")
    ap.add_argument(
        "--py-spy",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="profile one gunicorn worker with py-spy for SECONDS in the middle of the run",
    )
    ap.add_argument("--py-spy-out", default="", metavar="PATH", help="keep py-spy's collapsed stacks there")
    ap.add_argument("--keep-uploads", action="store_true", help="keep the uploaded files (disk: 1 MB each)")
    ap.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    ap.add_argument(
        "--redis-url", default=os.environ.get("BENCH_SURGE_REDIS_URL", "redis://127.0.0.1:6379/12")
    )
    args = ap.parse_args()
    if args.duration is None:
        args.duration = 60.0 if args.quick else 900.0
    if args.warmup is None:
        args.warmup = 10.0 if args.quick else 30.0
    total = args.warmup + args.duration
    n_applicants = int(math.ceil(args.rate * total * 1.1 + 5 * math.sqrt(args.rate * total) + 50))

    import resource

    import redis

    # thousands of sockets in flight when the server falls behind (and gunicorn inherits the limit)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))

    from foerdercall import create_app
    from foerdercall.timeutil import berlin_to_utc, to_berlin

    db_name = f"surge_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    url = args.admin_url.rsplit("/", 1)[0] + "/" + db_name
    queue = f"fc-surge-{uuid.uuid4().hex[:10]}"
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fc-surge-"))
    rclient = redis.Redis.from_url(args.redis_url, socket_connect_timeout=2)
    rclient.ping()
    procs = Procs(tmp)
    janitor = UploadJanitor(tmp / "uploads", args.keep_uploads)
    app = ctx = None
    port = free_port()
    # the deadline: minutes after the end of the run (building 100,000 applicants takes a minute or two), on a
    # full minute (Leipzig time)
    end = to_berlin(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=total + 300 + n_applicants / 500))
    deadline_utc = berlin_to_utc(end.replace(tzinfo=None, second=0, microsecond=0) + dt.timedelta(minutes=1))

    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    try:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "surge-secret",
            "BROKER_URL": args.redis_url,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WORKER_QUEUE": queue,
            "UPLOAD_DIR": str(tmp / "uploads"),
            "OUTBOX_DIR": str(tmp / "outbox"),
            "FOERDERCALL_INSTANCE": str(tmp / "instance"),
            "SESSION_COOKIE_SECURE": "0",
            "MAIL_SMTP_HOST": "",
            "INPROCESS_WORKER": "",
            "PYTHONUNBUFFERED": "1",
            "REQUIRE_TWO_FACTOR_ROLES": "",
        }  # the benchmark's officials browse without a second factor
        for k in ("PASSWORD_HASH_TIME_COST", "PASSWORD_HASH_MEMORY_KIB", "PASSWORD_HASH_PARALLELISM"):
            if k in os.environ:
                env[k] = os.environ[k]
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "surge-secret",
                "PUBLIC_URL": env["PUBLIC_URL"],
                "FOERDERCALL_INSTANCE": str(tmp / "instance"),
                "UPLOAD_DIR": str(tmp / "uploads"),
                "OUTBOX_DIR": str(tmp / "outbox"),
            }
        )
        ctx = app.app_context()
        ctx.push()
        from flask_migrate import upgrade

        from foerdercall.extensions import db

        t = time.perf_counter()
        upgrade(directory=app.extensions["migrate"].directory)
        t_migrate = time.perf_counter() - t
        log(f"database {db_name} migrated in {t_migrate:.1f}s; {n_applicants:,} applicants with a draft each")
        built = build(app, n_applicants, deadline_utc)
        pg_version = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
        db.engine.dispose()
        log(
            f"built: operations {built['ops_s']:.1f}s, Core bulk insert {built['bulk_s']:.1f}s; "
            f"argon2 verify {percentile(built['hash_ms'], 0.5):.1f} ms CPU ({built['hash_params']})"
        )

        # the app under gunicorn, and the worker
        if args.gunicorn_args:
            gargs, gsource = args.gunicorn_args.split(), "--gunicorn-args"
        elif GUNICORN_CONF.exists():
            gargs, gsource = ["-c", str(GUNICORN_CONF)], str(GUNICORN_CONF.relative_to(ROOT))
        else:
            gargs, gsource = (
                ["-k", "gthread", "-w", "3", "--threads", "6", "--backlog", "2048"],
                "own arguments (deploy/gunicorn.conf.py not there)",
            )
        bare = args.app == "bare"
        gargv = [
            str(BIN / "gunicorn"),
            *gargs,
            "-b",
            f"127.0.0.1:{port}",
            "--error-logfile",
            "-",
            *(
                ["--pythonpath", str(ROOT / "bench"), "surge_bare:app"]
                if bare
                else ["foerdercall:create_app()"]
            ),
        ]
        gproc = procs.start("gunicorn", gargv, env)
        if not bare:
            procs.start(
                "worker",
                [
                    str(BIN / "foerdercall"),
                    "worker",
                    "-c",
                    "1",
                    "-l",
                    "warning",
                    "-n",
                    f"{queue}@%h",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                ],
                env,
            )
        wait_http(port, gproc, procs)
        workers = gunicorn_pids(gproc.pid)
        log(
            f"gunicorn on 127.0.0.1:{port} ({' '.join(gargs)}), {len(workers)} worker processes; "
            + ("the bare path (bench/surge_bare.py), no worker" if bare else f"worker on {queue}")
        )
        janitor.start()

        # the cross-check of the client
        check = None
        if args.check_seconds > 0:
            log(f"client cross-check: GET /login at {args.check_rate:g}/s for {args.check_seconds:g}s, twice")
            a = asyncio.run(
                asyncio_fixed_rate("127.0.0.1", port, "/login", args.check_rate, args.check_seconds)
            )
            b = threaded_fixed_rate("127.0.0.1", port, "/login", args.check_rate, args.check_seconds)
            check = {"asyncio (surge client)": a, "threaded http.client": b}

        # the surge
        pdf = padded_pdf(args.pdf_bytes)
        surge = Surge(args, port, built, pdf, args.warmup)
        sessions = {proc.pid: name for name, (proc, _l) in procs.procs.items()}
        cpu0, busy0 = cpu_of(sessions), machine_busy()
        spy = None
        if args.py_spy > 0:

            def profile() -> None:
                time.sleep(args.warmup + max(0.0, (args.duration - args.py_spy) / 2))
                raw = tmp / "py-spy.txt"
                subprocess.run(
                    [
                        str(BIN / "py-spy"),
                        "record",
                        "--format",
                        "raw",
                        "-o",
                        str(raw),
                        "-d",
                        str(int(args.py_spy)),
                        "-r",
                        "200",
                        "--nonblocking",
                        "-p",
                        str(workers[0]),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    cwd=str(tmp),
                )

            spy = threading.Thread(target=profile, daemon=True)
            spy.start()
        log(
            f"surge: {args.rate:g} submissions/s ({'fixed interval' if args.fixed_interval else 'Poisson'}), "
            f"{args.warmup:g}s warm-up + {args.duration:g}s measured; officials {args.official_rate:g} views/s"
        )
        ran = asyncio.run(surge.run(total))
        cpu1, busy1 = cpu_of(sessions), machine_busy()
        log(f"surge done: {len(surge.acknowledged):,} acknowledged; waiting for the receipts")
        if spy is not None:
            spy.join(timeout=args.py_spy + 30)

        # the count
        t_wait = time.monotonic()
        counted = count_in_db(url, built["call_id"])
        while (
            time.monotonic() - t_wait < 60
            and counted["receipts"].get("pending", 0) + counted["receipts"].get("sending", 0) > 0
        ):
            time.sleep(1)
            counted = count_in_db(url, built["call_id"])
        janitor.stopping.set()
        janitor.sweep()

        # --- the report ---------------------------------------------------------------------------------
        ack = set(surge.acknowledged)
        in_db = set(counted["submitted"])
        lost = ack - in_db
        not_acked = in_db - ack
        dup_events = sum(1 for n in counted["submit_events"].values() if n > 1)
        dup_offers = sum(1 for n in counted["offers"].values() if n > 1)
        window = args.duration
        kinds = surge.stats.kinds
        errors = sum(k.errors for k in kinds.values())
        shed = sum(k.shed for k in kinds.values())
        sub = sorted(kinds["submit"].latencies) if "submit" in kinds else []
        sub_p99 = percentile(sub, 0.99)
        admitted_max = max(
            (max(k.admitted(), default=0.0) for k in kinds.values() if k is not kinds.get("session")),
            default=0.0,
        )
        sessions = len(kinds["session"].latencies) if "session" in kinds else 0
        lags = sorted(surge.stats.lags)
        cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in set(cpu0) | set(cpu1)}
        cpu = dict(sorted(cpu.items(), key=lambda kv: -kv[1]))
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        ok = lambda met: "MET" if met else "MISSED"  # noqa: E731
        report = [
            "",
            "=" * 110,
            "foerdercall benchmark: the deadline surge (issue 5)",
            f"  machine: {os.cpu_count()} CPUs, load client on the same box; PostgreSQL {pg_version} db {db_name}; "
            f"Redis {args.redis_url.split('@')[-1]} queue {queue}",
            f"  server: gunicorn {' '.join(gargs)} [{gsource}], {len(workers)} worker processes; "
            + (
                "THE BARE PATH (bench/surge_bare.py: werkzeug + psycopg, no app, no worker, no receipts)"
                if bare
                else "`foerdercall worker -c 1` (receipts into the file outbox)"
            ),
            f"  data: call SURGE (deadline {to_berlin(deadline_utc):%d.%m.%Y %H:%M} Leipzig), {n_applicants:,} "
            f"applicants with a filled-in draft, 3 officials; build: migrations {t_migrate:.1f}s, operations "
            f"{built['ops_s']:.1f}s, Core bulk insert {built['bulk_s']:.1f}s",
            f"  password hash: {built['hash_params']}: verify {percentile(built['hash_ms'], 0.5):.1f} ms CPU "
            f"(median of {len(built['hash_ms'])}, min {built['hash_ms'][0]:.1f}) - at {args.rate:g} logins/s "
            f"{args.rate * percentile(built['hash_ms'], 0.5) / 1000:.2f} of {os.cpu_count()} CPUs",
            f"  load: {args.rate:g} submissions/s ({'fixed interval' if args.fixed_interval else 'Poisson'} "
            f"arrivals), {args.warmup:g}s warm-up + {args.duration:g}s measured; each: GET /login, POST /login, "
            f"GET the form, {args.save_share:.0%} POST a draft save, POST the form with a "
            f"{len(pdf) / 1048576:.2f} MB PDF + submit; officials {args.official_rate:g} page views/s "
            "(proposals list, dashboard, call page)",
        ]
        if check:
            report += [
                "",
                f"1. client cross-check: GET /login at {args.check_rate:g}/s for {args.check_seconds:g}s, "
                "a new connection per request, latency from the scheduled time",
                f"   {'client':<26} {'ok':>6} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
                f"{'max ms':>8}  statuses",
            ]
            for name, (lat, statuses, _wall) in check.items():
                report.append(
                    f"   {name:<26} {len(lat):6d} {len(lat) / args.check_seconds:7.1f} "
                    f"{percentile(lat, 0.5) * 1000:8.1f} {percentile(lat, 0.95) * 1000:8.1f} "
                    f"{percentile(lat, 0.99) * 1000:8.1f} {(lat[-1] if lat else float('nan')) * 1000:8.1f}"
                    f"  {dict(statuses)}"
                )
        report += [
            "",
            f"2. the surge, measured window ({window:g}s; arrivals scheduled in it; latency of the first request "
            "from the scheduled arrival, of the others from the previous answer; 'session' = scheduled arrival "
            "to acknowledged submission):",
            *surge.stats.table(window, KINDS),
            f"   arrivals {ran['arrivals']:,} (+ {ran['official_arrivals']:,} official views) over {ran['wall']:.0f}s; "
            f"peak in flight {ran['peak']}; client overflow {surge.overflow}; client lag (send - schedule) "
            f"p50 {percentile(lags, 0.5) * 1000:.1f} ms, p99 {percentile(lags, 0.99) * 1000:.1f} ms, "
            f"max {(lags[-1] if lags else float('nan')) * 1000:.1f} ms",
            f"   complete submissions acknowledged in the window: {sessions:,} = {sessions / window:.1f}/s",
            f"   refused submissions: {dict(surge.refused) or 'none'}",
            f"   machine CPU busy during the surge (everything on it): {busy * 100:.0f} % of {os.cpu_count()} CPUs; "
            "CPU seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()),
            "   CPU ms per submission: "
            + ", ".join(f"{k} {v / max(1, len(surge.acknowledged)) * 1000:.1f}" for k, v in cpu.items()),
            "",
            "3. the count (all arrivals, warm-up included)",
            f"   acknowledged by the server (302 to the proposal): {len(ack):,}; submitted in the database: "
            f"{len(in_db):,}; proposal states {counted['states']}",
            f"   lost (acknowledged, not in the database): {len(lost)}"
            + (f" e.g. {sorted(lost)[:10]}" if lost else ""),
            f"   committed but not acknowledged: {len(not_acked)} (answer never came: {len(surge.unknown)}, "
            f"shed: {len(surge.shed_submit)}, of those committed: {len(not_acked & surge.shed_submit)})",
            f"   duplicated: file numbers {counted['dup_numbers']}, proposals with more than one submit event "
            f"{dup_events}, with more than one offer PDF {dup_offers}, with more than one receipt "
            f"{counted['receipt_dups']}",
            f"   receipts in the outbox: {counted['receipts']}; uploads stored {janitor.seen:,} "
            f"(size min/max {counted['sizes'][0]}/{counted['sizes'][1]} bytes"
            f"{'' if args.keep_uploads else ', deleted after 5 s to spare the disk'})",
        ]
        if surge.unknown or surge.shed_submit:
            report.append(f"   submit answered 5xx/timeout but committed: {len(not_acked & surge.unknown)}")
        report += ["", "4. aims"]
        if args.aims == "sustain" or (args.aims == "auto" and args.rate <= 50):
            report += [
                f"   {args.rate:g}/s sustained: {sessions / window:.1f}/s complete submissions "
                f"(>= {0.98 * args.rate:.1f}): {ok(sessions / window >= 0.98 * args.rate)}",
                f"   final post p99 {sub_p99 * 1000:.0f} ms < {P99_AIM_S * 1000:.0f} ms: {ok(sub_p99 < P99_AIM_S)}",
                f"   errors {errors}, shed {shed}: zero: {ok(errors == 0 and shed == 0 and surge.overflow == 0)}",
                f"   nothing lost or duplicated: {ok(not lost and not counted['dup_numbers'] and not dup_events)}",
            ]
        else:
            report += [
                f"   only deliberate 429/503 (errors other than shed: {errors}): {ok(errors == 0)}",
                f"   admitted requests under {ADMITTED_AIM_S:g} s (max {admitted_max * 1000:.0f} ms): "
                f"{ok(admitted_max < ADMITTED_AIM_S)}",
                f"   nothing committed lost (lost {len(lost)}, duplicated {counted['dup_numbers'] + dup_events}): "
                f"{ok(not lost and not counted['dup_numbers'] and not dup_events)}",
                f"   (throughput: {sessions / window:.1f} complete submissions/s, shed {shed} requests)",
            ]
        if args.py_spy > 0 and (tmp / "py-spy.txt").exists() and args.py_spy_out:
            shutil.copy(tmp / "py-spy.txt", args.py_spy_out)
        if args.py_spy > 0 and (tmp / "py-spy.txt").exists():
            report += [
                "",
                f"5. py-spy, one gunicorn worker (pid {workers[0]}) for {args.py_spy:g}s mid-run:",
                *py_spy_summary(tmp / "py-spy.txt"),
            ]
        elif args.py_spy > 0:
            report += ["", "5. py-spy: no profile (ptrace not permitted?)"]
        report.append("=" * 110)
        print("\n".join(report), flush=True)
        bad = [
            line
            for line in procs.tail("gunicorn", 200000).splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        if bad:
            print(f"gunicorn log: {len(bad)} error lines; the last part:\n" + procs.tail("gunicorn", 3000))
        return 0
    finally:
        janitor.stopping.set()
        procs.stop()
        if app is not None:
            from foerdercall.extensions import db

            db.session.remove()
            db.engine.dispose()
        if ctx is not None:
            ctx.pop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        for key in rclient.scan_iter(match=f"*{queue}*"):
            rclient.delete(key)
        rclient.close()
        shutil.rmtree(tmp, ignore_errors=True)
        log(
            f"cleaned up: database {db_name} dropped, gunicorn and worker stopped, Redis keys of {queue} deleted"
        )


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the periodic sweep and mail delivery at 100,000 proposals on PostgreSQL (issue 3, "Benchmark").

What it does (all on this machine, nothing left behind):

1. creates a fresh PostgreSQL database, runs the migrations, creates users and calls through the operations
   and bulk-inserts the proposals with SQLAlchemy Core (executemany):
     - call BENCH-DUE   (published, deadline T0 + 5 days):  20 % drafts -> the 7-day reminder is due at T0
     - call BENCH-LATER (published, deadline T0 + 90 days): 30 % drafts -> nothing due
     - call BENCH-PAST  (closed, deadline T0 - 30 days):    50 % submitted / ineligible / rejected /
                                                            withdrawn / abandoned drafts -> nothing due
2. times the sweep (the Celery task body ``worker.tasks.sweep``: advisory lock, ``worker.sweep.sweep``,
   ``record_run``) with the injectable clock ``foerdercall.timeutil.set_clock``:
     - idle: at T0 - 10 days nothing is due (median of --idle-runs runs),
     - finding: at T0 the sweep queues the draft reminders and hands their ids to Redis
       (the after-commit ``mail`` kind: ``mail.operations.dispatch`` ->
       ``foerdercall.broker.enqueue_deliveries``),
     - repeat: at T0 + 1 minute the same reminders are already written (steady state for the next days),
   with per-stage wall time, SQL time and statement counts; EXPLAIN ANALYZE of the slowest idle queries;
3. starts an SMTP sink (aiosmtpd on loopback, counting messages) and two real ``foerdercall worker``
   processes on a queue of their own (Redis DB 15), and measures mails per second until every reminder
   arrived, checking that each arrived exactly once;
4. drops the database, stops the workers and the sink, deletes the queue's Redis keys.

Aims (issue 3): idle sweep < 50 ms at 100,000 proposals; >= 500 mails/s with two workers. Reported, not
asserted.

    .venv/bin/python bench/sweep_and_mail.py [--proposals 100000] [--workers 2] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, func, insert, select, text  # noqa: E402

IDLE_AIM_MS = 50.0
RATE_AIM = 500.0
PASSWORD = "bench-password-123"
FOERDERCALL = pathlib.Path(sys.executable).with_name("foerdercall")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- SQL probe: statements and time per stage ---------------------------------------------------------------


class Probe:
    def __init__(self) -> None:
        self.stage = "-"
        self.sql = defaultdict(lambda: [0, 0.0])  # stage -> [statements, seconds]
        self.wall = defaultdict(float)  # stage -> seconds (outermost stage only)
        self.capture: list[tuple[float, str, object]] | None = None

    def attach(self, engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("_bench_t0", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            took = time.perf_counter() - conn.info["_bench_t0"].pop()
            s = self.sql[self.stage]
            s[0] += 1
            s[1] += took
            if self.capture is not None:
                self.capture.append((took, statement, parameters))

    def reset(self) -> None:
        self.sql.clear()
        self.wall.clear()
        self.stage = "-"

    @contextmanager
    def staged(self, name: str):
        outer = self.stage
        self.stage = name
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - t0
            self.stage = outer

    def wrap(self, name: str, fn):
        def wrapped(*a, **kw):
            with self.staged(name):
                return fn(*a, **kw)

        wrapped.__wrapped__ = fn
        return wrapped


PROBE = Probe()


def instrument() -> None:
    """Attribute the sweep's time to its stages (wrappers in this process only; no app code changes)."""
    import foerdercall.mail.operations as mail_ops
    import foerdercall.reminders.operations as rem_ops
    import worker.sweep as ws

    for name, fn in list(ws.REMINDERS.items()):  # the same dict object the sweep iterates
        ws.REMINDERS[name] = PROBE.wrap(f"reminders.{name}", fn)
    from foerdercall.aftercommit import KINDS

    KINDS["mail"] = PROBE.wrap("mail hand-over (ids to Redis)", KINDS["mail"])
    rem_ops.queue_mails = PROBE.wrap(
        "  queue_mails (dedup SELECT, render, INSERT … ON CONFLICT)", rem_ops.queue_mails
    )
    mail_ops._render_mail = PROBE.wrap("    _render_mail", mail_ops._render_mail)


def stage_table(total_s: float) -> list[str]:
    rows = []
    names = list(dict.fromkeys([*PROBE.wall.keys(), *PROBE.sql.keys()]))
    accounted = sum(v for k, v in PROBE.wall.items() if not k.startswith(" "))
    for name in names:
        wall = PROBE.wall.get(name)
        n, sql_s = PROBE.sql.get(name, (0, 0.0))
        if name == "-":
            name, wall = "rest (lock, close/lapse queries, commits, record_run)", total_s - accounted
        rows.append(
            f"      {name:<58} {wall * 1000 if wall is not None else float('nan'):9.1f} ms"
            f"   SQL {n:6d} stmts {sql_s * 1000:9.1f} ms"
        )
    return rows


# --- SMTP sink -----------------------------------------------------------------------------------------------

KEY_RE = re.compile(rb"^X-Foerdercall-Key: *(.+?)\r?$", re.M)


class CountingSink:
    """aiosmtpd handler: accepts everything, records (arrival time, X-Foerdercall-Key) per message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        m = KEY_RE.search(envelope.original_content or envelope.content)
        with self.lock:
            self.arrivals.append((time.monotonic(), m.group(1) if m else b""))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- CPU accounting from /proc (read-only) -------------------------------------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def cpu_by_command() -> dict[str, float]:
    """CPU seconds (user+system) of every live process, summed by command name."""
    out: dict[str, float] = defaultdict(float)
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[comm] += (int(fields[11]) + int(fields[12])) / CLK
    return out


def machine_busy() -> tuple[float, float]:
    vals = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


# --- building the data ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


def build(app, n_proposals: int, n_applicants: int, t0: dt.datetime, clock: Clock) -> dict:
    from foerdercall.accounts import operations as account_ops
    from foerdercall.accounts.passwords import Argon2idHasher
    from foerdercall.calls.operations import create_call, mark_privacy_checked
    from foerdercall.extensions import db
    from foerdercall.proposals.models import Proposal
    from foerdercall.timeutil import berlin_to_utc, to_berlin
    from foerdercall.workflow.engine import fire

    account_ops._hasher = Argon2idHasher(time_cost=1, memory_cost=1024, parallelism=1)  # cheap, as in tests

    def local_2359(at: dt.datetime, days: int) -> dt.datetime:
        d = to_berlin(at).date() + dt.timedelta(days=days)
        return berlin_to_utc(dt.datetime(d.year, d.month, d.day, 23, 59))

    clock.t = t0 - dt.timedelta(days=60)
    t_users = time.perf_counter()
    ka = account_ops.create_user("ka@bench.test", "Karla KA", PASSWORD, roles=("official",), office="KA")
    account_ops.create_user(
        "afw@bench.test", "Wolfgang AfWiFö", PASSWORD, roles=("official",), office="AfWiFoe"
    )
    applicants = [
        account_ops.create_user(
            f"applicant{i:05d}@bench.test", f"Applicant {i}", PASSWORD, locale="en" if i % 5 == 0 else "de"
        ).id
        for i in range(n_applicants)
    ]
    db.session.commit()
    t_users = time.perf_counter() - t_users

    t_calls = time.perf_counter()
    calls = {}
    for code, days in (("BENCH-DUE", 5), ("BENCH-LATER", 90), ("BENCH-PAST", -30)):
        call = create_call(
            ka,
            code=code,
            title=f"Kreativwirtschaft {code}",
            description="Benchmark",
            fields_of_action=["networks", "marketing"],
            budget_cents=50_000_00,
            max_amount_cents=25_000_00,
            estimated_value_cents=50_000_00,
            opens_at=clock.t,
            submission_deadline=local_2359(t0, days),
        )
        mark_privacy_checked(call, ka)  # the officer checked the notice
        fire(call, "publish", ka)
        calls[code] = call
    db.session.commit()
    clock.t = t0 - dt.timedelta(days=29)  # past BENCH-PAST's deadline: the system closes it
    fire(calls["BENCH-PAST"], "close", None)
    db.session.commit()
    ids = {code: c.id for code, c in calls.items()}
    t_calls = time.perf_counter() - t_calls

    created = t0 - dt.timedelta(days=50)
    n_due = n_proposals // 5
    n_later = n_proposals * 3 // 10
    n_past = n_proposals - n_due - n_later
    past_states = ["submitted"] * 4 + ["ineligible"] + ["rejected"] * 3 + ["withdrawn", "draft"]
    rows = []
    seq = 0
    for i in range(n_proposals):
        base = {
            "applicant_id": applicants[i % len(applicants)],
            "title": f"Projekt {i}",
            "summary": "Kurz",
            "field_of_action": "networks",
            "requested_amount_cents": 10_000_00,
            "created_at": created,
            "updated_at": created,
            "file_seq": None,
            "file_number": None,
            "submitted_at": None,
            "submitted_call_version": None,
        }  # every row the same keys: one executemany
        if i < n_due:
            base.update(call_id=ids["BENCH-DUE"], state="draft")
        elif i < n_due + n_later:
            base.update(call_id=ids["BENCH-LATER"], state="draft")
        else:
            state = past_states[i % len(past_states)]
            base.update(call_id=ids["BENCH-PAST"], state=state)
            if state not in ("draft", "withdrawn"):
                seq += 1
                base.update(
                    file_seq=seq,
                    file_number=f"BENCH-PAST-{seq:06d}",
                    submitted_at=created + dt.timedelta(days=5),
                    submitted_call_version=1,
                )
        rows.append(base)
    t_insert = time.perf_counter()
    table = Proposal.__table__
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(table), rows[start : start + 10_000])  # Core executemany (insertmanyvalues)
        conn.execute(text("ANALYZE"))
    t_insert = time.perf_counter() - t_insert
    states = dict(db.session.execute(select(Proposal.state, func.count()).group_by(Proposal.state)).all())
    return {
        "users_s": t_users,
        "calls_s": t_calls,
        "insert_s": t_insert,
        "n_due": n_due,
        "n_later": n_later,
        "n_past": n_past,
        "states": states,
        "calls": ids,
    }


# --- the sweep -----------------------------------------------------------------------------------------------


def run_sweep(capture: bool = False) -> tuple[float, dict, list]:
    from worker import tasks

    PROBE.reset()
    PROBE.capture = [] if capture else None
    t = time.perf_counter()
    report = tasks.sweep.run()  # the beat task's body: advisory lock, sweep(), record_run, commit
    took = time.perf_counter() - t
    captured, PROBE.capture = PROBE.capture or [], None
    return took, report or {}, captured


def explain(app, captured: list, top: int) -> list[str]:
    from foerdercall.extensions import db

    out = []
    worst = sorted(captured, key=lambda c: c[0], reverse=True)[:top]
    with db.engine.connect() as conn:
        for took, statement, params in worst:
            stmt = statement.strip()
            if not stmt.upper().startswith("SELECT"):
                out.append(f"    ({took * 1000:.1f} ms) {' '.join(stmt.split())[:160]}  [not a SELECT]")
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).scalars().all()
            conn.rollback()
            out.append(f"    ({took * 1000:.1f} ms in the sweep) {' '.join(stmt.split())[:400]}")
            out += [f"      | {line}" for line in plan]
    return out


# --- the workers ---------------------------------------------------------------------------------------------


class Workers:
    def __init__(self, env: dict, tmp: pathlib.Path) -> None:
        self.env, self.tmp = env, tmp
        self.procs: list[tuple[subprocess.Popen, pathlib.Path]] = []

    def start(self, n: int, concurrency: int, loglevel: str, queue: str) -> None:
        for i in range(n):
            instance = self.tmp / f"worker{i}"
            instance.mkdir()
            env = {**self.env, "FOERDERCALL_INSTANCE": str(instance), "OUTBOX_DIR": str(instance / "outbox")}
            logf = self.tmp / f"worker{i}.log"
            with logf.open("wb") as out:
                proc = subprocess.Popen(
                    [
                        str(FOERDERCALL),
                        "worker",
                        "-c",
                        str(concurrency),
                        "-l",
                        loglevel,
                        "-n",
                        f"w{i}-{queue}@%h",
                        "--without-mingle",
                        "--without-gossip",
                        "--without-heartbeat",
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.procs.append((proc, logf))

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for proc, logf in self.procs:
            while b" ready." not in logf.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{logf.read_text(errors='replace')[-3000:]}")
                time.sleep(0.05)

    def stop(self) -> None:
        for proc, _l in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _l in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the pool processes of the worker we started
            except ProcessLookupError:
                pass
            proc.wait()

    def tail(self, n: int = 2000) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-n:]}" for _p, log in self.procs)


# --- main ----------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proposals", type=int, default=100_000)
    ap.add_argument("--applicants", type=int, default=None, help="default: proposals / 100 (at least 10)")
    ap.add_argument("--idle-runs", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=2, help="pool processes per worker (-c)")
    ap.add_argument("--worker-loglevel", default="info", help="as deployed: `foerdercall worker -l info`")
    ap.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    ap.add_argument("--delivery-timeout", type=float, default=900)
    ap.add_argument("--explain", type=int, default=3, help="EXPLAIN ANALYZE the N slowest idle-sweep queries")
    ap.add_argument("--skip-delivery", action="store_true")
    args = ap.parse_args()
    n_applicants = args.applicants or max(10, args.proposals // 100)

    import redis
    from aiosmtpd.controller import Controller

    from foerdercall import create_app, timeutil

    db_name = f"fc_bench_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    url = args.admin_url.rsplit("/", 1)[0] + "/" + db_name
    queue = f"fc-bench-{uuid.uuid4().hex[:10]}"
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fc-bench-"))
    rclient = redis.Redis.from_url(args.redis_url, socket_connect_timeout=2)
    rclient.ping()
    sink = CountingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    workers: Workers | None = None
    app = ctx = None
    report: list[str] = []
    clock = Clock(dt.datetime.now(dt.UTC))
    t0 = timeutil.berlin_to_utc(dt.datetime(2027, 2, 1, 9, 0))  # T0: the moment the 7-day reminder is due

    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    try:
        config = {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret",
            "BROKER_URL": args.redis_url,
            "PUBLIC_URL": "http://127.0.0.1",
            "WORKER_QUEUE": queue,
            "MAIL_SMTP_HOST": "127.0.0.1",
            "MAIL_SMTP_PORT": smtp_port,
            "MAIL_SMTP_SECURITY": "none",
            "MAIL_SMTP_TIMEOUT": 10.0,
            "FOERDERCALL_INSTANCE": str(tmp / "bench"),
            "UPLOAD_DIR": str(tmp / "uploads"),
            "OUTBOX_DIR": str(tmp / "outbox"),
        }
        app = create_app(config)
        ctx = app.app_context()
        ctx.push()
        from flask_migrate import upgrade

        from foerdercall.extensions import db
        from foerdercall.mail.models import OutboxMail

        t = time.perf_counter()
        upgrade(directory=app.extensions["migrate"].directory)
        t_migrate = time.perf_counter() - t
        timeutil.set_clock(clock)
        log(f"database {db_name} migrated in {t_migrate:.1f}s; building {args.proposals:,} proposals")
        built = build(app, args.proposals, n_applicants, t0, clock)
        log(f"built in {built['insert_s']:.1f}s (insert+ANALYZE)")
        PROBE.attach(db.engine)
        instrument()

        # idle: ten days before T0 nothing is due
        clock.t = t0 - dt.timedelta(days=10)
        run_sweep()  # warm-up (connections, imports, template cache)
        idle = []
        for _ in range(args.idle_runs):
            took, rep, _c = run_sweep()
            idle.append(took)
            assert not any(rep.get(k) for k in rep if k != "mails_sent"), rep
        took, _rep, captured = run_sweep(capture=True)
        idle_stages = stage_table(took)
        idle_median = statistics.median(idle)
        log(f"idle sweep median {idle_median * 1000:.1f} ms")
        plans = explain(app, captured, args.explain) if args.explain else []
        idle_stmts = len(captured)

        # finding: at T0 the 7-day reminder of every BENCH-DUE draft is due
        clock.t = t0
        took_find, rep_find, _c = run_sweep()
        find_stages = stage_table(took_find)
        queued = db.session.scalar(
            select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "draft_reminder")
        )
        in_redis = rclient.llen(queue)
        log(
            f"finding sweep {took_find:.2f}s, {rep_find.get('drafts_reminded')} reminders, {in_redis} in Redis"
        )

        # repeat: one minute later, everything already written (what each sweep does until the deadline)
        clock.t = t0 + dt.timedelta(minutes=1)
        repeat = [run_sweep()[0] for _ in range(3)]
        repeat_stages = stage_table(repeat[-1])
        repeat_median = statistics.median(repeat)
        log(f"repeat sweep median {repeat_median * 1000:.1f} ms")
        timeutil.set_clock(None)  # the workers run on real time; so does the bench from here on

        delivery = None
        if not args.skip_delivery:
            controller.start()
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "BROKER_URL": args.redis_url,
                "WORKER_QUEUE": queue,
                "PUBLIC_URL": "http://127.0.0.1",
                "SECRET_KEY": "bench-secret",
                "MAIL_SMTP_HOST": "127.0.0.1",
                "MAIL_SMTP_PORT": str(smtp_port),
                "MAIL_SMTP_SECURITY": "none",
                "MAIL_SMTP_TIMEOUT": "10",
            }
            workers = Workers(env, tmp)
            cpu0, busy0 = cpu_by_command(), machine_busy()
            t_start = time.monotonic()
            workers.start(args.workers, args.concurrency, args.worker_loglevel, queue)
            workers.wait_ready()
            t_ready = time.monotonic()
            log(f"{args.workers} workers ready after {t_ready - t_start:.1f}s; delivering {queued:,} mails")
            deadline = time.monotonic() + args.delivery_timeout
            last_print = time.monotonic()
            while sink.count() < queued and time.monotonic() < deadline:
                time.sleep(0.2)
                if time.monotonic() - last_print > 15:
                    log(f"  {sink.count():,} received")
                    last_print = time.monotonic()
            t_all = time.monotonic()
            cpu1, busy1 = cpu_by_command(), machine_busy()
            while time.monotonic() < deadline:  # the workers record "sent" after the SMTP server took it
                db.session.rollback()
                sent = db.session.scalar(
                    select(func.count()).select_from(OutboxMail).where(OutboxMail.status == "sent")
                )
                if sent >= queued:
                    break
                time.sleep(0.2)
            time.sleep(0.5)  # nothing arrives late
            with sink.lock:
                arrivals = list(sink.arrivals)
            keys = [k for _t, k in arrivals]
            db.session.rollback()
            statuses = dict(
                db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all()
            )
            first, last = (arrivals[0][0], arrivals[-1][0]) if arrivals else (t_ready, t_ready)
            steady = (len(arrivals) - 1) / (last - first) if len(arrivals) > 1 and last > first else 0.0
            cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in set(cpu0) | set(cpu1)}
            cpu = {k: v for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v > 0.5}
            delivery = {
                "received": len(arrivals),
                "distinct": len(set(keys)),
                "statuses": statuses,
                "startup": t_ready - t_start,
                "first_after_ready": first - t_ready,
                "span": last - first,
                "steady": steady,
                "wall": t_all - t_start,
                "end_to_end": len(arrivals) / (t_all - t_start) if t_all > t_start else 0.0,
                "cpu": cpu,
                "busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
                "window": t_all - t_start,
            }
            log(f"delivered {len(arrivals):,} at {steady:.0f}/s")

        # --- the report ---------------------------------------------------------------------------------
        ok = lambda met: "MET" if met else "NOT MET"  # noqa: E731
        report += [
            "",
            "=" * 100,
            "foerdercall benchmark: sweep and mail (issue 3)",
            f"  machine: {os.cpu_count()} CPUs; PostgreSQL {db.session.scalar(text('SHOW server_version'))} "
            f"at {args.admin_url.split('@')[-1].rsplit('/', 1)[0]}; Redis {args.redis_url.split('@')[-1]} "
            f"queue {queue}",
            f"  data: {args.proposals:,} proposals ({', '.join(f'{k} {v:,}' for k, v in sorted(built['states'].items()))}),",
            f"        {n_applicants:,} applicants; calls BENCH-DUE {built['n_due']:,} drafts (deadline T0+5d), "
            f"BENCH-LATER {built['n_later']:,} drafts (T0+90d), BENCH-PAST {built['n_past']:,} (closed)",
            f"  build: migrations {t_migrate:.1f}s, users via operations {built['users_s']:.1f}s, calls "
            f"{built['calls_s']:.1f}s, proposals Core executemany + ANALYZE {built['insert_s']:.1f}s",
            "",
            f"1. idle sweep (T0-10d, nothing due), median of {len(idle)}: {idle_median * 1000:.1f} ms "
            f"(min {min(idle) * 1000:.1f}, max {max(idle) * 1000:.1f}), {idle_stmts} SQL statements   "
            f"aim < {IDLE_AIM_MS:.0f} ms: {ok(idle_median * 1000 < IDLE_AIM_MS)}",
            *idle_stages,
            "",
            f"2. finding sweep (T0): {took_find:.2f} s, {rep_find.get('drafts_reminded', 0):,} reminders queued "
            f"({took_find / max(1, rep_find.get('drafts_reminded', 1)) * 1e6:.0f} µs each), "
            f"{in_redis:,} task messages in Redis",
            *find_stages,
            "",
            f"   repeat sweep (T0+1min, the {queued:,} reminders already written), median of 3: "
            f"{repeat_median * 1000:.1f} ms",
            *repeat_stages,
        ]
        if delivery:
            d = delivery
            report += [
                "",
                f"3. delivery: {args.workers} x `foerdercall worker -c {args.concurrency} -l {args.worker_loglevel}` "
                f"-> aiosmtpd sink on 127.0.0.1:{smtp_port}",
                f"   received {d['received']:,} of {queued:,}, distinct keys {d['distinct']:,} "
                f"(duplicates {d['received'] - d['distinct']}); outbox rows {d['statuses']}",
                f"   steady rate (first to last message): {d['steady']:.0f} mails/s over {d['span']:.1f} s   "
                f"aim >= {RATE_AIM:.0f}/s: {ok(d['steady'] >= RATE_AIM)}",
                f"   end to end incl. worker start-up ({d['startup']:.1f} s): {d['end_to_end']:.0f} mails/s "
                f"over {d['wall']:.1f} s",
                f"   machine CPU busy during delivery: {d['busy'] * 100:.0f} % of {os.cpu_count()} CPUs; "
                f"CPU seconds by process: " + ", ".join(f"{k} {v:.1f}" for k, v in d["cpu"].items()),
                "   CPU ms per mail: "
                + ", ".join(f"{k} {v / max(1, d['received']) * 1000:.2f}" for k, v in d["cpu"].items()),
            ]
        if plans:
            report += [
                "",
                f"EXPLAIN ANALYZE of the {len([p for p in plans if p.startswith('    (')])} slowest "
                "statements of the idle sweep:",
                *plans,
            ]
        report.append("=" * 100)
        print("\n".join(report), flush=True)
        return 0
    finally:
        timeutil.set_clock(None)
        if workers is not None:
            workers.stop()
        try:
            controller.stop()
        except Exception:  # noqa: BLE001 - never started
            pass
        if app is not None:
            from foerdercall.extensions import db

            db.session.remove()
            celery = app.extensions.get("celery")
            if celery is not None:
                celery.close()
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
            f"cleaned up: database {db_name} dropped, workers and sink stopped, Redis keys of {queue} deleted"
        )


if __name__ == "__main__":
    sys.exit(main())

"""The CPU cost of one deadline-surge submission, request by request, in one process (no server, no contention):
the same steps as bench/surge.py (GET /login, POST /login, GET the form, POST a save, POST the form with a 1 MB
PDF and submit) through Flask's test client on a fresh PostgreSQL database, timed with the process's CPU clock,
then once more under cProfile (the functions with the most own and cumulative time).

    .venv/bin/python bench/surge_profile.py [--sessions 200] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pathlib
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, text  # noqa: E402
from surge import PASSWORD, TEXT, build, padded_pdf  # noqa: E402
from surge_client import CSRF_RE, percentile  # noqa: E402

SQL: list[str] = []  # the statements of the current request
CHAIN: dict[str, float] = {}  # when the request locked the audit chain's head, how long it held it


def session(app, user_no: int, pid: int, pdf: bytes, save: bool, cpu: dict, sql: dict | None = None) -> None:
    c = app.test_client()

    def step(kind, fn):
        SQL.clear()
        CHAIN.clear()
        t = time.process_time()
        r = fn()
        cpu[kind].append(time.process_time() - t)
        if "held" in CHAIN:
            cpu["chain lock held by " + kind].append(CHAIN["held"])
        if sql is not None:
            sql[kind] = list(SQL)
        return r

    r = step("login_page", lambda: c.get("/login"))
    token = CSRF_RE.search(r.data).group(1).decode()
    r = step(
        "login_post",
        lambda: c.post(
            "/login",
            data={"csrf_token": token, "email": f"surge{user_no:06d}@surge.test", "password": PASSWORD},
        ),
    )
    assert r.status_code == 302, r.status_code
    edit = f"/proposals/{pid}/edit"
    r = step("form", lambda: c.get(edit))
    token = CSRF_RE.search(r.data).group(1).decode()
    fields = {
        "csrf_token": token,
        **{k: v.format(i=user_no) for k, v in TEXT.items()},
        "field_of_action": "networks",
        "requested_amount": "20000,00",
        "kind": "offer",
    }
    if save:
        r = step(
            "save",
            lambda: c.post(edit, data={**fields, "action": "save"}, content_type="multipart/form-data"),
        )
        assert r.status_code == 302
    r = step(
        "submit",
        lambda: c.post(
            edit,
            data={**fields, "action": "submit", "file": (io.BytesIO(pdf), "angebot.pdf", "application/pdf")},
            content_type="multipart/form-data",
        ),
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/proposals/{pid}"), (
        r.status_code,
        r.headers.get("Location"),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--sql", action="store_true", help="print the statements of each request")
    ap.add_argument("--profile-out", help="also write the cProfile data to this file (for pstats/snakeviz)")
    ap.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = ap.parse_args()

    from foerdercall import create_app
    from foerdercall.timeutil import berlin_to_utc, to_berlin

    db_name = f"surge_profile_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    url = args.admin_url.rsplit("/", 1)[0] + "/" + db_name
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fc-surge-profile-"))
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    ctx = None
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "surge-secret",
                "SESSION_COOKIE_SECURE": False,
                "PUBLIC_URL": "http://127.0.0.1",
                "FOERDERCALL_INSTANCE": str(tmp / "instance"),
                "UPLOAD_DIR": str(tmp / "uploads"),
                "OUTBOX_DIR": str(tmp / "outbox"),
            }
        )
        ctx = app.app_context()
        ctx.push()
        from flask_migrate import upgrade
        from sqlalchemy import event

        from foerdercall.extensions import db

        upgrade(directory=app.extensions["migrate"].directory)

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            SQL.append(" ".join(statement.split()))
            if "FROM audit_chain_head" in statement and "FOR UPDATE" in statement and "at" not in CHAIN:
                CHAIN["at"] = time.perf_counter()

        @event.listens_for(db.engine, "commit")
        def _committed(conn):
            if "at" in CHAIN and "held" not in CHAIN:
                CHAIN["held"] = time.perf_counter() - CHAIN["at"]

        end = to_berlin(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
        built = build(
            app, 2 * args.sessions + 20, berlin_to_utc(end.replace(tzinfo=None, second=0, microsecond=0))
        )
        db.session.remove()
        ctx.pop()
        ctx = None
        pdf = padded_pdf(1024 * 1024)
        apps = built["applicants"]
        for i in range(10):  # warm-up: imports, template compilation, connections
            session(app, i, apps[i][1], pdf, True, defaultdict(list))
        sql: dict[str, list[str]] = {}
        session(app, 10, apps[10][1], pdf, True, defaultdict(list), sql)
        print("\nSQL statements per request:")
        for kind, stmts in sql.items():
            print(f"   {kind:<12} {len(stmts):3d}")
        if args.sql:
            for kind, stmts in sql.items():
                print(f"--- {kind}")
                for st in stmts:
                    print(f"   {st if len(st) <= 240 else st[:140] + ' … ' + st[-100:]}")
        cpu: dict[str, list[float]] = defaultdict(list)
        n = 11
        for i in range(n, n + args.sessions):
            session(app, i, apps[i][1], pdf, True, cpu)
        print(
            f"\nCPU per request (this process: Flask app + test client), {args.sessions} sessions, "
            f"argon2 {built['hash_params']} verify {percentile(built['hash_ms'], 0.5):.1f} ms; and the wall time "
            "from locking the audit chain's head to the commit (every audited write waits for it):"
        )
        total = 0.0
        for kind, vals in cpu.items():
            vals.sort()
            mean = sum(vals) / len(vals)
            if kind.startswith("chain"):
                print(
                    f"   {kind:<12} mean {mean * 1000:6.1f} ms   p50 {percentile(vals, 0.5) * 1000:6.1f}   "
                    f"p95 {percentile(vals, 0.95) * 1000:6.1f}   (wall)"
                )
                continue
            total += mean
            print(
                f"   {kind:<12} mean {mean * 1000:6.1f} ms   p50 {percentile(vals, 0.5) * 1000:6.1f}   "
                f"p95 {percentile(vals, 0.95) * 1000:6.1f}"
            )
        print(f"   {'session':<12} mean {total * 1000:6.1f} ms (all five requests)")
        n += args.sessions
        prof = cProfile.Profile(time.process_time)  # CPU time, not waiting for PostgreSQL
        prof.enable()
        for i in range(n, n + args.sessions):
            session(app, i, apps[i][1], pdf, True, defaultdict(list))
        prof.disable()
        if args.profile_out:
            prof.dump_stats(args.profile_out)
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out)
        by_package: dict[str, float] = defaultdict(float)
        for (filename, _line, _fn), (_cc, _nc, tottime, _ct, _callers) in st.stats.items():
            if "site-packages/" in filename:
                key = filename.split("site-packages/", 1)[1].split("/", 1)[0]
            elif str(ROOT) in filename:
                key = filename.split(str(ROOT) + "/", 1)[1].split("/", 1)[0] + "/ (ours)"
            elif filename.endswith(".html"):
                key = "templates (ours)"
            elif filename == "~":
                key = "builtins"
            else:
                key = "stdlib"
            by_package[key] += tottime
        whole = sum(by_package.values())
        print(
            f"\nOwn CPU time by package, {args.sessions} sessions ({whole / args.sessions * 1000:.1f} ms each):"
        )
        for key, secs in sorted(by_package.items(), key=lambda kv: -kv[1])[:20]:
            print(f"   {key:<28} {secs / args.sessions * 1000:6.1f} ms   {secs / whole * 100:5.1f} %")
        st.sort_stats("tottime").print_stats(args.top)
        st.sort_stats("cumulative").print_stats(args.top * 2)
        print(out.getvalue())
        return 0
    finally:
        if ctx is not None:
            ctx.pop()
        from foerdercall.extensions import db

        try:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        except Exception:  # noqa: BLE001
            pass
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (issue 15): the implementation report over 10,000 measures with 6 indicators each, and an API page of
100 proposals at 100,000 proposals, on PostgreSQL.

What it does (nothing left behind):

1. creates a fresh PostgreSQL database ``fc_bench_outcomes_<pid>``, runs the migrations, creates the users and two
   calls through the operations (published; the second closed and opened), and bulk-inserts with SQLAlchemy Core:
   - call REPORT: --measures measures in implementation, each with its award, place (a Leipzig quarter), targets
     for the default form's 6 indicators, an interim and a final value per indicator (2 × 6 rows) and 2 payments;
   - call API: --proposals submitted proposals (state "eligible"), to be read through the API;
2. times ``implementation_report`` (the aggregation alone) and the report page (``/calls/<id>/implementation-
   report``, rendered with its charts) --requests times each, and an official's token reading
   ``/api/v1/proposals?call_id=…&limit=100`` at --requests cursors spread over the whole list;
3. drops the database.

Aims (issue 15): the yearly report p95 < 500 ms; an API page p95 < 100 ms. Reported, not asserted.

    .venv/bin/python bench/outcomes.py [--measures 10000] [--proposals 100000] [--requests 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import pathlib
import random
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, insert, text  # noqa: E402

PASSWORD = "bench-password-123"
INDICATORS = ("participants", "events", "enterprises", "jobs", "reach", "follow_up_funding")
QUARTERS = [f"ot{d}{q}" for d, n in enumerate((7, 6, 10, 6, 5, 6, 7, 6, 4, 6)) for q in range(n)]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def build(app, measures: int, proposals: int, rng: random.Random) -> dict:
    from flask_migrate import upgrade

    from foerdercall.accounts import operations as account_ops
    from foerdercall.accounts.passwords import Argon2idHasher

    account_ops._hasher = Argon2idHasher(time_cost=1, memory_cost=1024, parallelism=1)

    from foerdercall import timeutil
    from foerdercall.accounts.operations import create_user
    from foerdercall.api.operations import create_token
    from foerdercall.awards.models import Award, Payment
    from foerdercall.calls.models import Call
    from foerdercall.calls.operations import (
        confirm_opening,
        create_call,
        mark_privacy_checked,
        request_opening,
    )
    from foerdercall.extensions import db
    from foerdercall.outcomes.models import IndicatorValue
    from foerdercall.proposals.models import Proposal
    from foerdercall.workflow.engine import fire

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        t0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
        timeutil.set_clock(lambda: t0)
        admin = create_user("admin@bench.test", "Anna Admin", PASSWORD, roles=("admin",))
        ka = create_user("ka@bench.test", "Karla KA", PASSWORD, roles=("official",), office="KA")
        afw = create_user("afw@bench.test", "Wolf AfWiFö", PASSWORD, roles=("official",), office="AfWiFoe")
        applicants = [
            create_user(
                f"app{i}@bench.test",
                f"Bewerber {i}",
                PASSWORD,
                roles=("applicant",),
                organisation=f"Verein {i}",
            )
            for i in range(100)
        ]
        ids = {}
        for code in ("REPORT", "API"):
            call = create_call(
                ka,
                code=code,
                title=f"Benchmark {code}",
                description="",
                fields_of_action=["networks", "marketing", "education"],
                budget_cents=10**12,
                max_amount_cents=25_000_00,
                estimated_value_cents=100_000_00,
                opens_at=t0,
                submission_deadline=t0 + dt.timedelta(days=30),
            )
            mark_privacy_checked(call, ka)
            fire(call, "publish", ka)
            db.session.commit()
            ids[code] = call.id
        timeutil.set_clock(lambda: t0 + dt.timedelta(days=31))
        for code in ("REPORT", "API"):
            call = db.session.get(Call, ids[code])
            fire(call, "close", None)
            request_opening(call, ka)
            confirm_opening(call, afw)
        db.session.commit()

        started = time.perf_counter()
        fields = ("networks", "marketing", "education")
        at = t0 + dt.timedelta(days=2)
        awarded = t0 + dt.timedelta(days=60)
        rows, awards, values, payments = [], [], [], []
        value_id = 0
        for i in range(1, measures + proposals + 1):
            report = i <= measures
            targets = {k: rng.randrange(5, 500) for k in INDICATORS}
            rows.append(
                {
                    "id": i,
                    "call_id": ids["REPORT" if report else "API"],
                    "applicant_id": applicants[i % len(applicants)].id,
                    "state": rng.choice(("in_implementation", "completed")) if report else "eligible",
                    "title": f"Maßnahme {i}",
                    "summary": "Kurz",
                    "description": "Konzept " * 50,
                    "work_plan": "Plan",
                    "team": "Team",
                    "leipzig_relation": "Leipzig",
                    "field_of_action": fields[i % 3],
                    "place": rng.choice(QUARTERS),
                    "requested_amount_cents": 20_000_00,
                    "answers": {"title": f"Maßnahme {i}", "description": "Konzept " * 50, "targets": targets},
                    "advice_requested": False,
                    "file_seq": i,
                    "file_number": f"B-{i:06d}",
                    "submitted_at": at,
                    "submitted_call_version": 1,
                    "created_at": at,
                    "updated_at": at,
                    "row_version": 1,
                }
            )
            if not report:
                continue
            awards.append(
                {
                    "id": i,
                    "proposal_id": i,
                    "call_id": ids["REPORT"],
                    "amount_cents": 20_000_00,
                    "released_cents": 0,
                    "awarded_by_id": ka.id,
                    "awarded_at": awarded + dt.timedelta(hours=rng.randrange(0, 500)),
                    "accept_by": awarded + dt.timedelta(days=28),
                    "accepted_at": awarded + dt.timedelta(days=3),
                    "implementation_ends_at": awarded + dt.timedelta(days=368),
                }
            )
            for n in (1, 2):
                payments.append(
                    {
                        "award_id": i,
                        "state": "paid",
                        "amount_cents": 5_000_00,
                        "note": "",
                        "paid_at": awarded + dt.timedelta(days=30 * n),
                        "recorded_by_id": ka.id,
                    }
                )
            for k in INDICATORS:
                for step in (0.4, 0.9):
                    value_id += 1
                    values.append(
                        {
                            "id": value_id,
                            "proposal_id": i,
                            "indicator": k,
                            "value": round(targets[k] * step * rng.uniform(0.5, 1.5)),
                            "comment": "",
                            "source": "report",
                            "state": "reported",
                            "reported_at": awarded + dt.timedelta(days=120 if step < 0.5 else 360),
                            "review_reason": "",
                        }
                    )
        for start in range(0, len(rows), 5_000):
            db.session.execute(insert(Proposal.__table__), rows[start : start + 5_000])
        for start in range(0, len(awards), 10_000):
            db.session.execute(insert(Award.__table__), awards[start : start + 10_000])
        for start in range(0, len(payments), 20_000):
            db.session.execute(insert(Payment.__table__), payments[start : start + 20_000])
        for start in range(0, len(values), 20_000):
            db.session.execute(insert(IndicatorValue.__table__), values[start : start + 20_000])
        for table in ("proposals", "awards", "indicator_values"):
            db.session.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        _token, secret = create_token(admin, ka, "Bench", ["read"])
        db.session.commit()
        log(
            f"built {measures:,} measures ({len(values):,} values, {len(payments):,} payments) and "
            f"{proposals:,} proposals to read in {time.perf_counter() - started:.1f} s"
        )
        timeutil.set_clock(None)
        return {**ids, "secret": secret}


def measure(app, built: dict, requests: int, measures: int, proposals: int) -> None:
    from foerdercall.calls.models import Call
    from foerdercall.extensions import db
    from foerdercall.outcomes.report import implementation_report

    statements = []

    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(*_args):
            statements.append(1)

        call = db.session.get(Call, built["REPORT"])
        implementation_report([call])  # warm-up
        aggregate = []
        for _ in range(requests):
            db.session.expire_all()
            statements.clear()
            t = time.perf_counter()
            report = implementation_report([db.session.get(Call, built["REPORT"])])
            aggregate.append((time.perf_counter() - t) * 1000)
        agg_sql = len(statements)
        check = {r.key: (r.planned, r.achieved) for r in report.indicators}

    client = app.test_client()
    page = []
    client.get(f"/calls/{built['REPORT']}/implementation-report")
    for _ in range(requests):
        statements.clear()
        t = time.perf_counter()
        resp = client.get(f"/calls/{built['REPORT']}/implementation-report")
        page.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200
    page_sql = len(statements)

    headers = {"Authorization": f"Bearer {built['secret']}"}
    api = []
    # the API call's proposals follow the measures' ids: cursors spread over them (each page a full 100)
    cursors = [None] + [str(measures + i * (proposals - 200) // requests) for i in range(1, requests)]
    client.get(f"/api/v1/proposals?call_id={built['API']}&limit=100", headers=headers)
    for c in cursors:
        url = f"/api/v1/proposals?call_id={built['API']}&limit=100" + (f"&cursor={c}" if c else "")
        statements.clear()
        t = time.perf_counter()
        resp = client.get(url, headers=headers)
        api.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200 and len(resp.get_json()["items"]) == 100, resp.get_data()[:300]
    api_sql = len(statements)

    def line(name, values, aim, sql):
        verdict = "MET" if p95(values) < aim else "NOT MET"
        print(
            f"  {name:<46} p95 {p95(values):7.1f} ms  median {statistics.median(values):7.1f} ms  "
            f"({sql} SQL statements)   aim < {aim:.0f} ms: {verdict}"
        )

    print("\nfoerdercall benchmark: what the money achieved (issue 15)")
    print(f"  machine: {os.cpu_count()} CPUs; PostgreSQL; {requests} requests each")
    print(f"  indicators of the report (planned, achieved): {check}")
    line("implementation_report (aggregation)", aggregate, 500, agg_sql)
    line("report page with charts (HTTP, rendered)", page, 500, page_sql)
    line("API page of 100 proposals (token, any cursor)", api, 100, api_sql)


def profile(app, built: dict) -> None:
    import cProfile
    import pstats

    from foerdercall.calls.models import Call
    from foerdercall.extensions import db
    from foerdercall.outcomes.report import implementation_report

    with app.app_context():
        implementation_report([db.session.get(Call, built["REPORT"])])
        with cProfile.Profile() as prof:
            for _ in range(5):
                db.session.expire_all()
                implementation_report([db.session.get(Call, built["REPORT"])])
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--proposals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the report's aggregation")
    args = parser.parse_args()

    name = f"fc_bench_outcomes_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    log(f"database {name}")
    try:
        from foerdercall import create_app

        with tempfile.TemporaryDirectory() as instance:
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": url,
                    "SECRET_KEY": "bench",
                    "WTF_CSRF_ENABLED": False,
                    "PUBLIC_URL": "http://127.0.0.1",
                    "FOERDERCALL_INSTANCE": instance,
                    "UPLOAD_DIR": instance + "/u",
                    "OUTBOX_DIR": instance + "/o",
                }
            )
            built = build(app, args.measures, args.proposals, random.Random(args.seed))
            if args.profile:
                profile(app, built)
            else:
                measure(app, built, args.requests, args.measures, args.proposals)
            with app.app_context():
                from foerdercall.extensions import db

                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"dropped {name}")


if __name__ == "__main__":
    main()

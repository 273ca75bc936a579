"""Benchmark: how much a web process grows while it builds the big downloads (issue 17, hole 4).

1. The personal data ZIP ("Meine Daten") of an account with --mb MB of uploads (files of 20 MB, made through the
   operation, on SQLite in a temporary folder), downloaded through the Flask test client in chunks to a file.
2. The XLSX ranking export's writer (``foerdercall.spreadsheet.xlsx_bytes``) with --rows rows of 22 columns.

For each: the peak of Python's allocations during the download (tracemalloc), the process's peak RSS growth
(``ru_maxrss``), the size and the seconds. Aim: the process grows by less than 50 MB whatever the size.
Reported, not asserted.

    .venv/bin/python bench/export_memory.py [--mb 400] [--rows 20000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import pathlib
import resource
import sys
import tempfile
import time
import tracemalloc

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pdf(size: int) -> bytes:
    block = os.urandom(MB).replace(b"/", b"x")  # no PDF names: nothing for the content check to flag
    return b"%PDF-1.4\n" + (block * (size // MB + 1))[: size - 9]


def zip_download(mb: int) -> None:
    from foerdercall import create_app, timeutil
    from foerdercall.accounts.operations import create_user
    from foerdercall.calls.operations import create_call
    from foerdercall.extensions import db
    from foerdercall.proposals.operations import add_attachment, start_draft
    from foerdercall.workflow.engine import fire

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fc-bench-export-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'fc.sqlite'}", "UPLOAD_DIR": str(tmp / "u"),
                      "OUTBOX_DIR": str(tmp / "o"), "UPLOAD_MAX_MB_PER_PROPOSAL": 100_000,
                      "UPLOAD_MAX_MB_PER_ACCOUNT": 100_000, "UPLOAD_MAX_FILES_PER_PROPOSAL": 10_000,
                      "UPLOAD_MAX_FILES_PER_ACCOUNT": 10_000})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory)
        now = timeutil.now()
        ka = create_user("ka@bench.test", "KA", "bench-password-1", roles=("official",), office="KA")
        applicant = create_user("app@bench.test", "Ada", "bench-password-1", roles=("applicant",))
        applicant.email_verified_at = now
        call = create_call(ka, code="BENCH", title="Bench", description="", fields_of_action=["networking"],
                           budget_cents=100_000_00, max_amount_cents=25_000_00,
                           opens_at=now - dt.timedelta(hours=1),
                           submission_deadline=now + dt.timedelta(days=1))
        fire(call, "publish", ka)
        p = start_draft(call, applicant)
        body = _pdf(20 * MB)
        for i in range(mb // 20):
            add_attachment(p, applicant, "other", io.BytesIO(body), f"mappe-{i}.pdf")
            if i % 10 == 9:
                db.session.commit()
        db.session.commit()
        del body
        client = app.test_client()
        client.post("/login", data={"email": "app@bench.test", "password": "bench-password-1"})
        rss0 = _rss_mb()
        tracemalloc.start()
        t0 = time.perf_counter()
        resp = client.get("/account/data/export.zip", buffered=False)
        size = 0
        with tempfile.TemporaryFile() as out:
            for chunk in resp.response:
                out.write(chunk)
                size += len(chunk)
        resp.close()
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
        print(f"personal data ZIP   {size / MB:8.0f} MB in {seconds:6.1f} s   Python peak {peak:6.1f} MB   "
              f"RSS growth {_rss_mb() - rss0:6.1f} MB   status {resp.status_code}")


def xlsx(rows: int) -> None:
    from foerdercall.spreadsheet import xlsx_bytes

    data = [[i, f"KW-{i:05d}", f"=Titel {i}" if i % 7 == 0 else f"Titel einer Maßnahme {i}", "Begutachtet", 2]
            + [4.5] * 12 + [90.0, 88.2, "nein", 2_000_000, "ja"] for i in range(rows)]
    rss0 = _rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    body = xlsx_bytes([("Rangliste", [f"Spalte {i}" for i in range(22)], data)])
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    print(f"ranking XLSX        {rows:8d} rows ({len(body) / MB:.1f} MB) in {seconds:6.1f} s   Python peak "
          f"{peak:6.1f} MB   RSS growth {_rss_mb() - rss0:6.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=400, help="MB of uploads in the ZIP (files of 20 MB)")
    ap.add_argument("--rows", type=int, default=20000, help="rows of the XLSX")
    args = ap.parse_args()
    print("Aim: the process grows by less than 50 MB whatever the size (tracemalloc peak and ru_maxrss).")
    zip_download(args.mb)
    xlsx(args.rows)


if __name__ == "__main__":
    main()

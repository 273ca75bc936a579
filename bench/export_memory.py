"""Benchmark: how much the process grows while it serves the personal data ZIP of an account with many large
uploads (issue 17, hole 4: "the process grows by less than 50 MB whatever the size").

What it does (nothing left behind):

1. a fresh SQLite database and upload folder in a temporary directory, the migrations, an official, a call and
   an applicant's draft through the operations, with --files attachments (uploaded through the operation as a
   small PDF, then made --mb MB large on disk with random data, so nothing compresses);
2. logs the applicant in with the Flask test client and downloads ``/account/data/export.zip`` piece by piece
   into a SHA-256 (nothing kept), measuring the resident set size before and its peak after (``ru_maxrss``),
   and, in a second download, the peak of Python's allocations (``tracemalloc``);
3. checks the length against Content-Length and reports.

    .venv/bin/python bench/export_memory.py [--files 10] [--mb 20]
"""

from __future__ import annotations

import argparse
import hashlib
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

AIM_MB = 50
PASSWORD = "bench-password-123"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(app, files: int, mb: int) -> str:
    import datetime as dt

    from foerdercall.accounts import operations as account_ops
    from foerdercall.accounts.passwords import Argon2idHasher
    from foerdercall.calls.operations import create_call, mark_privacy_checked
    from foerdercall.extensions import db
    from foerdercall.proposals.operations import add_attachment, attachment_path, start_draft
    from foerdercall.workflow.engine import fire

    account_ops._hasher = Argon2idHasher(time_cost=1, memory_cost=1024, parallelism=1)  # users, not hashing
    ka = account_ops.create_user("ka@bench.test", "Karla KA", PASSWORD, roles=("official",), office="KA")
    applicant = account_ops.create_user("app@bench.test", "Ada Applicant", PASSWORD)
    now = dt.datetime.now(dt.UTC)
    call = create_call(
        ka,
        code="BM26",
        title="Bench",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=now - dt.timedelta(days=1),
        submission_deadline=now + dt.timedelta(days=30),
    )
    mark_privacy_checked(call, ka)  # the officer checked the notice
    fire(call, "publish", ka)
    p = start_draft(call, applicant)
    for _i in range(files):
        add_attachment(p, applicant, "other", io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "anlage.pdf")
    db.session.commit()
    block = os.urandom(2**20)
    for a in p.attachments:
        with open(attachment_path(a), "wb") as f:
            for i in range(mb):
                f.write(f"%PDF-1.4 {a.id}:{i}".encode() + block)
    return applicant.email


def download(client) -> tuple[int, int, str, float]:
    started = time.perf_counter()
    resp = client.get("/account/data/export.zip", buffered=False)
    digest, size = hashlib.sha256(), 0
    for piece in resp.response:
        digest.update(piece)
        size += len(piece)
    resp.close()
    assert resp.status_code == 200, resp.status_code
    return size, int(resp.headers["Content-Length"]), digest.hexdigest(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--mb", type=int, default=20, help="MB per file")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from foerdercall import create_app
    from foerdercall.extensions import db

    with tempfile.TemporaryDirectory(prefix="fc-bench-export-") as tmp:
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/fc.sqlite",
                "UPLOAD_DIR": f"{tmp}/uploads",
                "OUTBOX_DIR": f"{tmp}/outbox",
                "WTF_CSRF_ENABLED": False,
                "SESSION_COOKIE_SECURE": False,
                "TESTING": True,
            }
        )
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            email = build(app, args.files, args.mb)
            db.session.remove()
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        total = args.files * args.mb
        print(f"account with {args.files} attachments of {args.mb} MB ({total} MB)")

        before, peak_before = rss_mb(), peak_rss_mb()
        size, length, sha, seconds = download(client)
        growth = peak_rss_mb() - max(before, 0)
        print(
            f"  ZIP {size / 2**20:.1f} MB (Content-Length {'matches' if size == length else 'DIFFERS'}), "
            f"sha256 {sha[:16]}…, {seconds:.2f} s ({size / 2**20 / seconds:.0f} MB/s)"
        )
        print(
            f"  resident set: {before:.0f} MB before, peak {peak_rss_mb():.0f} MB "
            f"(peak before the download {peak_before:.0f} MB): grew by at most {growth:.1f} MB"
        )

        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        size2, _length, sha2, seconds2 = download(client)
        peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
        tracemalloc.stop()
        print(
            f"  Python allocations (tracemalloc), second download: peak {peak:.1f} MB over the start "
            f"({seconds2:.2f} s under tracemalloc)"
        )
        ok = growth < AIM_MB and peak < AIM_MB and size == length and size2 > 0
        print(
            f"aim: the process grows by less than {AIM_MB} MB whatever the size -> {'met' if ok else 'NOT met'}"
        )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()

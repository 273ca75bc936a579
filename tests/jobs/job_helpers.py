"""Building a call with reviewed proposals (through the operations) and following a job over HTTP."""

from __future__ import annotations

import pathlib
import re
import sys
import time

for folder in ("reviews", "worker"):
    path = str(pathlib.Path(__file__).resolve().parents[1] / folder)
    if path not in sys.path:
        sys.path.insert(0, path)

from assign_helpers import reviewed as _reviewed  # noqa: E402

from foerdercall.extensions import db  # noqa: E402
from foerdercall.jobs.runner import join_threads  # noqa: E402


def reviewed(world, clock, n=4):
    return _reviewed(world, clock, n, amount=2_000_00)


def job_id(resp) -> int:
    assert resp.status_code == 302, resp.status_code
    match = re.search(r"/jobs/(\d+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def follow(client, jid: int, timeout: float = 60.0, until=None) -> list[dict]:
    """Poll the job's JSON status (as app.js does) until it is finished (or `until(status)`); returns what
    was seen."""
    seen = []
    deadline = time.monotonic() + timeout
    db.session.rollback()  # the test's session holds no transaction (SQLite: no write lock) while the job runs
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{jid}.json").get_json()
        seen.append(status)
        if (until or (lambda s: s["finished"]))(status):
            if status["finished"]:
                join_threads()  # the job's thread has ended too (before the test's app goes away)
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {jid} did not get there: {seen[-1] if seen else None}")

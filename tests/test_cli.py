"""`foerdercall demo` on a fresh instance folder: schema by migrations, one account per role, proposals
in several states, and running it twice changes nothing."""

import os
import pathlib
import sqlite3
import subprocess
import sys


def run(instance: pathlib.Path, *args: str) -> str:
    exe = pathlib.Path(sys.executable).with_name("foerdercall")
    env = {**os.environ, "FOERDERCALL_INSTANCE": str(instance)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([str(exe), *args], check=True, capture_output=True, text=True, env=env).stdout


def test_demo_creates_accounts_and_proposals_in_several_states(tmp_path):
    out = run(tmp_path, "demo")
    for email in ("admin@", "ka@", "afwifoe@", "reviewer1@", "advisor@", "applicant@"):
        assert email in out
    assert "foerdercall-demo" in out
    con = sqlite3.connect(tmp_path / "foerdercall.sqlite")
    states = {s for (s,) in con.execute("select state from proposals")}
    assert {"in_implementation", "awarded", "reviewed", "rejected", "clarification"} <= states
    assert {c for (c,) in con.execute("select state from calls")} == {"closed", "published"}
    n_before = con.execute("select count(*) from audit_events").fetchone()[0]
    con.close()
    run(tmp_path, "demo")
    con = sqlite3.connect(tmp_path / "foerdercall.sqlite")
    assert con.execute("select count(*) from audit_events").fetchone()[0] == n_before
    assert (
        len(list((tmp_path / "outbox").glob("*.eml")))
        == con.execute("select count(*) from outbox_mails").fetchone()[0]
    )
    # the sweep runs from the command line too (nothing due right after loading)
    assert "calls_closed" in run(tmp_path, "sweep")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_demo(instance: pathlib.Path, port: int) -> subprocess.Popen:
    exe = pathlib.Path(sys.executable).with_name("foerdercall")
    env = {**os.environ, "FOERDERCALL_INSTANCE": str(instance)}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [str(exe), "demo", "--serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _answers(proc: subprocess.Popen, url: str, seconds: float = 60) -> bool:
    import time
    import urllib.request

    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def test_demo_served_a_second_time_serves_the_demo_that_is_there(tmp_path):
    """`scripts/run` started again on the same instance folder: it serves (it died with "database is locked"
    after 30 s because loading the demo left a write transaction open), on the port asked for."""
    for attempt in (1, 2):
        port = _free_port()
        proc = _serve_demo(tmp_path, port)
        try:
            assert _answers(proc, f"http://127.0.0.1:{port}/calls"), f"run {attempt} did not serve"
            # the in-process worker writes too: a sweep must not find the database locked
            import time

            time.sleep(1)
            assert proc.poll() is None, f"run {attempt} died"
        finally:
            proc.terminate()
            out = proc.communicate(timeout=30)[0]
        assert "database is locked" not in out

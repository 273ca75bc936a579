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
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == con.execute(
        "select count(*) from outbox_mails").fetchone()[0]
    # the sweep runs from the command line too (nothing due right after loading)
    assert "calls_closed" in run(tmp_path, "sweep")

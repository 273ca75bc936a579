"""The audit chain is anchored outside the database (issue 17, hole 8).

The SHA-256 chain alone is public arithmetic: someone who can write to the database can change an event and
recompute every later hash and the head, or delete the newest events and move the head back. Two anchors the
database does not hold stop that: every event carries an HMAC of its hash made with the audit key (AUDIT_KEY,
not in the database), and the sweep writes signed checkpoints (seq, hash, time, MAC) to a file outside the
database and to the log. `foerdercall audit verify` checks the chain against both and names the first event
that does not match.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest
from conftest import fill_draft
from sqlalchemy import select, text

from foerdercall.audit.checkpoints import verify_chain
from foerdercall.audit.models import AuditEvent
from foerdercall.audit.trail import event_hash
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft, submit


def some_events(world):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    submit(p, world.applicant)
    db.session.commit()
    return events()


def more_events(world):
    start_draft(world.call, world.applicant2)
    db.session.commit()
    return events()


def events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def checkpoint():
    """What the sweep does when the chain's head moved (written to the configured file)."""
    from foerdercall.audit.checkpoints import write_checkpoint

    cp = write_checkpoint()
    db.session.commit()
    return cp


def checkpoint_lines(app) -> list[str]:
    path = pathlib.Path(app.config["AUDIT_CHECKPOINT_FILE"])
    return path.read_text().splitlines() if path.exists() else []


def tamper(sql: str, **params) -> None:
    """What someone with database access could do behind the application's back."""
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def rewrite_from(seq: int) -> None:
    """Recompute the hash of every event from `seq` on and the head with the public SHA-256 formula (the
    attacker knows it: it is in the source), so that the hash chain alone holds again."""
    rows = db.session.execute(select(*AuditEvent.__table__.columns).order_by(AuditEvent.seq)).all()
    prev = next((r.hash for r in rows if r.seq == seq - 1), "0" * 64)
    for row in rows:
        if row.seq < seq:
            continue
        new = event_hash(prev, row)
        db.session.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id"),
            {"p": prev, "h": new, "id": row.id},
        )
        prev = new
    db.session.execute(text("UPDATE audit_chain_head SET last_hash = :h WHERE id = 1"), {"h": prev})
    db.session.commit()
    db.session.expire_all()


# (a) ------------------------------------------------------------------------------------------------------


def test_a_rewritten_event_with_every_later_hash_recomputed_is_named(app, world):
    evs = some_events(world)
    victim = evs[2]
    victim_id, victim_seq = victim.id, victim.seq
    tamper("UPDATE audit_events SET reason = 'nachträglich geändert' WHERE id = :id", id=victim_id)
    rewrite_from(victim_seq)
    report = verify_chain()
    assert not report.ok
    assert (report.broken_event_id, report.broken_seq) == (victim_id, victim_seq)
    assert "MAC" in report.problem


def test_removing_the_macs_as_well_does_not_help(app, world):
    """Rewriting and blanking the MACs from there on (as if written before MACs existed) is named too."""
    evs = some_events(world)
    victim_id, victim_seq = evs[3].id, evs[3].seq
    tamper("UPDATE audit_events SET reason = 'x', mac = NULL WHERE seq >= :s", s=victim_seq)
    rewrite_from(victim_seq)
    report = verify_chain()
    assert not report.ok and (report.broken_event_id, report.broken_seq) == (victim_id, victim_seq)
    assert "no MAC" in report.problem


def test_blanking_every_mac_after_a_checkpoint_is_named(app, world):
    """All MACs removed (the whole chain made to look older than the upgrade): the checkpoint file says
    that the events after its checkpoint were written with MACs."""
    some_events(world)
    cp = checkpoint()
    later = more_events(world)[-1]
    later_id, later_seq = later.id, later.seq
    tamper("UPDATE audit_events SET mac = NULL")
    tamper("UPDATE audit_chain_head SET mac = NULL")
    tamper("UPDATE audit_events SET actor_name = 'Jemand' WHERE id = :id", id=later_id)
    rewrite_from(later_seq)
    report = verify_chain()
    assert not report.ok and (report.broken_event_id, report.broken_seq) == (later_id, later_seq)
    assert cp.seq < later_seq and "no MAC" in report.problem


def test_a_rewritten_event_before_a_checkpoint_is_caught_by_the_checkpoint(app, world):
    """Events from before the upgrade have no MAC: the first checkpoint signs the head, which covers them."""
    evs = some_events(world)
    tamper("UPDATE audit_events SET mac = NULL")  # as after the migration: written before MACs existed
    tamper("UPDATE audit_chain_head SET mac = NULL")
    assert verify_chain().ok
    cp = checkpoint()
    assert cp.seq == evs[-1].seq
    tamper("UPDATE audit_events SET reason = 'x' WHERE id = :id", id=evs[1].id)
    rewrite_from(evs[1].seq)
    report = verify_chain()
    assert not report.ok and report.broken_seq == cp.seq and "checkpoint" in report.problem


# (b) ------------------------------------------------------------------------------------------------------


def head_row() -> dict:
    return dict(db.session.execute(text("SELECT * FROM audit_chain_head WHERE id = 1")).one()._mapping)


def test_deleted_newest_events_with_the_head_moved_back_are_found_by_the_checkpoint(app, world):
    """The attacker kept a copy of the head row from earlier (so even its MAC fits) and puts it back after
    deleting the events since: the checkpoint written out in between knows how long the chain was."""
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    old_head = head_row()
    submit(p, world.applicant)
    db.session.commit()
    checkpoint()
    first_missing = old_head["last_seq"] + 1
    tamper("DELETE FROM audit_events WHERE seq > :s", s=old_head["last_seq"])
    tamper(
        "UPDATE audit_chain_head SET "
        + ", ".join(f"{k} = :{k}" for k in old_head if k != "id")
        + " WHERE id = 1",
        **{k: v for k, v in old_head.items() if k != "id"},
    )
    report = verify_chain()
    assert not report.ok and report.broken_seq == first_missing and report.broken_event_id is None
    assert "missing" in report.problem and "checkpoint" in report.problem


def test_the_head_moved_back_without_its_old_row_is_found_even_without_a_checkpoint(app, world):
    evs = some_events(world)
    keep = evs[-3]
    tamper("DELETE FROM audit_events WHERE seq > :s", s=keep.seq)
    tamper("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1", s=keep.seq, h=keep.hash)
    report = verify_chain()
    assert not report.ok and "head" in report.problem


# (c) ------------------------------------------------------------------------------------------------------


def test_a_forged_checkpoint_line_is_reported(app, world):
    some_events(world)
    cp = checkpoint()
    path = pathlib.Path(app.config["AUDIT_CHECKPOINT_FILE"])
    good = json.loads(checkpoint_lines(app)[0])
    forged = {**good, "seq": good["seq"] + 5, "hash": "f" * 64}  # the MAC of another line, or made up
    with path.open("a") as f:
        f.write(json.dumps(forged) + "\n")
        f.write(json.dumps({**good, "mac": "0" * 64}) + "\n")
    report = verify_chain()
    assert not report.ok
    assert len(report.checkpoint_problems) == 2
    assert all("MAC" in p and str(path) in p for p in report.checkpoint_problems)
    assert ":2:" in report.checkpoint_problems[0] and ":3:" in report.checkpoint_problems[1]
    assert report.checkpoints == 1 and report.covered == cp.seq  # the genuine line still counts


# (d) ------------------------------------------------------------------------------------------------------


def test_an_untouched_chain_verifies_with_macs_and_checkpoints(app, world):
    some_events(world)
    first = checkpoint()
    evs = more_events(world)
    second = checkpoint()
    assert first.seq < second.seq == evs[-1].seq
    report = verify_chain()
    assert report.ok, report
    assert report.events == report.macs == len(evs) and report.unsigned == 0
    assert report.checkpoints == 2 and report.covered == len(evs)


def test_events_from_before_the_upgrade_are_reported_honestly(app, world):
    evs = some_events(world)
    tamper("UPDATE audit_events SET mac = NULL")
    tamper("UPDATE audit_chain_head SET mac = NULL")
    report = verify_chain()
    assert report.ok and report.unsigned == len(evs) and report.macs == 0 and report.covered == 0
    later = more_events(world)  # the upgraded app signs what it chains from now on, and the head
    report = verify_chain()
    assert report.ok and report.unsigned == len(evs) and report.macs == len(later) - len(evs)
    checkpoint()
    assert verify_chain().covered == len(later)


def test_the_command_line_checks_macs_and_checkpoints(app, world, tmp_path):
    evs = [(e.seq, e.hash) for e in some_events(world)]
    n, last_seq, (prev_seq, prev_hash) = len(evs), evs[-1][0], evs[-2]
    db.session.rollback()  # no open transaction of the test while the command runs (SQLite: one writer)
    exe = pathlib.Path(sys.executable).with_name("foerdercall")
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FOERDERCALL_INSTANCE": str(tmp_path / "cli"),
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PUBLIC_URL": app.config["PUBLIC_URL"],
        "AUDIT_CHECKPOINT_FILE": app.config["AUDIT_CHECKPOINT_FILE"],
    }
    made = subprocess.run([str(exe), "audit", "checkpoint"], capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    assert f"seq {last_seq}" in made.stdout and len(checkpoint_lines(app)) == 1
    office_copy = tmp_path / "office.log"
    office_copy.write_text("\n".join(checkpoint_lines(app)) + "\n")
    ok = subprocess.run(
        [str(exe), "audit", "verify", "--checkpoints", str(office_copy)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"OK: {n} audit events" in ok.stdout
    assert f"{n} signed with the audit key" in ok.stdout
    assert f"covered by the checkpoint of seq {last_seq}" in ok.stdout
    pathlib.Path(app.config["AUDIT_CHECKPOINT_FILE"]).unlink()  # the local file lost: the office's copy holds
    tamper("DELETE FROM audit_events WHERE seq = :s", s=last_seq)
    tamper("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1", s=prev_seq, h=prev_hash)
    db.session.rollback()
    broken = subprocess.run(
        [str(exe), "audit", "verify", "--checkpoints", str(office_copy)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert broken.returncode == 1
    assert f"BROKEN at seq {last_seq}" in broken.stderr
    wrong_key = subprocess.run(
        [str(exe), "audit", "verify"], capture_output=True, text=True, env={**env, "AUDIT_KEY": "another key"}
    )
    assert wrong_key.returncode == 1 and "MAC" in wrong_key.stderr


# (e) ------------------------------------------------------------------------------------------------------


def test_the_sweep_writes_a_checkpoint_only_when_the_head_moved(app, world, caplog):
    from worker.sweep import sweep

    some_events(world)
    with caplog.at_level(logging.INFO, logger="foerdercall.audit"):
        assert sweep()["audit_checkpoints"] == 1
        assert sweep()["audit_checkpoints"] == 0
        more_events(world)
        assert sweep()["audit_checkpoints"] == 1
    lines = checkpoint_lines(app)
    assert len(lines) == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "foerdercall.audit"]
    assert len(logged) == 2 and all(line in msg for line, msg in zip(lines, logged, strict=True))
    assert oct(pathlib.Path(app.config["AUDIT_CHECKPOINT_FILE"]).stat().st_mode & 0o777) == "0o600"
    assert verify_chain().ok


def test_the_checkpoint_mail_goes_out_once_a_day(app, world, clock):
    from foerdercall.mail.models import OutboxMail
    from worker.sweep import sweep

    app.config["AUDIT_CHECKPOINT_MAIL"] = "rpa@leipzig.example"
    some_events(world)
    sweep()
    more_events(world)
    sweep()  # a second checkpoint the same day: no second mail
    mails = list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "audit_checkpoint")))
    assert [m.to_address for m in mails] == ["rpa@leipzig.example"]
    assert checkpoint_lines(app)[0] in mails[0].body
    clock.advance(days=1)
    from foerdercall.accounts.operations import create_user

    start_draft(world.call, create_user("drei@x.test", "Dora Drei", "correct horse battery"))
    db.session.commit()
    sweep()
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(OutboxMail).where(OutboxMail.kind == "audit_checkpoint")
        )
        == 2
    )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_sweeps_at_once_write_one_checkpoint(app, world, monkeypatch):
    """Several worker processes may sweep at once (the in-process worker of each web process): the head moved
    once, so one line, never two, never interleaved."""
    import foerdercall.audit.checkpoints as checkpoints
    from worker.sweep import sweep

    some_events(world)
    db.session.rollback()
    slow_check = checkpoints.check_since

    def slower(*args, **kw):  # widen the window between reading the file's end and appending to it
        time.sleep(0.3)
        return slow_check(*args, **kw)

    monkeypatch.setattr(checkpoints, "check_since", slower)
    start = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(sweep()["audit_checkpoints"])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [0, 1]
    lines = checkpoint_lines(app)
    assert len(lines) == 1 and json.loads(lines[0])["seq"] == events()[-1].seq


def test_the_embedded_default_keeps_an_audit_key_of_its_own_outside_the_database(tmp_path, monkeypatch):
    from foerdercall import create_app

    monkeypatch.setenv("FOERDERCALL_INSTANCE", str(tmp_path / "inst"))
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": "", "SECRET_KEY": "", "AUDIT_KEY": "", "AUDIT_CHECKPOINT_FILE": ""}
    )
    key_file = tmp_path / "inst" / "audit_key"
    assert app.config["AUDIT_KEY"] == key_file.read_text().strip() != app.config["SECRET_KEY"]
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert app.config["AUDIT_CHECKPOINT_FILE"] == str(tmp_path / "inst" / "audit-checkpoints.log")
    again = create_app(
        {"SQLALCHEMY_DATABASE_URI": "", "SECRET_KEY": "", "AUDIT_KEY": "", "AUDIT_CHECKPOINT_FILE": ""}
    )
    assert again.config["AUDIT_KEY"] == app.config["AUDIT_KEY"]  # stable across restarts

"""The audit trail is tamper-evident: every event is chained to the one before by a hash, in commit order,
and `foerdercall audit verify` names the first event that was changed, deleted or inserted."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from conftest import fill_draft
from sqlalchemy import select, text

from foerdercall.audit.checkpoints import verify_chain
from foerdercall.audit.models import AuditEvent
from foerdercall.audit.trail import GENESIS, AuditImmutable
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.workflow.engine import fire


def some_events(world):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    submit(p, world.applicant)
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_events_form_one_chain_that_verifies(app, world):
    events = some_events(world)
    assert len(events) >= 4
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    report = verify_chain()
    assert report.ok and report.events == len(events) and report.head == events[-1].hash


def test_the_orm_refuses_to_change_an_event(app, world):
    ev = some_events(world)[0]
    ev.reason = "nachträglich"
    with pytest.raises(AuditImmutable):
        db.session.flush()
    db.session.rollback()


def tamper(sql: str, **params) -> None:
    """What someone with database access could do behind the application's back."""
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def test_a_changed_event_is_named(app, world):
    events = some_events(world)
    victim = events[2]
    tamper("UPDATE audit_events SET reason = 'geändert' WHERE id = :id", id=victim.id)
    report = verify_chain()
    assert not report.ok and report.broken_event_id == victim.id and "changed" in report.problem


def test_a_deleted_event_is_found(app, world):
    events = [(e.id, e.seq) for e in some_events(world)]
    tamper("DELETE FROM audit_events WHERE id = :id", id=events[1][0])
    report = verify_chain()
    assert not report.ok and report.broken_event_id == events[2][0] and "missing" in report.problem


def test_a_rewritten_chain_tail_is_found(app, world):
    """Deleting the last events and fixing nothing else: the chain's head still knows how long it was."""
    last = some_events(world)[-1]
    last_id, last_seq = last.id, last.seq
    tamper("DELETE FROM audit_events WHERE id = :id", id=last_id)
    report = verify_chain()
    assert not report.ok and report.broken_seq == last_seq and "missing" in report.problem


def test_an_event_rolled_back_with_a_refused_action_leaves_no_gap(app, world):
    some_events(world)
    with pytest.raises(Exception):  # noqa: B017 - the refusal itself is tested elsewhere
        fire(world.call, "publish", world.afw)  # already published (by KA): refused inside the savepoint
    db.session.rollback()
    start_draft(world.call, world.applicant2)
    db.session.commit()
    assert verify_chain().ok


def test_the_command_line_verifies_and_names_the_broken_event(app, world, tmp_path):
    events = [SimpleNamespace(id=e.id, seq=e.seq) for e in some_events(world)]
    db.session.rollback()  # no open transaction of the test while the command runs (SQLite: one writer)
    exe = pathlib.Path(sys.executable).with_name("foerdercall")
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FOERDERCALL_INSTANCE": str(tmp_path / "cli"),
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PUBLIC_URL": app.config["PUBLIC_URL"],  # the audit key: derived from SECRET_KEY
        "AUDIT_CHECKPOINT_FILE": app.config["AUDIT_CHECKPOINT_FILE"],
    }
    ok = subprocess.run([str(exe), "audit", "verify"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and f"OK: {len(events)} audit events" in ok.stdout
    tamper("UPDATE audit_events SET actor_name = 'Jemand' WHERE id = :id", id=events[3].id)
    db.session.rollback()
    broken = subprocess.run([str(exe), "audit", "verify"], capture_output=True, text=True, env=env)
    assert broken.returncode == 1
    assert f"BROKEN at event id {events[3].id} (seq {events[3].seq})" in broken.stderr


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_concurrent_transactions_are_chained_one_after_the_other(app, world):
    """Several web processes writing at once (PostgreSQL): the chain stays one line without forks."""
    from foerdercall.accounts.operations import create_user

    applicants = [create_user(f"par{i}@x.test", f"Par {i}", "correct horse battery") for i in range(6)]
    db.session.commit()
    ids = [a.id for a in applicants]
    errors = []

    def work(user_id: int) -> None:
        with app.app_context():
            try:
                from foerdercall.accounts.models import User
                from foerdercall.calls.models import Call

                user = db.session.get(User, user_id)
                for _ in range(3):
                    start_draft(db.session.get(Call, world.call.id), user)
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    db.session.expire_all()
    report = verify_chain()
    assert report.ok, report
    assert report.events == db.session.scalar(select(db.func.count()).select_from(AuditEvent))


def test_an_event_slipped_in_without_a_place_in_the_chain_is_named(app, world):
    some_events(world)
    tamper(
        "INSERT INTO audit_events (at, actor_name, action, object_type, object_id, reason, data) "
        "VALUES (:at, 'Jemand', 'award', 'calls', :call, '', '{}')",
        at=world.call.created_at,
        call=world.call.id,
    )
    slipped = db.session.scalar(select(db.func.max(AuditEvent.id)))
    report = verify_chain()
    assert not report.ok and report.broken_event_id == slipped and "not in the chain" in report.problem


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_long_transaction_does_not_hold_up_the_others_until_it_commits(app, world):
    """The chain's head is locked only for the moment of a commit: an applicant whose save is still at work
    (its audit event written, not committed) does not make another person's submission wait."""
    from foerdercall.accounts.models import User
    from foerdercall.calls.models import Call

    slow = start_draft(world.call, world.applicant)  # an audit event written, the transaction still open
    db.session.flush()
    done = threading.Event()

    def other() -> None:
        with app.app_context():
            try:
                start_draft(db.session.get(Call, world.call.id), db.session.get(User, world.applicant2.id))
                db.session.commit()
                done.set()
            finally:
                db.session.remove()

    t = threading.Thread(target=other)
    t.start()
    assert done.wait(20), "the other transaction waited for this one"
    t.join()
    db.session.commit()
    assert slow.id is not None
    last_two = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(2)))
    assert last_two[0].proposal_id == slow.id  # chained in commit order: the slow one last
    assert last_two[1].proposal_id not in (None, slow.id)
    assert verify_chain().ok

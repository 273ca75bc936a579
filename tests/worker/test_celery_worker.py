"""The Celery worker for real: two `foerdercall worker` processes on Redis and PostgreSQL, delivering to an
SMTP server on loopback that records what it receives. Every test ends by counting: each queued mail
arrived exactly once (distinct X-Foerdercall-Key against all messages received).

Redis DB 15 (TEST_REDIS_URL), a queue of its own per test whose keys are deleted afterwards (not FLUSHDB: another
run of the suite on the same machine may be using the DB at the same time); PostgreSQL is the test database of
`pg_url`. Under CI=true a missing Redis or PostgreSQL fails these tests; elsewhere they are skipped.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import fill_draft, login
from sqlalchemy import func, select, text
from workerstack import TIMES, pid_with_local_port, wait_for

from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.operations import start_draft

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def test_two_workers_deliver_each_mail_exactly_once(stack):
    stack.queue(150)
    stack.start_workers()
    stack.assert_each_delivered_once(150)
    assert set(db.session.scalars(select(OutboxMail.attempts))) == {1}


def test_a_server_that_refuses_for_a_while_gets_every_mail_once(stack):
    stack.sink.refuse = "451 4.3.0 Greylisted, try again later"
    ids = stack.queue(30)
    stack.start_workers()
    # the relay is tried (and the reason recorded on the mail tried), then paused, then tried again
    assert wait_for(lambda: stack.sink.refused >= 6), stack.logs()
    tried = db.session.scalars(select(OutboxMail).where(OutboxMail.last_error.contains("SMTP 451"))).all()
    assert tried and all(r.attempts >= 1 and r.failure == "relay" for r in tried)
    stack.sink.refuse = None
    stack.assert_each_delivered_once(30)
    rows = db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(ids))).all()
    assert max(r.attempts for r in rows) >= 2
    assert stack.sink.refused < 30  # the relay was probed, not asked for each mail


def test_the_relay_delivers_what_was_committed_while_redis_was_down(stack, app, world):
    app.config["BROKER_URL"] = "redis://127.0.0.1:1/15"  # nothing listens there
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    assert client.post(f"/proposals/{p.id}/fire/submit").status_code == 302  # the request succeeds
    receipt = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "receipt"))
    assert receipt.status == "pending"
    stack.start_workers(n=1, concurrency=1)
    stack.start_beat()  # the relay runs every second
    stack.assert_each_delivered_once(1)
    assert stack.sink.keys() == [receipt.dedup_key]


def test_a_worker_killed_in_the_middle_of_a_batch_loses_and_repeats_nothing(stack):
    stack.sink.hold_at = 25  # the 25th SMTP conversation stops after RCPT until the test lets it go
    stack.queue(80)
    stack.start_workers()
    assert stack.sink.holding.wait(30), stack.logs()
    victim = pid_with_local_port(stack.sink.held_peer[1], stack.worker_pids())
    assert victim is not None and victim not in {p.pid for p, _log in stack.procs}  # a pool process
    os.kill(victim, signal.SIGKILL)
    stack.sink.release.set()
    stack.assert_each_delivered_once(80)
    # the killed process's batch came back: the mail in flight and the ones it had not started yet were
    # claimed a second time by the redelivered task; every mail sent before the kill was recorded as sent
    attempts = list(db.session.scalars(select(OutboxMail.attempts)))
    assert max(attempts) == 2 and 1 <= attempts.count(2) <= TIMES["MAIL_BATCH_SIZE"]
    assert "WorkerLostError" in stack.logs(tail=10**7)


def test_database_connections_cut_in_the_middle_of_a_batch_lose_and_repeat_nothing(stack):
    """What a PostgreSQL restart does to the workers (without stopping the shared server): every connection
    of the test database is terminated, several times while the batch is sent."""
    stack.queue(150)
    stack.start_workers()
    cut = 0
    with db.engine.connect() as conn:
        deadline = time.monotonic() + 20
        while stack.count("sent") < 150 and time.monotonic() < deadline:
            db.session.rollback()
            cut += conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
            conn.commit()
            time.sleep(0.05)
    assert cut > 0
    stack.assert_each_delivered_once(150)


def _queued_tasks(stack) -> list[list[int]]:
    """The mail ids of each delivery task waiting in the test's Redis queue."""
    import base64
    import json

    import redis

    client = redis.Redis.from_url(stack.broker_url)
    try:
        raw = client.lrange(stack.queue_name, 0, -1)
    finally:
        client.close()
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in raw]


def test_the_receipts_of_submissions_close_together_go_to_the_worker_together(stack, app, world):
    from foerdercall import broker as celery_app
    from foerdercall.accounts.operations import create_user

    app.config["MAIL_DISPATCH_DELAY_SECONDS"] = 60  # the buffer is emptied below, as at the process's exit
    applicants = [
        create_user(f"a{i}@x.test", f"Antragstellerin {i}", "correct horse battery") for i in range(12)
    ]
    drafts = [
        fill_draft(start_draft(world.call, a), a, title=f"Projekt {i}") for i, a in enumerate(applicants)
    ]
    db.session.commit()
    for a, p in zip(applicants, drafts, strict=True):
        client = app.test_client()
        login(client, a.email)
        assert client.post(f"/proposals/{p.id}/fire/submit").status_code == 302
    assert _queued_tasks(stack) == []  # twelve receipts committed, none handed over yet
    receipts = sorted(db.session.scalars(select(OutboxMail.id).where(OutboxMail.kind == "receipt")))
    assert len(receipts) == 12
    assert celery_app._buffer.flush() == 12
    assert sorted(map(len, _queued_tasks(stack))) == [2, 10]  # two tasks (MAIL_BATCH_SIZE 10), not twelve
    assert sorted(i for ids in _queued_tasks(stack) for i in ids) == receipts

    # in a quiet moment a single request's mail leaves by itself once the delay has passed
    app.config["MAIL_DISPATCH_DELAY_SECONDS"] = 0.3
    late = create_user("late@x.test", "Spät", "correct horse battery")
    p = fill_draft(start_draft(world.call, late), late)
    db.session.commit()
    client = app.test_client()
    login(client, late.email)
    assert client.post(f"/proposals/{p.id}/fire/submit").status_code == 302
    assert wait_for(lambda: len(_queued_tasks(stack)) == 3, timeout=10)
    stack.start_workers(n=1)
    stack.assert_each_delivered_once(db.session.scalar(select(func.count()).select_from(OutboxMail)))
    assert sorted(stack.sink.keys()) == sorted(db.session.scalars(select(OutboxMail.dedup_key)))

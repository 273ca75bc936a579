"""The Celery worker for real: two `foerdercall worker` processes on Redis and PostgreSQL, delivering to an
SMTP server on loopback that records what it receives. Every test ends by counting: each queued mail
arrived exactly once (distinct X-Foerdercall-Key against all messages received).

Redis DB 15 (TEST_REDIS_URL), a queue of its own per test whose keys are deleted afterwards (not FLUSHDB: another
run of the suite on the same machine may be using the DB at the same time); PostgreSQL is the test database of
`pg_url`. Under CI=true a missing Redis or PostgreSQL fails these tests; elsewhere they are skipped.
"""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

import pytest
from conftest import fill_draft, login, require_service
from smtp_sink import SmtpServer
from sqlalchemy import func, select

from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail
from foerdercall.proposals.operations import start_draft
from worker import after_commit

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FOERDERCALL = pathlib.Path(sys.executable).with_name("foerdercall")
# Short times so retries and the relay happen within the test; the same for the test's app and the workers.
TIMES = {"MAIL_BATCH_SIZE": 10, "MAIL_RETRY_SECONDS": 0.2, "MAIL_MAX_ATTEMPTS": 8, "MAIL_CLAIM_TIMEOUT_SECONDS": 30,
         "MAIL_REDISPATCH_SECONDS": 1, "RELAY_INTERVAL_SECONDS": 1}


@pytest.fixture
def redis_queue():
    """(broker URL, queue name): a queue of this test's own, empty before and removed after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        require_service("Redis", str(exc))
    queue = f"fc-test-{uuid.uuid4().hex[:12]}"
    yield REDIS_URL, queue
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    client.close()


def wait_for(predicate, timeout: float = 45.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # each poll sees what the workers committed
        if predicate():
            return True
        time.sleep(interval)
    return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def pid_with_local_port(port: int, pids: list[int]) -> int | None:
    """Which of these processes holds the TCP socket with this local port (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        try:
            fds = list(pathlib.Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    return None


class Stack:
    """The test's app on PostgreSQL and Redis, the SMTP sink, and the worker processes it starts."""

    def __init__(self, app, world, smtp: SmtpServer, redis_queue: tuple[str, str], tmp_path: pathlib.Path):
        self.app, self.world, self.smtp, self.sink = app, world, smtp, smtp.sink
        self.tmp_path = tmp_path
        self.broker_url, self.queue_name = redis_queue
        self.config = {**smtp.config(), **TIMES, "BROKER_URL": self.broker_url, "WORKER_QUEUE": self.queue_name}
        app.config.update(self.config)
        self.procs: list[tuple[subprocess.Popen, pathlib.Path]] = []

    def env(self, name: str) -> dict:
        instance = self.tmp_path / name
        instance.mkdir()
        env = {**os.environ, **{k: str(v) for k, v in self.config.items()}}
        env.update(DATABASE_URL=self.app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="test-secret",
                   FOERDERCALL_INSTANCE=str(instance), OUTBOX_DIR=str(instance / "outbox"))
        return env

    def _start(self, name: str, *args: str) -> None:
        log = self.tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(FOERDERCALL), *args], env=self.env(name), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((proc, log))

    def start_workers(self, n: int = 2, concurrency: int = 2) -> None:
        for i in range(n):
            self._start(f"worker{i}", "worker", "-c", str(concurrency), "-l", "info", "-n", f"w{i}-{self.queue_name}@%h",
                        "--without-mingle", "--without-gossip", "--without-heartbeat")
        deadline = time.monotonic() + 60
        for proc, log in self.procs:
            while b" ready." not in log.read_bytes():
                assert proc.poll() is None and time.monotonic() < deadline, self.logs()
                time.sleep(0.1)

    def start_beat(self) -> None:
        self._start("beat", "beat", "-l", "info")

    def worker_pids(self) -> list[int]:
        pids = []
        for proc, _log in self.procs:
            pids += [proc.pid, *_children(proc.pid)]
        return pids

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-tail:]}" for _p, log in self.procs)

    def stop(self) -> None:
        for proc, _log in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _log in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the pool processes of the worker we started
            except ProcessLookupError:
                pass
            proc.wait()

    def queue(self, n: int) -> list[int]:
        """n mails written by the operation, then handed to the broker after the commit (as a request does)."""
        mails = [queue_mail("call_corrected", self.world.applicant, f"batch:{i}", call=self.world.call,
                            reason=f"Nummer {i}") for i in range(n)]
        db.session.commit()
        after_commit()
        return [m.id for m in mails]

    def count(self, status: str) -> int:
        return db.session.scalar(select(func.count()).where(OutboxMail.status == status))

    def assert_each_delivered_once(self, n: int) -> None:
        assert wait_for(lambda: self.count("sent") == n), f"{self.count('sent')} of {n} sent\n{self.logs()}"
        time.sleep(0.5)  # nothing arrives late
        keys = self.sink.keys()
        assert len(set(keys)) == n, f"{len(set(keys))} distinct of {n}"
        assert len(keys) == n, f"{len(keys) - len(set(keys))} duplicates"
        assert self.count("sending") == self.count("pending") == self.count("failed") == 0


@pytest.fixture
def stack(app, world, redis_queue, tmp_path):
    with SmtpServer() as smtp:
        s = Stack(app, world, smtp, redis_queue, tmp_path)
        try:
            yield s
        finally:
            s.stop()
            if "celery" in app.extensions:
                app.extensions["celery"].close()


def test_two_workers_deliver_each_mail_exactly_once(stack):
    stack.queue(150)
    stack.start_workers()
    stack.assert_each_delivered_once(150)
    assert set(db.session.scalars(select(OutboxMail.attempts))) == {1}


def test_a_server_that_refuses_for_a_while_gets_every_mail_once(stack):
    stack.sink.refuse = "451 4.3.0 Greylisted, try again later"
    ids = stack.queue(30)
    stack.start_workers()
    # every mail was refused at least once and waits for its next attempt, with the reason recorded
    assert wait_for(lambda: db.session.scalar(select(func.count()).where(
        OutboxMail.attempts >= 1, OutboxMail.last_error.contains("451"))) == 30), stack.logs()
    stack.sink.refuse = None
    stack.assert_each_delivered_once(30)
    rows = db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(ids))).all()
    assert all(r.attempts >= 2 and "SMTP 451" in r.last_error for r in rows)
    assert stack.sink.refused >= 30


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
    from sqlalchemy import text

    stack.queue(150)
    stack.start_workers()
    cut = 0
    with db.engine.connect() as conn:
        deadline = time.monotonic() + 20
        while stack.count("sent") < 150 and time.monotonic() < deadline:
            db.session.rollback()
            cut += conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            conn.commit()
            time.sleep(0.05)
    assert cut > 0
    stack.assert_each_delivered_once(150)

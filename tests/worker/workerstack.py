"""The worker stack for the tests: Redis queue, `foerdercall worker`/`beat` processes, the SMTP sink, and the
count at the end (each queued mail arrived exactly once: distinct X-Foerdercall-Key against all received).

The fixtures ``redis_queue`` and ``stack`` are in tests/conftest.py.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

from smtp_sink import SmtpServer
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail

FOERDERCALL = pathlib.Path(sys.executable).with_name("foerdercall")
# Short times so retries and the relay happen within the test; the same for the test's app and the workers.
TIMES = {
    "MAIL_BATCH_SIZE": 10,
    "MAIL_RETRY_SECONDS": 0.2,
    "MAIL_MAX_ATTEMPTS": 8,
    "MAIL_CLAIM_TIMEOUT_SECONDS": 30,
    "MAIL_REDISPATCH_SECONDS": 1,
    "RELAY_INTERVAL_SECONDS": 1,
}


def wait_for(predicate, timeout: float = 45.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            db.session.rollback()  # each poll sees what the workers committed
            if predicate():
                return True
        except DBAPIError:  # the database is away for a moment (an outage test): ask again
            db.session.rollback()
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
        self.config = {
            **smtp.config(),
            **TIMES,
            "BROKER_URL": self.broker_url,
            "WORKER_QUEUE": self.queue_name,
        }
        app.config.update(self.config)
        self.procs: list[tuple[subprocess.Popen, pathlib.Path]] = []

    def env(self, name: str) -> dict:
        instance = self.tmp_path / name
        instance.mkdir()
        env = {**os.environ, **{k: str(v) for k, v in self.config.items()}}
        env.update(
            DATABASE_URL=self.app.config["SQLALCHEMY_DATABASE_URI"],
            SECRET_KEY="test-secret",
            PUBLIC_URL=self.app.config["PUBLIC_URL"],
            FOERDERCALL_INSTANCE=str(instance),
            OUTBOX_DIR=str(instance / "outbox"),
        )
        return env

    def _start(self, name: str, *args: str) -> None:
        log = self.tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(FOERDERCALL), *args],
                env=self.env(name),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append((proc, log))

    def start_workers(self, n: int = 2, concurrency: int = 2, queues: str = "all", first: int = 0) -> None:
        started = len(self.procs)
        for i in range(first, first + n):
            self._start(
                f"worker{i}",
                "worker",
                *(["--queues", queues] if queues != "all" else []),
                "-c",
                str(concurrency),
                "-l",
                "info",
                "-n",
                f"w{i}-{self.queue_name}@%h",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            )
        deadline = time.monotonic() + 60
        for proc, log in self.procs[started:]:
            while b" ready." not in log.read_bytes():
                assert proc.poll() is None and time.monotonic() < deadline, self.logs()
                time.sleep(0.1)

    def start_beat(self) -> None:
        self._start("beat", "beat", "-l", "info")

    def drop_queued(self) -> None:
        """Forget the delivery tasks waiting in the queue (a test then hands over its own)."""
        import redis

        client = redis.Redis.from_url(self.broker_url)
        try:
            client.delete(self.queue_name)
        finally:
            client.close()

    def kill_worker_of(self, pid: int) -> None:
        """SIGKILL the whole `foerdercall worker` (main process and pool) that this process belongs to."""
        for proc, _log in self.procs:
            if pid in (proc.pid, *_children(proc.pid)):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return
        raise AssertionError(f"{pid} is none of the workers' processes")

    def worker_pids(self) -> list[int]:
        pids = []
        for proc, _log in self.procs:
            pids += [proc.pid, *_children(proc.pid)]
        return pids

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-tail:]}" for _p, log in self.procs
        )

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
        mails = [
            queue_mail(
                "call_corrected",
                self.world.applicant,
                f"batch:{i}",
                call=self.world.call,
                reason=f"Nummer {i}",
            )
            for i in range(n)
        ]
        db.session.commit()
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

"""Real outages in the middle of a batch: PostgreSQL stopped for seconds, Redis restarted (with and without
persistence). Each test ends by counting what the SMTP server received: every mail exactly once.

The servers that go down are the tests' own (a PostgreSQL cluster made with initdb, a redis-server on a free
port, both in a temporary directory), so the machine's shared services and any other test run stay up.
Under CI=true missing server binaries fail these tests; elsewhere they are skipped.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
from conftest import _config, _migrate, _pushed, require_service
from smtp_sink import SmtpServer, free_port
from sqlalchemy import create_engine, text
from workerstack import Stack, wait_for

from foerdercall import create_app

PG_BINS = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
REDIS_SERVER = shutil.which("redis-server")


class PrivatePostgres:
    """A PostgreSQL cluster of this module's own, which a test may stop and start."""

    def __init__(self) -> None:
        self.bin = PG_BINS[-1].parent
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="fc-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bin / tool), *args], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def new_database(self) -> str:
        name = f"fc_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own on a free port; `persistent`: append-only file, as in production."""

    def __init__(self, persistent: bool) -> None:
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="fc-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                     "--save", "", "--appendonly", "yes" if persistent else "no", "--appendfsync", "always"]
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: Redis shuts down as on a restart (the append-only file is written)
        self.proc.wait(timeout=20)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_pg():
    require_service("PostgreSQL server binaries", None if PG_BINS else "no /usr/lib/postgresql/*/bin/pg_ctl")
    server = PrivatePostgres()
    yield server
    server.close()


@pytest.fixture
def app(private_pg, tmp_path):
    """The app on a fresh database of the private cluster (overrides the suite's `app`)."""
    application = create_app(_config(tmp_path, private_pg.new_database()))
    _migrate(application)
    yield from _pushed(application)


def test_postgresql_stopped_for_seconds_in_the_middle_loses_and_repeats_nothing(stack, private_pg):
    n = 600
    stack.sink.delay = 0.02  # a batch takes a while, so the outage falls into the middle of several
    stack.queue(n)
    stack.start_workers()
    stack.start_beat()  # the relay, as in production
    assert wait_for(lambda: stack.count("sent") >= 100, timeout=60), stack.logs()
    private_pg.stop()
    received_at_stop = len(stack.sink.keys())
    time.sleep(6)  # PostgreSQL is away for 6 s: the workers' claims and records fail, SMTP goes on
    private_pg.start()
    assert received_at_stop < n, "the batch ended before the outage: nothing was tested"
    stack.assert_each_delivered_once(n)
    assert "Retry in" in stack.logs(tail=10**7)  # the outage reached the workers, who retried


@pytest.mark.parametrize("persistent", [True, False], ids=["appendonly", "no-persistence"])
def test_redis_restarted_in_the_middle_loses_and_repeats_nothing(app, world, tmp_path, persistent):
    """With persistence the queued messages survive the restart; without it they are gone and the relay hands
    the mails over again from the outbox. Either way each mail arrives once."""
    require_service("redis-server", None if REDIS_SERVER else "redis-server not found")
    broker = PrivateRedis(persistent)
    with SmtpServer() as smtp:
        stack = Stack(app, world, smtp, (broker.url, f"fc-test-{uuid.uuid4().hex[:8]}"), tmp_path)
        try:
            n = 600
            smtp.sink.delay = 0.02
            stack.queue(n)
            stack.start_workers()
            stack.start_beat()
            assert wait_for(lambda: stack.count("sent") >= 100, timeout=60), stack.logs()
            broker.stop()
            received_at_stop = len(smtp.sink.keys())
            time.sleep(3)
            broker.start()
            assert received_at_stop < n, "the batch ended before the outage: nothing was tested"
            stack.assert_each_delivered_once(n)
            assert "Connection to broker lost" in stack.logs(tail=10**7)
        finally:
            stack.stop()
            if "celery" in app.extensions:
                app.extensions["celery"].close()
            broker.close()

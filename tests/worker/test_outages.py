"""Real outages in the middle of a batch: PostgreSQL stopped for seconds, Redis restarted (with and without
persistence). Each test ends by counting what the SMTP server received: every mail exactly once.

The servers that go down are the tests' own (a PostgreSQL cluster made with initdb, a redis-server on a free
port, both in a temporary directory), so the machine's shared services and any other test run stay up.
Under CI=true missing server binaries fail these tests; elsewhere they are skipped.
"""

from __future__ import annotations

import time
import uuid

import pytest
from conftest import _config, _migrate, _pushed, require_service
from private_services import REDIS_SERVER, PrivateRedis
from smtp_sink import SmtpServer
from workerstack import Stack, wait_for

from foerdercall import create_app


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


def test_a_postgresql_crash_repeats_at_most_the_mail_in_flight(stack, private_pg):
    """``pg_ctl stop -m immediate``: what the server had not written to its log is gone. Every "sent" mark
    must be in the log before the next mail goes, so one sender repeats at most the mail in flight."""
    n = 1500
    stack.queue(n)
    stack.start_workers(n=1, concurrency=1)  # one sender: at most one mail in flight
    stack.start_beat()
    assert wait_for(lambda: stack.count("sent") >= 200, timeout=60), stack.logs()
    private_pg.stop("immediate")
    received_at_crash = len(stack.sink.keys())
    time.sleep(2)
    private_pg.start()
    assert received_at_crash < n, "the batch ended before the crash: nothing was tested"
    assert wait_for(lambda: stack.count("sent") == n, timeout=90), stack.logs()
    time.sleep(0.5)
    keys = stack.sink.keys()
    assert len(set(keys)) == n
    assert len(keys) - n <= 1, f"{len(keys) - n} mails went twice"


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

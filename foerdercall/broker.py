"""The Celery application on Redis, configured from the Flask app: every setting in this one place, and what the
web and worker processes hand to it (mails after their commit, jobs). The tasks themselves are the worker's
(``worker/tasks.py``, registered by ``worker.celery_app``); they are sent here by name.

Tasks run inside the Flask app's context (the ``celery_init_app`` pattern of Flask's docs). What keeps
Celery from losing or repeating work here:

- ``task_acks_late`` + ``task_reject_on_worker_lost`` + prefetch 1: a message is acknowledged only after
  its task finished, and a worker process that dies hands its message back to the queue;
- tasks are idempotent (the outbox rows' claim, see ``foerdercall.mail.delivery.send_batch``) and retry
  transient errors themselves (an ordinary exception would be acknowledged as done);
- the relay (``worker.tasks.relay``) re-dispatches outbox rows that were never handed over or never finished;
- JSON only; the sweep and the relay have a queue of their own (``queues``), and their messages do not
  expire: a sweep that comes late still runs (one at a time; an idle sweep takes milliseconds);
- the broker's visibility timeout exceeds the longest wait of a task (``visibility_problem``, checked when
  the worker starts).
Redis must run with persistence in production (appendonly), or queued messages die with it; the relay
re-dispatches them from the database either way.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from celery import Celery, Task
from flask import Flask, current_app

log = logging.getLogger(__name__)

DELIVER = "worker.tasks.deliver_mails"
SWEEP = "worker.tasks.sweep"
RELAY = "worker.tasks.relay"


def queues(cfg) -> dict[str, str]:
    """The worker's queues: ``mail`` (deliveries, bulk jobs) and ``schedule`` (the sweep and the relay), so a
    backlog of mail never holds up a deadline."""
    return {
        "mail": cfg["WORKER_QUEUE"],
        "schedule": cfg["WORKER_SCHEDULE_QUEUE"] or f"{cfg['WORKER_QUEUE']}-schedule",
    }


def longest_wait(cfg) -> float:
    """The longest a delivery task is held by a worker before it is acknowledged: its longest back-off (a
    retry waits in the worker that took it), then its run."""
    return float(cfg["MAIL_MAX_BACKOFF_SECONDS"] + cfg["MAIL_CLAIM_TIMEOUT_SECONDS"])


def visibility_problem(cfg) -> str | None:
    """Why the broker's visibility timeout is too short (Redis would hand a waiting task out a second time),
    or None."""
    if cfg["WORKER_VISIBILITY_TIMEOUT"] > longest_wait(cfg):
        return None
    return (
        f"WORKER_VISIBILITY_TIMEOUT ({cfg['WORKER_VISIBILITY_TIMEOUT']} s) must exceed the longest wait of a "
        f"delivery task: MAIL_MAX_BACKOFF_SECONDS ({cfg['MAIL_MAX_BACKOFF_SECONDS']:g} s) + "
        f"MAIL_CLAIM_TIMEOUT_SECONDS ({cfg['MAIL_CLAIM_TIMEOUT_SECONDS']:g} s) = {longest_wait(cfg):g} s."
    )


def settings(app: Flask) -> dict:
    cfg = app.config
    schedule = queues(cfg)["schedule"]
    return {
        "broker_url": cfg["BROKER_URL"],
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # unacknowledged messages of a dead worker return after this (see visibility_problem)
            "visibility_timeout": cfg["WORKER_VISIBILITY_TIMEOUT"],
            "socket_connect_timeout": 3,
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "result_backend": None,
        "task_ignore_result": True,
        "task_default_queue": cfg["WORKER_QUEUE"],
        "task_routes": {SWEEP: {"queue": schedule}, RELAY: {"queue": schedule}},
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        # no expiry: a sweep that comes late (the schedule's worker was busy or away) still runs
        "beat_schedule": {
            "sweep": {"task": SWEEP, "schedule": float(cfg["SWEEP_INTERVAL_SECONDS"])},
            "relay": {"task": RELAY, "schedule": cfg["RELAY_INTERVAL_SECONDS"]},
        },
        "beat_schedule_filename": str(Path(app.instance_path) / "celerybeat-schedule"),
    }


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery: Celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(settings(app))
    app.extensions["celery"] = celery
    return celery


def celery_for(app: Flask) -> Celery:
    """The app's Celery application, made on first use (the embedded default never needs one)."""
    return app.extensions.get("celery") or celery_init_app(app)


def enqueue_deliveries(mail_ids: Iterable[int], *, coalesce: bool = False) -> int:
    """Hand mails to the worker after the commit, in batches of MAIL_BATCH_SIZE. Redis down: log it; the relay
    sends them later. ``coalesce`` (a web request's mails): with MAIL_DISPATCH_DELAY_SECONDS they join what
    this process's other requests commit in that time (:class:`DispatchBuffer`)."""
    ids = list(mail_ids)
    if not ids:
        return 0
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask
    delay = app.config["MAIL_DISPATCH_DELAY_SECONDS"]
    if coalesce and delay > 0:
        _buffer.add(app, ids, delay)
        return len(ids)
    return _send(app, ids)


def _send(app: Flask, ids: list[int]) -> int:
    celery, size = celery_for(app), app.config["MAIL_BATCH_SIZE"]
    try:
        with celery.producer_or_acquire() as producer:
            for start in range(0, len(ids), size):
                celery.send_task(
                    DELIVER,
                    args=[ids[start : start + size]],
                    producer=producer,
                    retry=True,
                    retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
                )
    except Exception as exc:  # noqa: BLE001 - the request has committed; the outbox row is the record
        log.warning("broker unreachable, %d mail(s) left to the relay: %s", len(ids), exc)
        return 0
    return len(ids)


class DispatchBuffer:
    """The mails of one web process's requests, handed to the broker together.

    A delivery task has a cost of its own (the broker's message and acknowledgement, the claim, the rows read,
    the SMTP connection): in the worker it was about 10 ms of CPU for one receipt, 1 ms a mail in a batch of
    50. So a request's mails are not sent as a task of their own: the first request starts a timer, and what
    the process's requests commit until it fires (MAIL_DISPATCH_DELAY_SECONDS) goes as one task (or a task per
    MAIL_BATCH_SIZE). During the deadline surge that is a task for several receipts; in a quiet hour a mail
    leaves at most that much later. The mails are committed before they get here, so a process that dies
    with ids in the buffer loses nothing: the relay hands pending mails over after MAIL_REDISPATCH_SECONDS.
    On a normal exit the buffer is sent at once (atexit).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: dict[Flask, list[int]] = {}  # per app (one in production; the tests make many)
        self.timer: threading.Timer | None = None
        self.pid = os.getpid()
        atexit.register(self.flush)

    def add(self, app: Flask, ids: list[int], delay: float) -> None:
        with self.lock:
            if self.pid != os.getpid():  # a forked process starts with none of its parent's ids or timer
                self.pid, self.ids, self.timer = os.getpid(), {}, None
            self.ids.setdefault(app, []).extend(ids)
            if self.timer is None:
                self.timer = threading.Timer(delay, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> int:
        with self.lock:
            if self.pid != os.getpid():
                return 0
            pending, self.ids = self.ids, {}
            if self.timer is not None:
                self.timer.cancel()  # flushed early (atexit): the timer has nothing left to send
                self.timer = None
        handed = 0
        for app, ids in pending.items():
            with app.app_context():
                handed += _send(app, ids)
        return handed


_buffer = DispatchBuffer()


RUN_JOB = "worker.tasks.run_job"


def send_job(app: Flask, job_id: int) -> None:
    """Hand a committed bulk job to the worker (raises when the broker cannot be reached)."""
    celery_for(app).send_task(
        RUN_JOB,
        args=[job_id],
        retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
    )

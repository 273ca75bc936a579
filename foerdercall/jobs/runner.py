"""Who runs a job, and when: after the commit that wrote it (never before: the worker must find the row).

With a broker (BROKER_URL) the Celery task ``worker.tasks.run_job`` runs it; Redis down: a thread of this
process runs it instead (as in the embedded default, where a thread always does). The ids to start are kept
on the session (``session.info``) and handed over by a listener on the session's real commit; a rollback
drops them.
"""

from __future__ import annotations

import logging
import threading
import weakref

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

log = logging.getLogger(__name__)

RUN_JOB = "worker.tasks.run_job"
_KEY = "fc_jobs_to_start"
_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def start_after_commit(job_id: int) -> None:
    db.session.info.setdefault(_KEY, []).append(job_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop(_KEY, None)
    if ids:
        for job_id in ids:
            launch(job_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


def launch(job_id: int) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask
    if app.config.get("BROKER_URL"):
        from worker.celery_app import celery_for

        try:
            celery_for(app).send_task(
                RUN_JOB,
                args=[job_id],
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
            )
            return
        except Exception as exc:  # noqa: BLE001 - the job is committed: run it here
            log.warning("broker unreachable, job %s runs in this process: %s", job_id, exc)
    in_thread(app, job_id)


def in_thread(app, job_id: int) -> threading.Thread:
    def work():
        from .operations import run_job

        with app.app_context():
            try:
                run_job(job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"foerdercall-job-{job_id}", daemon=True)
    _THREADS.add(thread)
    thread.start()
    return thread


def join_threads(timeout: float = 30.0) -> None:
    """Wait for the jobs running in threads of this process (a shutdown; tests before their app goes)."""
    for thread in list(_THREADS):
        thread.join(timeout)

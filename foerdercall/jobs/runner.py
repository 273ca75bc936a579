"""Who runs a job, and when: after the commit that wrote it (never before: the worker must find the row),
and how: step by step, each step committed.

With a broker (BROKER_URL) the Celery task ``worker.tasks.run_job`` runs it; Redis down: a thread of this
process runs it instead (as in the embedded default, where a thread always does). The ids to start are
queued with the transaction that wrote them (:mod:`foerdercall.aftercommit`, kind ``job``): a rollback drops
them.

:func:`run_job` is the loop that commits: the steps themselves (``foerdercall.jobs.operations``) only flush.
"""

from __future__ import annotations

import logging
import threading
import weakref

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..broker import send_job
from ..errors import ActionRefused
from ..extensions import db
from . import operations as jobs

log = logging.getLogger(__name__)

_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def run_job(job_id: int) -> str | None:
    """Run a job to its end (the worker's entry point), committing after every step; returns its final state,
    None when it was not ours."""
    claimed = jobs.claim(job_id)
    db.session.commit()
    if not claimed:
        return None
    actor = jobs.begin(job_id)
    db.session.commit()
    with force_locale(actor.locale if actor is not None else "de"):
        try:
            if actor is None:
                raise ActionRefused(_("Die Person, die den Auftrag gestartet hat, gibt es nicht mehr."))
            run = _RUNS.get(jobs.load(job_id).kind)
            if run is None:
                raise ActionRefused(_("Unbekannte Art von Auftrag."))
            run(job_id, actor)
        except ActionRefused as exc:
            _fail(job_id, exc.message)
        except Exception:  # noqa: BLE001 - the job is reported as failed, the worker goes on
            log.exception("job %s failed", job_id)
            _fail(job_id, _("Ein unerwarteter Fehler ist aufgetreten."))
    return jobs.load(job_id).state


def _fail(job_id: int, message: str) -> None:
    db.session.rollback()
    jobs.fail(job_id, message)
    db.session.commit()


def _steps(job_id: int, actor) -> None:
    for pid in jobs.steps_left(job_id):
        jobs.step_one(job_id, actor, pid)
        db.session.commit()  # the step and its line in the job together; its mails go after the commit
    jobs.finish_steps(job_id)
    db.session.commit()


def _export(job_id: int, actor) -> None:
    ranking = jobs.rank_for_export(job_id, actor)
    db.session.commit()  # half way: the progress shows
    jobs.finish_export(job_id, actor, ranking)
    db.session.commit()


def _call_record(job_id: int, actor) -> None:
    jobs.finish_call_record(job_id, actor)
    db.session.commit()


_RUNS = {
    "sign_off": _steps,
    "bulk_eligible": _steps,
    "bulk_award": _steps,
    "export": _export,
    "call_record": _call_record,
}


def start_jobs(job_ids: list[int]) -> None:
    """The after-commit kind ``job``: hand each job over (or run it in a thread)."""
    for job_id in job_ids:
        launch(job_id)


def launch(job_id: int) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask
    if app.config.get("BROKER_URL"):
        try:
            send_job(app, job_id)
            return
        except Exception as exc:  # noqa: BLE001 - the job is committed: run it here
            log.warning("broker unreachable, job %s runs in this process: %s", job_id, exc)
    in_thread(app, job_id)


def in_thread(app, job_id: int) -> threading.Thread:
    def work():
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

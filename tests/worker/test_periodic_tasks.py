"""The Celery tasks of the schedule, run in process: the sweep records its run (shown on the status page)
and never runs twice at once; the relay records its run, too."""

from __future__ import annotations

import pytest
from conftest import berlin, fill_draft, login

from foerdercall.extensions import db
from foerdercall.mail.models import WorkerRun
from foerdercall.proposals.operations import start_draft
from worker.celery_app import celery_for
from worker.locks import exclusive


def run_task(app, name: str):
    return celery_for(app).tasks[f"worker.tasks.{name}"].apply().get()


def test_the_sweep_task_runs_the_sweep_and_records_it(app, world, clock):
    from foerdercall.workflow.engine import fire

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    db.session.commit()
    clock.set(berlin(2026, 11, 1, 0, 1))
    report = run_task(app, "sweep")
    assert report["calls_closed"] == 1
    run = db.session.get(WorkerRun, "sweep")
    assert run.report["calls_closed"] == 1 and run.error == "" and run.finished_at == clock()
    client = app.test_client()
    login(client, world.ka.email)
    page = client.get("/worker").get_data(as_text=True)
    assert "calls_closed: 1" in page and "01.11.2026, 00:01 Uhr" in page


def test_the_relay_task_records_its_run(app, world):
    app.config["BROKER_URL"] = "redis://127.0.0.1:1/15"
    assert run_task(app, "relay") == 0
    assert db.session.get(WorkerRun, "relay").report == {"mails_handed_over": 0, "mails_requeued": 0}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_only_one_sweep_at_a_time(app):
    with exclusive("sweep") as first, exclusive("sweep") as second:
        assert (first, second) == (True, False)
    with exclusive("sweep") as again:
        assert again
    assert run_task(app, "sweep") is not None
    with exclusive("sweep"):
        assert run_task(app, "sweep") is None  # another sweep holds the lock: this one returns at once

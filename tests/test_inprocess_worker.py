"""The embedded default: `foerdercall serve` runs the sweep in a thread, which closes a call at its
deadline and sends the mail it queued, without anyone pressing a button."""

import time

from conftest import berlin, fill_draft
from sqlalchemy import select

from foerdercall.extensions import db
from foerdercall.models import Call, OutboxMail
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire
from worker.inprocess import start


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        done = predicate()
        db.session.rollback()  # end the read: on SQLite an open transaction holds the one write lock
        if done:
            return True
        time.sleep(0.05)
    return False


def test_the_thread_closes_the_call_at_its_deadline(app, world, clock, tmp_path):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    db.session.commit()
    app.config["SWEEP_INTERVAL_SECONDS"] = 0.05
    stop = start(app)
    try:
        # the receipt mail is delivered into the outbox folder
        assert wait_for(lambda: db.session.scalar(select(OutboxMail.status)) == "sent")
        assert any((tmp_path / "outbox").glob("*-receipt.eml"))
        # one minute before the end of the deadline minute nothing happens
        clock.set(berlin(2026, 10, 31, 23, 59, 59))
        db.session.rollback()
        time.sleep(0.3)
        assert db.session.get(Call, world.call.id).state == "published"
        clock.set(berlin(2026, 11, 1, 0, 0, 0))
        assert wait_for(lambda: db.session.get(Call, world.call.id).state == "closed")
        assert db.session.get(Call, world.call.id).closed_at == berlin(2026, 11, 1, 0, 0, 0)
    finally:
        stop.set()
        time.sleep(0.1)

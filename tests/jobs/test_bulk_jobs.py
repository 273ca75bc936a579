"""Long-running bulk actions as jobs with visible progress: the bulk sign-off (each proposal in its own
transaction through the single sign-off) and the ranking exports, run in-process (embedded default) and by a
real Celery worker on Redis; only the person who started a job (and the admins) see it."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from conftest import berlin, login
from job_helpers import follow, job_id, reviewed
from sqlalchemy import select, text

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import SignOff
from foerdercall.extensions import db
from foerdercall.jobs.models import BulkJob
from foerdercall.proposals.models import Proposal
from foerdercall.reviews.operations import declare_conflict, sign_neutrality


def states(ps):
    db.session.expire_all()
    return [db.session.get(Proposal, p.id).state for p in ps]


def test_bulk_sign_off_runs_as_a_job_and_reports_each_refusal(app, world, clock):
    app.config["SIGN_OFF_SYNC_LIMIT"] = 0  # every bulk sign-off through a job
    ps = reviewed(world, clock)
    sign_neutrality(world.call, world.afw)
    declare_conflict(ps[2], world.afw, True, "Nachbar")
    db.session.commit()
    ka, afw = app.test_client(), app.test_client()
    login(ka, "ka@x.test")
    login(afw, "afw@x.test")
    url = f"/calls/{world.call.id}/decision"

    first = job_id(ka.post(url, data={"proposal": [str(p.id) for p in ps], "decision": "approve"}))
    seen = follow(ka, first)
    assert seen[-1]["state"] == "done" and seen[-1]["done"] == seen[-1]["total"] == 4
    dones = [s["done"] for s in seen]
    assert dones == sorted(dones)  # progress only moves forward
    assert states(ps) == ["reviewed"] * 4  # one office signed

    second = job_id(afw.post(url, data={"proposal": [str(p.id) for p in ps], "decision": "approve"}))
    status = follow(afw, second)[-1]
    assert status["message"] == "3 von 4 gezeichnet."
    refused = [i for i in status["items"] if not i["ok"]]
    assert refused == [
        {
            "id": ps[2].id,
            "label": ps[2].file_number,
            "ok": False,
            "message": "Sie haben einen Interessenkonflikt mit diesem Angebot.",
        }
    ]
    assert states(ps) == ["approved", "approved", "reviewed", "approved"]
    assert db.session.scalars(select(SignOff.office).where(SignOff.proposal_id == ps[2].id)).all() == ["KA"]
    approvals = db.session.scalars(select(AuditEvent.proposal_id).where(AuditEvent.action == "approve")).all()
    assert sorted(approvals) == sorted(p.id for p in (ps[0], ps[1], ps[3]))  # through fire, with the audit

    page = afw.get(f"/jobs/{second}").get_data(as_text=True)
    assert '<progress id="job-progress" max="4" value="4"' in page and "4 von 4" in page
    assert f"{ps[2].file_number}</td><td>nicht gezeichnet: Sie haben einen Interessenkonflikt" in page
    assert 'http-equiv="refresh"' not in page  # finished: no more reloading
    assert 'aria-live="polite"' in page and '<label for="job-progress">' in page


def test_only_the_starter_and_admins_see_a_job(app, world, clock):
    app.config["SIGN_OFF_SYNC_LIMIT"] = 0
    ps = reviewed(world, clock, n=2)
    ka = app.test_client()
    login(ka, "ka@x.test")
    jid = job_id(
        ka.post(
            f"/calls/{world.call.id}/decision",
            data={"proposal": [str(p.id) for p in ps], "decision": "approve"},
        )
    )
    follow(ka, jid)
    for email in ("ka2@x.test", "afw@x.test", "app@x.test", "rev1@x.test"):
        other = app.test_client()
        login(other, email)
        for path in (f"/jobs/{jid}", f"/jobs/{jid}.json", f"/jobs/{jid}/download"):
            assert other.get(path).status_code == 404, (email, path)
    admin = app.test_client()
    login(admin, "admin@x.test")
    admin_page = admin.get(f"/jobs/{jid}")
    assert admin_page.status_code == 200
    assert "2 von 2" in admin_page.get_data(as_text=True)  # the admin sees the progress and the results
    assert f'href="/jobs/{jid}/download"' not in admin_page.get_data(as_text=True)
    assert ka.get(f"/jobs/{jid}/download").status_code == 404  # a sign-off has no file
    assert app.test_client().get(f"/jobs/{jid}").status_code == 302  # anonymous: to the login page


def test_small_bulk_sign_offs_stay_synchronous(app, world, clock):
    ps = reviewed(world, clock, n=2)  # SIGN_OFF_SYNC_LIMIT defaults to 20
    ka = app.test_client()
    login(ka, "ka@x.test")
    resp = ka.post(
        f"/calls/{world.call.id}/decision", data={"proposal": [str(p.id) for p in ps], "decision": "approve"}
    )
    assert resp.headers["Location"].endswith(f"/calls/{world.call.id}/decision")
    assert db.session.scalars(select(BulkJob)).all() == []


def test_export_job_gives_the_same_file_as_the_direct_download(app, world, clock):
    from openpyxl import load_workbook

    ps = reviewed(world, clock, n=3)
    ka = app.test_client()
    login(ka, "ka@x.test")
    ranking = ka.get(f"/calls/{world.call.id}/ranking").get_data(as_text=True)
    assert f'href="/calls/{world.call.id}/export/ranking.csv"' in ranking  # small: a direct download
    app.config["EXPORT_SYNC_LIMIT"] = 2
    ranking = ka.get(f"/calls/{world.call.id}/ranking").get_data(as_text=True)
    assert f'action="/calls/{world.call.id}/export/ranking.csv"' in ranking  # large: a job

    for what, fmt in (("ranking", "csv"), ("scores", "csv"), ("ranking", "xlsx")):
        jid = job_id(ka.post(f"/calls/{world.call.id}/export/{what}.{fmt}", data={"start": "1"}))
        assert follow(ka, jid)[-1]["state"] == "done"
        page = ka.get(f"/jobs/{jid}").get_data(as_text=True)
        assert f'href="/jobs/{jid}/download"' in page and "2 von 2" in page
        got = ka.get(f"/jobs/{jid}/download")
        direct = ka.get(f"/calls/{world.call.id}/export/{what}.{fmt}")
        assert got.status_code == direct.status_code == 200
        assert got.headers["Content-Disposition"].startswith(f'attachment; filename="KW26-{what}.{fmt}"')
        assert got.mimetype == direct.mimetype
        if fmt == "csv":
            assert got.get_data() == direct.get_data()
            assert ps[0].file_number in got.get_data(as_text=True)
        else:  # the workbook carries its creation time: compare the cells

            def cells(body):
                wb = load_workbook(io.BytesIO(body))
                return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}

            assert cells(got.get_data()) == cells(direct.get_data())

    assert ka.post(f"/calls/{world.call.id}/export/ranking.csv", data={}).status_code == 400
    assert ka.post(f"/calls/{world.call.id}/export/ranking.pdf", data={"start": "1"}).status_code == 404


def test_finished_jobs_are_removed_by_the_sweep_after_a_day(app, world, clock):
    from worker.sweep import sweep

    app.config["EXPORT_SYNC_LIMIT"] = 0
    reviewed(world, clock, n=1)
    ka = app.test_client()
    login(ka, "ka@x.test")
    jid = job_id(ka.post(f"/calls/{world.call.id}/export/ranking.csv", data={"start": "1"}))
    follow(ka, jid)
    clock.advance(hours=23)
    sweep()
    assert db.session.get(BulkJob, jid) is not None
    clock.advance(hours=2)
    sweep()
    db.session.expire_all()
    assert db.session.get(BulkJob, jid) is None
    assert ka.get(f"/jobs/{jid}/download").status_code == 404


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_progress_moves_item_by_item(app, world, clock):
    """A proposal locked by another transaction holds the job at that item: the page shows how far it is."""
    app.config["SIGN_OFF_SYNC_LIMIT"] = 0
    ps = reviewed(world, clock, n=5)
    ka = app.test_client()
    login(ka, "ka@x.test")
    other = db.engine.connect()
    other.execute(text("SELECT id FROM proposals WHERE id = :id FOR UPDATE"), {"id": ps[2].id})
    try:
        jid = job_id(
            ka.post(
                f"/calls/{world.call.id}/decision",
                data={"proposal": [str(p.id) for p in ps], "decision": "approve"},
            )
        )
        follow(ka, jid, until=lambda s: s["done"] == 2)
        page = ka.get(f"/jobs/{jid}").get_data(as_text=True)
        assert '<progress id="job-progress" max="5" value="2"' in page and "2 von 5" in page
        assert '<meta http-equiv="refresh" content="2">' in page  # reloads itself without JavaScript
        assert page.count(">gezeichnet<") == 2
    finally:
        other.rollback()
        other.close()
    status = follow(ka, jid)[-1]
    assert status["done"] == 5 and all(i["ok"] for i in status["items"])


def test_a_second_claim_does_nothing(app, world, clock):
    """A job handed over twice (a redelivered message) runs once."""
    from foerdercall.aftercommit import discard
    from foerdercall.jobs.operations import start_export
    from foerdercall.jobs.runner import run_job

    reviewed(world, clock, n=1)
    job = start_export(world.call, world.ka, "ranking", "csv")
    discard("job")  # run here, not in a thread
    jid, results = job.id, []
    db.session.commit()  # and no new transaction in this session (SQLite: it would hold the write lock)
    threads = [
        threading.Thread(target=lambda: results.append(_run_in_app(app, run_job, jid))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [None, "done"], (results, db.session.get(BulkJob, jid).message)


def _run_in_app(app, fn, *args):
    with app.app_context():
        try:
            return fn(*args)
        finally:
            db.session.remove()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_celery_worker_runs_the_bulk_sign_off(stack, app, world, clock):
    app.config["SIGN_OFF_SYNC_LIMIT"] = 0
    ps = reviewed(world, clock, n=6)
    stack.start_workers(n=1)
    ka = app.test_client()
    login(ka, "ka@x.test")
    jid = job_id(
        ka.post(
            f"/calls/{world.call.id}/decision",
            data={"proposal": [str(p.id) for p in ps], "decision": "approve"},
        )
    )
    status = follow(ka, jid, timeout=90)[-1]
    assert status["state"] == "done", stack.logs()
    assert status["done"] == 6 and all(i["ok"] for i in status["items"])
    assert "worker.tasks.run_job" in stack.logs(tail=100000)
    assert sorted(db.session.scalars(select(SignOff.proposal_id))) == sorted(p.id for p in ps)
    assert berlin(2026, 11, 2, 9, 0) - dt.timedelta(minutes=1) <= db.session.get(BulkJob, jid).finished_at


def test_the_vergabevermerk_as_a_job_is_the_same_document(app, world, clock):
    import pypdf

    app.config["EXPORT_SYNC_LIMIT"] = 0
    ps = reviewed(world, clock, n=2)
    ka = app.test_client()
    login(ka, "ka@x.test")
    detail = ka.get(f"/calls/{world.call.id}").get_data(as_text=True)
    assert f'action="/calls/{world.call.id}/vergabevermerk.pdf"' in detail  # a button instead of the link
    jid = job_id(ka.post(f"/calls/{world.call.id}/vergabevermerk.pdf", data={"start": "1"}))
    assert follow(ka, jid)[-1]["state"] == "done"
    got = ka.get(f"/jobs/{jid}/download")
    direct = ka.get(f"/calls/{world.call.id}/vergabevermerk.pdf")
    assert got.mimetype == direct.mimetype == "application/pdf"

    def text(body):
        return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)

    assert text(got.get_data()) == text(direct.get_data())
    assert ps[0].file_number in text(got.get_data())
    applicant = app.test_client()
    login(applicant, "app@x.test")
    assert (
        applicant.post(f"/calls/{world.call.id}/vergabevermerk.pdf", data={"start": "1"}).status_code == 403
    )
    assert db.session.scalars(select(BulkJob.kind)).all() == ["call_record"]


def test_the_sweep_hands_over_a_job_whose_hand_over_was_lost(app, world, clock):
    """The web process died between the commit and the start: the next sweep starts the job."""
    from foerdercall.aftercommit import discard
    from foerdercall.jobs.operations import start_export
    from worker.sweep import sweep

    reviewed(world, clock, n=1)
    job = start_export(world.call, world.ka, "ranking", "csv")
    discard("job")  # lost
    jid = job.id
    db.session.commit()
    sweep()
    db.session.expire_all()
    assert (
        db.session.get(BulkJob, jid).state == "queued"
    )  # written just now: its own hand-over may still come
    clock.advance(minutes=2)
    sweep()
    ka = app.test_client()
    login(ka, "ka@x.test")
    assert follow(ka, jid)[-1]["state"] == "done"

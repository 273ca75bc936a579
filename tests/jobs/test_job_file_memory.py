"""The files of bulk jobs (a large call's exports) are never held in memory at once (issue 17, hole 4): kept in
the database in pieces, read back piece by piece for the download; the scores export reads the
justifications in batches and gives the same file whatever the batch."""

from __future__ import annotations

import hashlib
import os
import tracemalloc

from conftest import login
from job_helpers import reviewed

from foerdercall.aftercommit import discard
from foerdercall.extensions import db
from foerdercall.jobs import operations as jobs
from foerdercall.jobs.models import BulkJob
from foerdercall.jobs.operations import result_file, start_export, store_result
from foerdercall.sheets import spooled

MB = 2**20
SIZE = 64 * MB
LIMIT = 50 * MB


def _big(out) -> None:
    block = os.urandom(MB)
    for i in range(SIZE // MB):
        out.write(i.to_bytes(4, "big") + block[4:])


def test_a_jobs_file_is_stored_and_downloaded_in_pieces(app, world):
    job = start_export(world.call, world.ka, "scores", "csv")
    discard("job")  # not run: only its file is of interest here
    db.session.commit()
    job_id = job.id
    source = spooled(_big)
    source.seek(0)
    expected = hashlib.sha256(source.read()).hexdigest()

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        with source:
            store_result(
                db.session.get(BulkJob, job_id), source, "KW26-scores.csv", "text/csv; charset=utf-8"
            )
        job = db.session.get(BulkJob, job_id)
        job.state = "done"
        db.session.commit()
        db.session.expunge_all()
        stored = tracemalloc.get_traced_memory()[1] - base

        tracemalloc.reset_peak()
        client = app.test_client()
        login(client, "ka@x.test")
        base = tracemalloc.get_traced_memory()[0]
        resp = client.get(f"/jobs/{job_id}/download", buffered=False)
        digest, size = hashlib.sha256(), 0
        for piece in resp.response:
            digest.update(piece)
            size += len(piece)
        resp.close()
        served = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()

    assert resp.status_code == 200 and int(resp.headers["Content-Length"]) == size == SIZE
    assert digest.hexdigest() == expected
    assert stored < LIMIT, f"storing grew the process by {stored / MB:.0f} MB"
    assert served < LIMIT, f"the download grew the process by {served / MB:.0f} MB"


def test_an_incomplete_file_is_an_error_not_a_short_download(app, world):
    job = start_export(world.call, world.ka, "scores", "csv")
    discard("job")
    db.session.commit()
    with spooled(lambda out: out.write(b"x" * (3 * jobs.RESULT_CHUNK))) as f:
        store_result(job, f, "KW26-scores.csv", "text/csv")
    job.state = "done"
    job.result_size += 1  # a piece is missing
    db.session.commit()
    try:
        result_file(job)
    except RuntimeError as exc:
        assert "incomplete" in str(exc)
    else:
        raise AssertionError("an incomplete file was served")


def test_the_scores_export_is_the_same_whatever_the_batch(app, world, clock, monkeypatch):
    from foerdercall.ranking import exports

    reviewed(world, clock, n=4)
    ka = app.test_client()
    login(ka, "ka@x.test")
    whole = ka.get(f"/calls/{world.call.id}/export/scores.csv").get_data()
    assert whole.count(b"\r\n") > 10
    monkeypatch.setattr(exports, "SCORES_BATCH", 3)
    assert ka.get(f"/calls/{world.call.id}/export/scores.csv").get_data() == whole

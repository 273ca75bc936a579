"""The personal data ZIP ("Meine Daten") is never built in memory (issue 17, hole 4): an account with ~200 MB of
attachments downloads a complete, correct ZIP while the process's memory grows by less than 50 MB."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
import zipfile

import pytest
from conftest import fill_draft, login

from foerdercall.extensions import db
from foerdercall.proposals.operations import add_attachment, attachment_path, start_draft

FILES = 10
FILE_MB = 20
LIMIT = 50 * 1024 * 1024


def big_account(world) -> dict[str, str]:
    """The applicant's draft with FILES attachments of FILE_MB each; returns {ZIP name: sha256}.

    The attachments are uploaded through the operation with a small PDF; their files on disk are then made
    large (random, so nothing compresses): the upload quotas of the app are not what this test is about."""
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    while len(p.attachments) < FILES:
        add_attachment(p, world.applicant, "other", io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "anlage.pdf")
    db.session.commit()
    block = os.urandom(1024 * 1024)
    hashes = {}
    for a in p.attachments:
        digest = hashlib.sha256()
        with open(attachment_path(a), "wb") as f:
            for i in range(FILE_MB):
                piece = b"%PDF-1.4 " + f"{a.id}:{i}".encode() + block
                f.write(piece)
                digest.update(piece)
        hashes[f"attachments/{p.id}-{a.id}-{a.filename}"] = digest.hexdigest()
    return hashes


@pytest.mark.sqlite_only
def test_the_personal_data_zip_streams_without_growing_the_process(app, world, tmp_path):
    hashes = big_account(world)
    client = app.test_client()
    login(client, world.applicant.email)
    target = tmp_path / "download.zip"

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        resp = client.get("/account/data/export.zip", buffered=False)
        with open(target, "wb") as out:
            for piece in resp.response:
                out.write(piece)
        resp.close()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()

    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
    assert int(resp.headers["Content-Length"]) == target.stat().st_size  # a cut download shows as one
    assert peak < LIMIT, f"the process grew by {peak / 2**20:.0f} MB"
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None
        data = json.loads(zf.read("data.json"))
        assert data["account"]["email"] == world.applicant.email
        assert set(hashes) <= set(zf.namelist())
        for name, sha in hashes.items():
            digest = hashlib.sha256()
            with zf.open(name) as f:
                while piece := f.read(1 << 20):
                    digest.update(piece)
            assert digest.hexdigest() == sha, name
    assert target.stat().st_size > FILES * FILE_MB * 2**20


def test_a_failure_while_the_zip_is_built_is_an_error_not_a_short_download(app, world, monkeypatch):
    """The ZIP is complete before its first byte is sent: a failure on the way is an error page (500), never a
    truncated file that looks complete."""
    from foerdercall.privacy import operations

    fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()

    def broken(*_a, **_k):
        raise OSError("disk gone")

    monkeypatch.setattr(operations, "_add_file", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    login(client, world.applicant.email)
    resp = client.get("/account/data/export.zip")
    assert resp.status_code == 500 and resp.headers["Content-Type"].startswith("text/html")


def test_the_zip_holds_only_the_persons_own_files(app, world):
    """Files are stored in the ZIP as they are: one person's ZIP holds their uploads and nobody else's."""
    mine, theirs = b"%PDF-1.4\n% Ada 4711\n%%EOF\n", b"%PDF-1.4\n% Bruno 0815\n%%EOF\n"
    for user, body in ((world.applicant, mine), (world.applicant2, theirs)):
        p = start_draft(world.call, user)
        add_attachment(p, user, "other", io.BytesIO(body), "anlage.pdf")
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant2.email)
    resp = client.get("/account/data/export.zip")
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
        files = [zf.read(n) for n in zf.namelist() if n.startswith("attachments/")]
    assert files == [theirs] and mine not in resp.get_data()

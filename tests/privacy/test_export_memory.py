"""The personal data ZIP of an account with many large uploads: the web process does not hold it in memory (it
grew from 169 to 553 MB for one request), and the download is complete and correct."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import tracemalloc
import zipfile

from conftest import login

from foerdercall.extensions import db
from foerdercall.proposals.operations import add_attachment, start_draft

MB = 1024 * 1024


def _big_pdf(seed: int, size: int) -> bytes:
    """A PDF header and `size` bytes of noise without a '/' (no PDF names, nothing the content check flags)."""
    block = os.urandom(MB).replace(b"/", b"x")
    return b"%PDF-1.4\n" + (block * (size // MB + 1))[: size - 9] + bytes([seed])


def test_the_personal_data_zip_is_streamed_whatever_its_size(app, world, clock):
    app.config.update(MAX_CONTENT_LENGTH=60 * MB, UPLOAD_MAX_MB_PER_PROPOSAL=1000, UPLOAD_MAX_MB_PER_ACCOUNT=1000)
    p = start_draft(world.call, world.applicant)
    digests = {}
    for i in range(4):  # 4 x 50 MB
        body = _big_pdf(i, 50 * MB)
        a = add_attachment(p, world.applicant, "other", io.BytesIO(body), f"mappe-{i}.pdf")
        digests[a.download_name] = hashlib.sha256(body).hexdigest()
        del body
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)

    tracemalloc.start()
    try:
        resp = client.get("/account/data/export.zip", buffered=False)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
        size = 0
        with tempfile.TemporaryFile() as downloaded:  # the download as the browser stores it: on disk
            for chunk in resp.response:
                downloaded.write(chunk)
                size += len(chunk)
            resp.close()
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            downloaded.seek(0)
            zf = zipfile.ZipFile(downloaded)
            assert zf.testzip() is None
            got = {name.split("-", 2)[2]: hashlib.sha256(zf.read(name)).hexdigest()
                   for name in zf.namelist() if name.startswith("attachments/")}
        assert got == digests
        assert size > 200 * MB
        assert peak < 50 * MB, f"the request held {peak / MB:.0f} MB at its peak"
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()

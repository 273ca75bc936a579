"""Admission control reads a body before the request takes a slot (issue 5, the deadline surge): an offer of
1 MB with its form stays in memory (it passed through a temporary file on disk before, 0.6 ms CPU more per
submission); larger bodies still go to a temporary file; the app receives every byte either way."""

from __future__ import annotations

import io

import pytest

from foerdercall.admission import Admission


def received(size: int) -> tuple[bytes, bool]:
    """What the app reads of a body of ``size`` bytes, and whether it came from a file on disk."""
    seen = {}

    def app(environ, start_response):
        stream = environ["wsgi.input"]
        seen["on_disk"] = bool(getattr(stream, "_rolled", True))
        seen["body"] = stream.read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    admission = Admission(app, max_requests=4, max_body=20 * 1024 * 1024)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/proposals/1/edit",
        "CONTENT_LENGTH": str(size),
        "wsgi.input": io.BytesIO(body),
        "HTTP_COOKIE": "session=x",
    }
    result = admission(environ, lambda status, headers: None)
    assert list(result) == [b"ok"]
    result.close()
    assert seen["body"] == body
    return seen["body"], seen["on_disk"]


@pytest.mark.parametrize("size", [1_048_941, 2 * 1024 * 1024])
def test_an_offer_of_one_megabyte_with_its_form_is_kept_in_memory(size):
    _body, on_disk = received(size)
    assert not on_disk


def test_a_larger_body_goes_to_a_temporary_file_and_arrives_whole():
    _body, on_disk = received(5 * 1024 * 1024 + 17)
    assert on_disk

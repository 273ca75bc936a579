"""A login that arrives while the process is at its login bound waits a moment for a slot instead of being
refused at once (issue 5, the deadline surge: a few requests arriving together must not turn away logins
while the machine has room); under lasting load it is still refused with 429 and Retry-After."""

from __future__ import annotations

import io
import threading
import time

from foerdercall.admission import Admission


def _server(hold: float, login_wait: float):
    """An Admission with a login bound of 1 around an app whose page views take ``hold`` seconds."""
    started = threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            started.set()
            time.sleep(hold)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return Admission(app, max_requests=4, max_logins=1, login_wait=login_wait), started


def _get(admission, path):
    statuses = []
    result = admission(
        {"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": io.BytesIO()},
        lambda status, headers: statuses.append(status),
    )
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return statuses[0], body


def _login(admission):
    statuses = []
    result = admission(
        {"REQUEST_METHOD": "POST", "PATH_INFO": "/login", "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO()},
        lambda status, headers: statuses.append((status, headers)),
    )
    b"".join(result)
    getattr(result, "close", lambda: None)()
    return statuses[0]


def _while_busy(admission, started):
    page = threading.Thread(target=_get, args=(admission, "/slow"))
    page.start()
    assert started.wait(5)
    t0 = time.monotonic()
    status, headers = _login(admission)
    waited = time.monotonic() - t0
    page.join()
    return status, dict(headers), waited


def test_a_login_waits_for_the_request_ahead_of_it():
    admission, started = _server(hold=0.1, login_wait=2.0)
    status, _headers, waited = _while_busy(admission, started)
    assert status.startswith("200")  # admitted as soon as the page view left
    assert waited < 1.5


def test_a_login_is_refused_when_no_slot_comes_in_time():
    admission, started = _server(hold=1.0, login_wait=0.1)
    status, headers, waited = _while_busy(admission, started)
    assert status.startswith("429") and headers["Retry-After"]
    assert waited < 0.9  # the wait is bounded, not the length of the request ahead


def test_without_a_wait_a_login_is_refused_at_once():
    admission, started = _server(hold=0.5, login_wait=0.0)
    status, _headers, waited = _while_busy(admission, started)
    assert status.startswith("429") and waited < 0.4
    assert _login(admission)[0].startswith("200")  # nothing in the app any more

"""The login gate (issue 5, overload): while the requests of people already logged in are slow, new logins and
login pages are refused at once with 429 and Retry-After, so the machine finishes the work it has admitted;
the people already in are still served, and logins are admitted again as soon as the answers are fast."""

from __future__ import annotations

import io
import threading
import time

from foerdercall import admission as admission_module
from foerdercall.admission import Admission

SLOW = 0.3


def _gate(login_gate: float = 0.2) -> tuple[Admission, list[str]]:
    """An Admission around an app whose /slow page and (with ``?slow``) login take SLOW seconds."""
    rendered: list[str] = []

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow" or environ.get("QUERY_STRING") == "slow":
            time.sleep(SLOW)
        rendered.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return Admission(app, max_requests=40, max_logins=20, login_gate=login_gate), rendered


def _request(admission, method, path, query=""):
    answers = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(),
        "CONTENT_LENGTH": "0",
    }
    result = admission(environ, lambda status, headers: answers.append((status, dict(headers))))
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return answers[0][0], answers[0][1], body


def _together(admission, n, method, path, query=""):
    threads = [threading.Thread(target=_request, args=(admission, method, path, query)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_while_the_people_inside_wait_long_new_logins_get_429_and_they_are_still_served():
    admission, rendered = _gate()
    _together(admission, admission_module.GATE_MIN_REQUESTS, "GET", "/slow")

    status, headers, body = _request(admission, "GET", "/login")
    assert status.startswith("429") and headers["Retry-After"] == "5"
    assert "Gerade melden sich sehr viele Personen gleichzeitig an" in body.decode()
    assert _request(admission, "POST", "/login")[0].startswith("429")
    assert "/login" not in rendered  # refused before the app: no page rendered, no password hashed
    assert _request(admission, "GET", "/proposals/1")[0].startswith("200")  # those inside go on

    time.sleep(admission_module.GATE_WINDOW + 0.1)  # the slow answers are more than a second old
    assert _request(admission, "POST", "/login")[0].startswith("200")


def test_fast_answers_keep_the_gate_open():
    admission, _rendered = _gate()
    _together(admission, admission_module.GATE_MIN_REQUESTS, "GET", "/fast")
    assert _request(admission, "POST", "/login")[0].startswith("200")


def test_a_few_slow_requests_in_a_quiet_moment_do_not_close_it():
    admission, _rendered = _gate()
    _together(
        admission, admission_module.GATE_MIN_REQUESTS - 1, "GET", "/slow"
    )  # e.g. exports in a quiet hour
    assert _request(admission, "GET", "/login")[0].startswith("200")


def test_slow_logins_themselves_do_not_close_it():
    """The gate measures the people already in: the argon2 hash of other logins is not their waiting."""
    admission, _rendered = _gate()
    _together(admission, admission_module.GATE_MIN_REQUESTS, "POST", "/login", "slow")
    assert _request(admission, "POST", "/login")[0].startswith("200")


def test_without_a_gate_slow_answers_refuse_no_login():
    admission, _rendered = _gate(login_gate=0.0)
    _together(admission, admission_module.GATE_MIN_REQUESTS, "GET", "/slow")
    assert _request(admission, "POST", "/login")[0].startswith("200")


def test_after_a_login_post_was_turned_away_the_login_pages_wait_but_the_posts_of_pages_given_out_are_tried():
    """Nobody gets a login page that would most likely end in a 429 after typing the password; whoever already
    has one is still let in when a slot is free."""
    admission, rendered = _gate()
    admission.max_logins = 1
    inside = threading.Thread(target=_request, args=(admission, "POST", "/login", "slow"))
    inside.start()
    time.sleep(0.05)
    assert _request(admission, "POST", "/login")[0].startswith("429")  # no slot: turned away
    status, headers, body = _request(admission, "GET", "/login")
    assert status.startswith("429") and headers["Retry-After"] == "5"
    inside.join()
    assert rendered.count("/login") == 1  # only the slow login of the one inside reached the app
    assert _request(admission, "POST", "/login")[0].startswith("200")  # a slot is free: the post is tried
    assert _request(admission, "GET", "/proposals/1")[0].startswith("200")  # the people inside go on

    time.sleep(admission_module.REFUSED_LOGIN_WINDOW + 0.05)
    assert _request(admission, "GET", "/login")[0].startswith("200")  # the pages are given out again


def test_without_a_gate_a_turned_away_login_post_shuts_no_login_page():
    admission, _rendered = _gate(login_gate=0.0)
    admission.max_logins = 1
    inside = threading.Thread(target=_request, args=(admission, "POST", "/login", "slow"))
    inside.start()
    time.sleep(0.05)
    assert _request(admission, "POST", "/login")[0].startswith("429")
    inside.join()
    assert _request(admission, "GET", "/login")[0].startswith("200")

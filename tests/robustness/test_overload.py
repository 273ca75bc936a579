"""Past capacity the shipped web server sheds load explicitly (503/429 with Retry-After, at once) instead of
queueing requests into timeouts; what it admits completes; after the peak it answers normally again."""

from __future__ import annotations

import threading
import time
import urllib.parse

import pytest
from conftest import PASSWORD
from gunistack import Gunicorn, drop_database, get, login_form, make_database, request


@pytest.fixture(scope="module")
def database():
    url = make_database()
    yield url
    drop_database(url)


@pytest.fixture
def server(database, tmp_path):
    # Small bounds so that a test machine with two cores reaches them for sure.
    srv = Gunicorn(
        tmp_path,
        database,
        ADMISSION_MAX_REQUESTS="2",
        ADMISSION_MAX_LOGINS="1",
        ADMISSION_RETRY_AFTER_SECONDS="3",
        LOGIN_THROTTLE_PER_ADDRESS="100000",
        LOGIN_THROTTLE_PER_ACCOUNT="100000",
        WEB_THREADS="24",
        ADMISSION_MAX_QUEUE_SECONDS="10",
    ).start()
    yield srv
    srv.stop()


def burst(fn, clients: int, seconds: float) -> list:
    """``clients`` threads calling ``fn`` for ``seconds``; every answer or exception."""
    results: list = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run():
        while time.monotonic() < stop:
            try:
                r = fn()
            except Exception as exc:  # noqa: BLE001 - a timeout or reset is what the test looks for
                r = exc
            with lock:
                results.append(r)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_past_capacity_pages_are_shed_at_once_with_retry_after(server):
    results = burst(lambda: get(server.port, "/calls", timeout=30), clients=40, seconds=8)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} requests failed or timed out, e.g. {errors[0]!r}"
    statuses = {r.status for r in results}
    assert statuses <= {200, 503}, statuses
    shed = [r for r in results if r.status == 503]
    served = [r for r in results if r.status == 200]
    assert shed, "nothing was shed although 40 clients met a bound of 2 per process"
    assert served, "nothing was served during the burst"
    assert all(r.headers.get("retry-after") == "3" for r in shed)
    assert "Bitte versuchen Sie es in 3 Sekunden noch einmal" in shed[0].body
    assert "Please try again in 3 seconds" in shed[0].body
    # shed answers come at once: no queueing into timeouts
    shed_times = sorted(r.seconds for r in shed)
    assert shed_times[len(shed_times) // 2] < 2.0, shed_times[len(shed_times) // 2]
    assert max(r.seconds for r in results) < 15
    # after the peak: normal answers again, fast, within 30 s
    deadline = time.monotonic() + 30
    while True:
        a = get(server.port, "/calls")
        if a.status == 200 and a.seconds < 1.0:
            break
        assert time.monotonic() < deadline, f"still {a.status} after {a.seconds:.2f} s"
        time.sleep(0.5)
    # static files and the health check are never shed
    assert get(server.port, "/health").status == 200
    assert get(server.port, "/static/app.js").status == 200


def test_json_clients_get_json(server):
    results = burst(
        lambda: get(server.port, "/calls", headers={"Accept": "application/json"}), clients=40, seconds=4
    )
    shed = [r for r in results if not isinstance(r, Exception) and r.status == 503]
    assert shed
    assert shed[0].headers["content-type"] == "application/json"
    assert '"retry_after": 3' in shed[0].body


def test_new_logins_are_shed_first_with_429(server):
    def attempt():
        cookie, token = login_form(server.port)
        body = urllib.parse.urlencode(
            {"email": "anna@example.org", "password": PASSWORD, "csrf_token": token}
        ).encode()
        return request(
            server.port,
            "POST",
            "/login",
            body=body,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )

    results = burst(attempt, clients=16, seconds=6)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, repr(errors[0])
    posts = [r for r in results if r.status in (302, 429)]
    assert {r.status for r in results} <= {302, 429, 503}, {r.status for r in results}
    assert any(r.status == 302 for r in posts), "no login got through"
    refused = [r for r in results if r.status == 429]
    assert refused, "no login was shed although 16 clients met a bound of 1 login per process"
    assert all(r.headers.get("retry-after") for r in refused)
    assert "Gerade melden sich sehr viele Personen gleichzeitig an" in refused[0].body


def test_a_request_that_waited_too_long_in_front_of_the_app_is_shed(server):
    """Behind nginx (X-Request-Start: t=<seconds>): its browser has most likely given up already."""
    stale = get(server.port, "/calls", headers={"X-Request-Start": f"t={time.time() - 60:.3f}"})
    assert stale.status == 503 and stale.headers["retry-after"] == "3"
    fresh = get(server.port, "/calls", headers={"X-Request-Start": f"t={time.time():.3f}"})
    assert fresh.status == 200

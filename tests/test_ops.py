"""For a city's IT: liveness and readiness for the load balancer, metrics for the monitoring, and a request id
that joins the error page a person sees to the log lines of that request."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest
from conftest import PASSWORD

from foerdercall import create_app
from foerdercall.logs import JsonLines
from worker.sweep import sweep

TOKEN = "metrics-token-for-the-test"


def scrape(client) -> str:
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/plain"
    return resp.get_data(as_text=True)


def value(text: str, series: str) -> float:
    """The value of one series (name with its labels, as printed) in a scrape."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in the scrape")


def test_liveness_and_readiness(app):
    client = app.test_client()
    live = client.get("/health")
    assert (live.status_code, live.json) == (200, {"status": "ok"})
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "database": "ok", "broker": "not used"}
    app.config["BROKER_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    away = client.get("/ready")
    assert away.status_code == 503 and away.json["status"] == "not ready"
    assert away.json["broker"].startswith("error") and away.json["database"] == "ok"


def test_not_ready_while_the_database_is_away(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
            "PUBLIC_URL": "https://foerdercall.example",
            "SECRET_KEY": "test",
            "TESTING": True,
        }
    )
    client = app.test_client()
    assert client.get("/health").status_code == 200  # the process lives: no restart wanted
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json["database"].startswith("error")


def test_not_ready_while_the_database_host_is_silent():
    """A host that takes the connection and never answers (as one behind a firewall that drops packets) gives a
    503 after DATABASE_CONNECT_TIMEOUT, not a request that hangs until TCP gives up."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=8)  # the kernel completes the handshake; no reply
    port = silent.getsockname()[1]
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing",
            "DATABASE_CONNECT_TIMEOUT": 2,
            "PUBLIC_URL": "https://foerdercall.example",
            "SECRET_KEY": "test",
            "TESTING": True,
        }
    )
    answers: list = []
    asking = threading.Thread(target=lambda: answers.append(app.test_client().get("/ready")), daemon=True)
    try:
        asking.start()
        asking.join(60)  # a liveness bound, far above the timeout: without it the request waits for minutes
        assert answers, "/ready did not answer while the database host was silent"
        assert answers[0].status_code == 503 and answers[0].json["database"].startswith("error")
    finally:
        silent.close()


def test_metrics_need_the_token_and_count_requests_mails_runs_logins_and_the_queues(app, world, redis_queue):
    client = app.test_client()
    assert client.get("/metrics").status_code == 404  # no token configured: there is none
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    before = scrape(client)
    client.get("/health")
    client.get("/health")
    wrong = client.post("/login", data={"email": world.applicant.email, "password": PASSWORD + "falsch"})
    assert wrong.status_code == 422
    sweep()  # a run of the sweep, and the mails it sends in process
    after = scrape(client)
    health = 'foerdercall_http_requests_total{method="GET",route="/health",status="200"}'
    assert value(after, health) - (value(before, health) if health in before else 0) == 2
    assert 'foerdercall_http_request_duration_seconds_bucket{le="0.005",route="/health"}' in after
    failed = "foerdercall_login_failures_total"
    assert value(after, failed) - value(before, failed) == 1
    assert value(after, "foerdercall_login_failures_recent") == 1
    assert value(after, 'foerdercall_mails{status="failed"}') == 0
    assert (
        'foerdercall_last_run_age_seconds{job="sweep"}' not in after
    )  # the in-process sweep keeps no record
    assert "foerdercall_mails{status=" in after
    # with a broker: the queues' lengths
    app.config.update(BROKER_URL=redis_queue[0], WORKER_QUEUE=redis_queue[1])
    assert value(scrape(client), 'foerdercall_queue_length{queue="mail"}') == 0


def test_the_error_page_names_the_request_id_of_its_log_lines(app, caplog):
    @app.route("/boom-for-the-test")
    def boom():
        raise RuntimeError("kaputt")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        resp = client.get("/boom-for-the-test", headers={"X-Request-ID": "nginx-3f2a9c7d1e"})
    assert resp.status_code == 500
    assert resp.headers["X-Request-ID"] == "nginx-3f2a9c7d1e"  # nginx's id, kept
    assert "Fehlernummer: <code>nginx-3f2a9c7d1e</code>" in resp.get_data(as_text=True)
    record = next(r for r in caplog.records if r.exc_info)
    line = json.loads(JsonLines().format(record))
    assert line["level"] == "ERROR" and "RuntimeError: kaputt" in line["exception"]
    assert line["request_id"] == "nginx-3f2a9c7d1e"
    odd = client.get("/health", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert odd != "<script>" and len(odd) == 16  # not an id: one of our own


def test_production_logs_json_lines(tmp_path, capfd):
    create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
            "PUBLIC_URL": "https://foerdercall.example",
            "SECRET_KEY": "test",
            "LOG_FORMAT": "json",
        }
    )
    logging.getLogger("foerdercall.test").warning("Frist verlängert: %s", "KW-2026")
    err = capfd.readouterr().err.strip().splitlines()[-1]
    line = json.loads(err)
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "foerdercall.test",
        "Frist verlängert: KW-2026",
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_sweep_run_of_the_worker_is_measured(app, world):
    from foerdercall.extensions import db
    from foerdercall.mail.operations import record_run
    from foerdercall.timeutil import now

    record_run("sweep", now())
    db.session.commit()
    app.config["METRICS_TOKEN"] = TOKEN
    assert 0 <= value(scrape(app.test_client()), 'foerdercall_last_run_age_seconds{job="sweep"}') < 60

"""For the load balancer and the monitoring: liveness (``/health``: the process answers), readiness
(``/ready``: 503 while the database or the broker is away) and metrics in the Prometheus text format
(``/metrics``, only with ``Authorization: Bearer <METRICS_TOKEN>``; else 404). Every response carries the
request's id (``X-Request-ID``), as its log lines do (foerdercall/logs.py)."""

from __future__ import annotations

import hmac
import os
import time

import redis
from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .accounts.models import LoginFailure
from .broker import queues
from .extensions import db
from .logs import request_id
from .mail.models import OutboxMail, WorkerRun
from .metrics import LATENCY, REQUESTS
from .timeutil import now

bp = Blueprint("ops", __name__)


@bp.route("/health")
def health():
    """Liveness: the process answers (nothing else is asked)."""
    return {"status": "ok"}


@bp.route("/ready")
def ready():
    """Readiness: the database answers, and the broker when there is one."""
    checks = {"database": _database(), "broker": _broker()}
    ok = all(v in ("ok", "not used") for v in checks.values())
    return {"status": "ready" if ok else "not ready", **checks}, 200 if ok else 503


def _database() -> str:
    try:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _broker() -> str:
    url = current_app.config.get("BROKER_URL")
    if not url:
        return "not used"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"
    finally:
        client.close()
    return "ok"


@bp.route("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the counts of every web process
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    state = CollectorRegistry()
    state.register(_State())
    return Response(generate_latest(counted) + generate_latest(state), mimetype="text/plain; version=0.0.4")


class _State:
    """What the database and the broker say at the moment of the scrape (the same for every process)."""

    def collect(self):
        m = OutboxMail
        mails = GaugeMetricFamily("foerdercall_mails", "Mails in the outbox, by status", labels=["status"])
        counts = dict(db.session.execute(select(m.status, func.count()).group_by(m.status)).all())
        held = db.session.scalar(select(func.count()).where(m.held.is_(True), m.status == "pending")) or 0
        for status in ("pending", "sending", "sent", "failed"):
            mails.add_metric([status], counts.get(status, 0))
        mails.add_metric(["held"], held)
        yield mails
        age = GaugeMetricFamily(
            "foerdercall_last_run_age_seconds",
            "Seconds since the last run of a periodic job ended",
            labels=["job"],
        )
        at = now()
        for run in db.session.scalars(select(WorkerRun)):
            if run.finished_at is not None:
                age.add_metric([run.name], (at - run.finished_at).total_seconds())
        yield age
        yield GaugeMetricFamily(
            "foerdercall_login_failures_recent",
            "Failed logins within the throttle window (all processes)",
            value=db.session.scalar(select(func.count()).select_from(LoginFailure)) or 0,
        )
        if url := current_app.config.get("BROKER_URL"):
            depth = GaugeMetricFamily(
                "foerdercall_queue_length", "Tasks waiting in the broker", labels=["queue"]
            )
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            try:
                for name, queue in queues(current_app.config).items():
                    depth.add_metric([name], client.llen(queue))
            except redis.RedisError:
                pass  # the broker is away: /ready says so
            finally:
                client.close()
            yield depth


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _clock():
        g.answer_started = time.perf_counter()
        request_id()

    @app.after_request
    def _count(response):
        route = request.url_rule.rule if request.url_rule is not None else "(none)"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        if "answer_started" in g:
            LATENCY.labels(route).observe(time.perf_counter() - g.answer_started)
        response.headers["X-Request-ID"] = request_id()
        return response

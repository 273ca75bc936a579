"""The counters of this process, for /metrics (foerdercall/ops.py). With several web processes (gunicorn's
workers) set PROMETHEUS_MULTIPROC_DIR to an empty folder they all write to (cleared before the server
starts): each process keeps its counts there and /metrics adds them up (docs/production.md)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "foerdercall_http_requests",
    "Requests answered, by route, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "foerdercall_http_request_duration_seconds",
    "Time to answer a request, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LOGIN_FAILURES = Counter(
    "foerdercall_login_failures", "Failed logins (a wrong password or second-factor code)"
)

"""gunicorn's configuration for foerdercall's web processes:  gunicorn -c deploy/gunicorn.conf.py

Everything can be changed through the environment (defaults in brackets):

- GUNICORN_BIND [127.0.0.1:8000], WEB_WORKERS [1 per core, at most 8], WEB_THREADS [32]
- the admission bounds per process (foerdercall/admission.py): ADMISSION_MAX_REQUESTS [8],
  ADMISSION_MAX_LOGINS [2], ADMISSION_POST_RESERVE [2], ADMISSION_MAX_UPLOADS [16],
  ADMISSION_BODY_TIMEOUT_SECONDS [30], ADMISSION_LOGIN_WAIT_SECONDS [0.5], ADMISSION_LOGIN_GATE_SECONDS [0.5],
  ADMISSION_MAX_QUEUE_SECONDS [0: off; 10 behind nginx with X-Request-Start], ADMISSION_RETRY_AFTER_SECONDS [5]
- REQUIRE_TWO_FACTOR_ROLES [official,admin]: no office or admin work without the second factor
- FORWARDED_ALLOW_IPS [127.0.0.1] (nginx's address: its X-Forwarded-Proto counts), GUNICORN_ACCESSLOG [off]
- the app's own settings as everywhere (README, "Configuration"): DATABASE_URL, BROKER_URL, SECRET_KEY (the same
  on every host), PUBLIC_URL (required: the links in mails), TRUSTED_HOSTS [PUBLIC_URL's host, localhost,
  127.0.0.1], ...; a benchmark over plain HTTP also needs SESSION_COOKIE_SECURE=0.

Why these numbers: a request does its work in one transaction of a few milliseconds to ~100 ms (a login costs an
argon2 hash, ~12 ms of CPU). One process per core (see `workers` below); 8 requests in the app per process keep a
core busy without building a queue, and stay below SQLAlchemy's pool (5 + 10 overflow). The threads are many
more than the bound: a thread is cheap, it picks up a request at once and either admits it or sheds it in a
millisecond (503 + Retry-After); the difference leaves room for bodies being received (read before a request
takes a slot) so that applicants uploading over a slow line do not hold up anyone else.
"""

import multiprocessing
import os
import shutil
import tempfile

_env = os.environ.setdefault
_env("ADMISSION_MAX_REQUESTS", "8")
_env("ADMISSION_MAX_LOGINS", "2")
_env("ADMISSION_POST_RESERVE", "2")
_env("ADMISSION_MAX_UPLOADS", "16")
_env("ADMISSION_BODY_TIMEOUT_SECONDS", "30")
_env("ADMISSION_RETRY_AFTER_SECONDS", "5")
_env("ADMISSION_LOGIN_WAIT_SECONDS", "0.5")
_env("ADMISSION_LOGIN_GATE_SECONDS", "0.5")
_env(
    "REQUIRE_TWO_FACTOR_ROLES", "official,admin"
)  # production: officials and admins log in with a second factor

wsgi_app = "foerdercall:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# One process per core: each runs Python under its own GIL, so a second process per core only adds contention.
# Measured on 2 cores (bench/README.md, stop 11): 2 processes instead of 4 carried 15 submissions/s with the final
# post's p99 at 206 ms instead of 414-500 ms, and at 100/s offered the slowest admitted request took 0.7 s instead
# of 1.5 s; the throughput was the same. The threads wait for PostgreSQL while another request runs.
workers = int(os.environ.get("WEB_WORKERS", str(min(8, multiprocessing.cpu_count()))))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "32"))
worker_connections = 1000
backlog = 512

# A worker that does not report for this long is restarted (a request never takes that long: one transaction).
timeout = 60
graceful_timeout = 30
keepalive = 5

# Request size limits: the request line, the number and size of header fields; bodies are bounded by the app
# (MAX_UPLOAD_MB → MAX_CONTENT_LENGTH, a 413 page) and by nginx's client_max_body_size.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "foerdercall-web"
# gunicorn's control socket (gunicornc) is not used; several servers on one host would share its default path.
control_socket_disable = True


# /metrics adds up the counts of every worker process: each writes them into this folder (prometheus_client's
# multiprocess mode), emptied when the server starts. Set before the app is imported anywhere.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"foerdercall-metrics-{bind[0].replace(':', '-').replace('/', '_')}"),
)


def on_starting(server):
    """Build the app once in the master before the workers start: a configuration error stops the start with
    its message, and what the app writes into the instance folder the first time (the compiled translations)
    exists before several workers would race on it. The metrics folder starts empty."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    from foerdercall import create_app

    create_app()


def child_exit(server, worker):
    """A worker that ended: its live gauges leave the metrics (its counts stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

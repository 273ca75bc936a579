"""The shipped production web server for the robustness tests: gunicorn with ``deploy/gunicorn.conf.py`` on a
PostgreSQL database of its own, on a free loopback port, and a plain HTTP client that measures each answer."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from conftest import PASSWORD, PG_ADMIN_URL, _migrate, _pg_available, require_service

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_database() -> str:
    """A fresh, migrated PostgreSQL database with one applicant account; returns its URL."""
    require_service("PostgreSQL", _pg_available())
    from sqlalchemy import create_engine, text

    from foerdercall import create_app
    from foerdercall.accounts.operations import create_user
    from foerdercall.extensions import db

    name = f"fc_robust_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t", "PUBLIC_URL": "http://127.0.0.1"})
    _migrate(app)
    with app.app_context():
        create_user("anna@example.org", "Anna", PASSWORD, roles=("applicant",))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


class Gunicorn:
    """``gunicorn -c deploy/gunicorn.conf.py`` as a subprocess; ``env`` overrides the shipped defaults."""

    def __init__(self, tmp: Path, database_url: str, **env: str):
        self.port = _free_port()
        self.log = tmp / "gunicorn.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BROKER_URL": "",
            "SECRET_KEY": "robustness-tests",
            "PUBLIC_URL": f"http://127.0.0.1:{self.port}",  # required outside the embedded default
            "SESSION_COOKIE_SECURE": "0",
            "FOERDERCALL_INSTANCE": str(tmp / "instance"),
            "UPLOAD_DIR": str(tmp / "uploads"),
            "OUTBOX_DIR": str(tmp / "outbox"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_WORKERS": "2",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(GUNICORN), "-c", str(CONFIG)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn stopped:\n" + self.log.read_text())
            try:
                if get(self.port, "/health").status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Answer:
    status: int
    seconds: float
    headers: dict
    body: str


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 30,
) -> Answer:
    """One request on a new connection; the time until the whole answer was read."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        return Answer(resp.status, time.monotonic() - t0, {k.lower(): v for k, v in resp.getheaders()}, text)
    finally:
        conn.close()


def get(port: int, path: str, **kw) -> Answer:
    return request(port, "GET", path, **kw)


def login_form(port: int) -> tuple[str, str]:
    """The session cookie and CSRF token of a fresh login page (asked again while the page is shed: 503, or
    429 while the login gate is shut)."""
    a = get(port, "/login")
    while a.status in (503, 429):
        time.sleep(0.1)
        a = get(port, "/login")
    cookie = a.headers["set-cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', a.body).group(1)
    return cookie, token

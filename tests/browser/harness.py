"""The browser tests' harness: the real server on loopback, Debian's Chromium driven by Playwright, and the
checks every page gets (axe-core, horizontal overflow at 360 px, translation keys, a screenshot).

Chromium is ``/usr/bin/chromium`` (apt package ``chromium``), never a browser Playwright downloads. Without it
the browser tests are skipped; under CI=true they fail. Screenshots go to ``tests/browser/screenshots/``
(git-ignored) so a person can look at every main page for every role.

Not a ``conftest.py``: the root ``tests/conftest.py`` is imported by name (``from conftest import ...``), and a
second ``conftest`` module would shadow it. Test modules load this file as a plugin (``pytest_plugins``), so
its fixtures exist once per session. PYTEST_DONT_REWRITE: the test modules import it before pytest loads it
as a plugin (its asserts carry their own messages).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

try:  # the dev extra; without it the browser fixture skips (fails under CI=true) instead of a collection error
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None
from conftest import PASSWORD, PG_ADMIN_URL, _pg_available, require_service

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SERVE = HERE / "serve.py"
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = os.environ.get("FOERDERCALL_CHROMIUM", "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}

# The demo's accounts (foerdercall/demo.py), all with the same password.
DEMO = {
    "admin": "admin@foerdercall.example",
    "ka": "ka@foerdercall.example",
    "ka2": "ka2@foerdercall.example",
    "afw": "afwifoe@foerdercall.example",
    "rev1": "reviewer1@foerdercall.example",
    "rev2": "reviewer2@foerdercall.example",
    "advisor": "advisor@foerdercall.example",
    "applicant": "applicant@foerdercall.example",
    "applicant2": "applicant2@foerdercall.example",
}


# --- Chromium -------------------------------------------------------------------------------------------


def _browser_problem() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright is not installed ({exc})"
    return None


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module (Playwright's sync API ends with the module: no event loop left behind)."""
    require_service("Chromium", _browser_problem())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def new_page(browser, server: Server, viewport=None):
    """A fresh browser context (its own cookies: one person) with one page, German, on the server."""
    ctx = browser.new_context(
        base_url=server.url, locale="de-DE", timezone_id="Europe/Berlin", viewport=viewport or DESKTOP
    )
    ctx.set_default_timeout(15_000)
    return ctx.new_page()


def login(browser, server: Server, email: str, password: str = PASSWORD, *, javascript: bool = True):
    if javascript:
        page = new_page(browser, server)
    else:  # the page as a browser without JavaScript gets it
        page = browser.new_context(base_url=server.url, locale="de-DE", java_script_enabled=False).new_page()
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")
    return page


def open_draft(page) -> None:
    """The person's draft on the demo call: the one they have, else a new one."""
    page.goto("/my")
    drafts = page.locator("main tr", has_text="Demo-Aufruf").locator("a[href$='/edit']")  # not another call's
    if drafts.count():
        drafts.first.click()
    else:
        page.goto("/calls")
        page.get_by_role("link", name="Demo-Aufruf").click()
        page.get_by_role("button", name="Angebot beginnen").click()
    page.wait_for_url("**/edit")


# --- the server -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``foerdercall serve`` as a subprocess on a free loopback port, with its own instance folder."""

    def __init__(self, tmp: Path, database_url: str = ""):
        self.tmp = tmp
        self.clock_file = tmp / "clock"
        self.clock_file.write_text("")
        self.log = tmp / "server.log"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FOERDERCALL_INSTANCE": str(tmp / "instance"),
            "FOERDERCALL_TEST_CLOCK_FILE": str(self.clock_file),
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": database_url,
            "PUBLIC_URL": self.url,  # the links in the mails (required with a DATABASE_URL)
            "BROKER_URL": "",
            # the tests move the server's clock by weeks while the browsers stay logged in
            "SESSION_LIFETIME_HOURS": str(24 * 365),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        self.proc: subprocess.Popen | None = None

    def run(self, *args: str) -> str:
        """Run a ``foerdercall`` command against the same database (demo, sweep)."""
        r = subprocess.run(
            [sys.executable, str(SERVE), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def start(self) -> Server:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(SERVE), "serve", "--port", str(self.port), "--no-worker"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server stopped:\n" + self.log.read_text())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if json.load(r).get("status") == "ok":
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def set_clock(self, moment: dt.datetime | None) -> None:
        """Move the server's (and its sweep's) clock; None: the real time again."""
        self.clock_file.write_text(moment.astimezone(dt.UTC).isoformat() if moment else "")

    def sweep(self) -> str:
        return self.run("sweep")


@pytest.fixture(scope="module")
def pg_database():
    """A fresh PostgreSQL database for one server (dropped afterwards)."""
    require_service("PostgreSQL", _pg_available())
    from sqlalchemy import create_engine, text

    name = f"fc_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """The demo (every role, calls in every state) served once for the tests that only look and draft."""
    yield from served(tmp_path_factory.mktemp("demo"))


def served(tmp: Path, database_url: str = "", demo: bool = True):
    """Generator for a fixture: the demo loaded (every role has an account), the server started."""
    server = Server(tmp, database_url)
    if demo:
        server.run("demo", "--password", PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- what every page is checked for ----------------------------------------------------------------------

AXE_JS = None
BLOCKING = ("serious", "critical")
# A translation key or template placeholder shown to a person: state/trigger/field keys like
# "in_review" or "field_of_action", unformatted "%(n)s", Jinja leftovers.
KEY_PATTERN = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|%\([a-z_]+\)s|\{\{|\}\}|\{%|\bNone\b|\bUndefined\b")


def _axe_source() -> str:
    global AXE_JS
    if AXE_JS is None:
        import axe_playwright_python

        AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    return AXE_JS


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA + best practice)."""
    page.evaluate(_axe_source())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


def screenshot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def check_page(page, name: str, axe: bool = True) -> None:
    """The checks for one page in one state; a screenshot at desktop width and at 360 px."""
    problems = []
    if axe:
        for v in axe_violations(page):
            problems.append(f"axe {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"][:5]))
    text = page.evaluate(
        "() => document.querySelector('main') ? document.querySelector('main').innerText"
        " + ' ' + document.title : document.body.innerText"
    )
    keys = sorted(set(m.group(0) for m in KEY_PATTERN.finditer(text)))
    if keys:
        problems.append(f"untranslated keys or placeholders shown: {keys}")
    screenshot(page, name)
    viewport = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""")
            problems.append(f"horizontal overflow at 360 px: scrollWidth {width[0]} > {width[1]}; {wide}")
        screenshot(page, name + "--360")
    finally:
        page.set_viewport_size(viewport)
    assert not problems, f"{name} ({page.url}):\n" + "\n".join(problems)

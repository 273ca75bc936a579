"""The transaction rules of CONTRIBUTING.md, checked on the source: operations flush and never commit (the
runners commit), and every session listener is registered in foerdercall/session_events.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The modules that commit: the runners, each owning its transactions.
RUNNERS = {
    "foerdercall/web.py": "the one commit per request",
    "foerdercall/cli.py": "a command line run is its own transaction",
    "foerdercall/demo.py": "loads the demo data, a command line run",
    "foerdercall/jobs/runner.py": "runs a bulk job step by step, a commit after each",
    "foerdercall/mail/delivery.py": "claim, send, record: each mail's claim must be visible to every other "
    "worker before its SMTP conversation starts, its record right after the server took it",
}


def _sources(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _calls(tree: ast.AST, *names: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names:
                yield node


def test_operations_never_commit():
    found = [
        f"{path}:{call.lineno}"
        for path, tree in _sources("foerdercall")
        if path not in RUNNERS
        for call in _calls(tree, "commit")
    ]
    assert found == [], "operations flush; the runner (worker/, jobs/runner.py, web.py, the CLI) commits"


def test_the_runners_that_commit_are_still_there():
    """The list above stays true: a runner that stopped committing leaves it."""
    for path in RUNNERS:
        tree = ast.parse((ROOT / path).read_text())
        assert list(_calls(tree, "commit")), path


def test_session_listeners_are_registered_in_one_module():
    found = [
        f"{path}:{call.lineno}"
        for path, tree in _sources("foerdercall", "worker")
        if path != "foerdercall/session_events.py"
        for call in _calls(tree, "listen", "listens_for")
        # the engine's own listeners (SQLite pragmas) are per engine
        if not (call.args and "engine" in ast.unparse(call.args[0]))
    ]
    assert found == [], "register session listeners in foerdercall/session_events.py"


def test_importing_every_module_attaches_no_session_listener():
    """Only session_events.register() (from create_app) attaches them, nothing at import time."""
    script = """
import importlib, pkgutil
from sqlalchemy.orm import Session
import foerdercall, worker
for pkg in (foerdercall, worker):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(m.name)
s = Session()
print(sorted(n for n in Session.dispatch._event_names if len(getattr(s.dispatch, n))))
from foerdercall.session_events import register
register()
s = Session()
print(sorted(n for n in Session.dispatch._event_names if len(getattr(s.dispatch, n))))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] != "[]"

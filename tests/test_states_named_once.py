"""A state's name is written once, in its workflow (``workflows/<name>.py``, ``class State``): the code compares
with the enum (``ProposalState.DRAFT``), and no template decides by a state at all (it asks the rulebook, or a
named group of states of the workflow)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from workflows import WORKFLOWS

ROOT = Path(__file__).resolve().parent.parent
STATE_NAMES = {str(s) for module in WORKFLOWS.values() for s in module.STATES}
# a line that is about a state (not a mail's status, whose words some states share)
ABOUT_A_STATE = re.compile(r"state|STATES", re.IGNORECASE)
NOT_A_STATE = re.compile(r"status|kind")


def _state_literals(path: Path):
    source = path.read_text()
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.STRING:
            continue
        try:
            value = ast.literal_eval(tok.string)
        except (ValueError, SyntaxError):
            continue
        line = lines[tok.start[0] - 1]
        if value in STATE_NAMES and ABOUT_A_STATE.search(line) and not NOT_A_STATE.search(line):
            yield f"{path.relative_to(ROOT)}:{tok.start[0]}: {line.strip()}"


def test_the_code_names_states_through_their_enum():
    found = [
        hit
        for folder in ("foerdercall", "worker")
        for p in sorted((ROOT / folder).rglob("*.py"))
        for hit in _state_literals(p)
    ]
    assert found == [], (
        "write the workflow's enum (workflows.ProposalState.DRAFT), not its name:\n" + "\n".join(found)
    )


# `p.state == 'draft'`, `r.state in ('awarded', …)`, `state != "x"` in a template
TEMPLATE_STATE_TEST = re.compile(r"\.state\s*(==|!=|in\b|not in\b)\s*\(?\s*['\"]")


def test_no_template_decides_by_a_state_name():
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in sorted((ROOT / "templates").rglob("*.html"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if TEMPLATE_STATE_TEST.search(line)
    ]
    assert found == [], "ask the rulebook (may, steps) or a named group of states instead:\n" + "\n".join(
        found
    )

"""A state's name is written once, in its workflow (``workflows/<name>.py``, ``class State``): the code compares
with the enum (``ProposalState.DRAFT``). That no template decides by a state is checked with the other rulebook
checks of the pages (tests/test_rulebook_use.py)."""

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

"""Pages ask the rulebook: no template decides what a user may do by a state, a role or an id of its own (it asks
``may``, ``refusal`` or ``steps``, or shows a named group of states the view or a row gives it), and no view
reads a posted field by hand (a WTForms form in forms/ does). One case per file, so that each file's hits are
listed on their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
VIEWS = sorted((ROOT / "foerdercall").glob("*/views.py"))

# What a template must not decide by (each with what to ask instead)
TEMPLATE_DECISIONS = {
    r"\.state\s*(==|!=|\bnot\s+in\b|\bin\b)": "a state compared: may()/steps(), or a named group of states",
    r"(select|reject)attr\(\s*['\"]state['\"]": "rows filtered by their state: a query or a named group",
    r"\b(is_applicant|officials_view)\b": "who the user is: may('proposal.own', p), may('proposal.read_assessment', p)",
    r"current_user\.(id|office)\s*(==|!=|\bnot\s+in\b|\bin\b)|(==|!=)\s*current_user\.id": "the user's id or "
    "office compared: a rule",
    r"\bhas_role\(": "a role tested: a rule (may('official.work'), …)",
}
# A posted field read by hand instead of through a form
VIEW_READS = r"request\.(form|files)(\.(get|getlist)\(|\[)"

# Display-only uses that stay, each with why: (file relative to the root, text on the line) -> reason. None yet:
# a page shows a state with state_label() or state_badge(), and groups of states through the view or its rows.
ALLOWED: dict[tuple[str, str], str] = {}


def _hits(path: Path, patterns: dict[str, str]) -> list[str]:
    found = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        for pattern, instead in patterns.items():
            if re.search(pattern, line) and not any(
                where == str(path.relative_to(ROOT)) and text in line for where, text in ALLOWED
            ):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:160]}  ({instead})")
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_template_asks_the_rulebook(path):
    hits = _hits(path, TEMPLATE_DECISIONS)
    assert not hits, "ask the rulebook instead:\n" + "\n".join(hits)


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_view_reads_posts_through_forms(path):
    hits = _hits(path, {VIEW_READS: "a field of its WTForms form"})
    assert not hits, "read posted fields through a form of forms/:\n" + "\n".join(hits)


def test_the_allow_list_names_lines_that_exist():
    for (where, text), reason in ALLOWED.items():
        assert reason and text in (ROOT / where).read_text(), (where, text)

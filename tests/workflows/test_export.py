"""The workflows are data: exported as JSON and Mermaid, and the README's diagrams are current."""

import json
import os
import pathlib
import subprocess
import sys

import workflows
from workflows import proposal

ROOT = pathlib.Path(__file__).resolve().parents[2]
STATES = [
    "draft",
    "submitted",
    "clarification",
    "eligible",
    "ineligible",
    "in_review",
    "reviewed",
    "approved",
    "standstill",
    "rejected",
    "awarded",
    "lapsed",
    "declined",
    "in_implementation",
    "final_report_submitted",
    "completed",
    "withdrawn",
    "terminated",
]


def cli(*args: str) -> str:
    exe = pathlib.Path(sys.executable).with_name("foerdercall")
    return subprocess.run(
        [str(exe), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "FOERDERCALL_INSTANCE": str(ROOT / "instance")},
    ).stdout


def test_proposal_machine_has_the_domain_states_and_every_transition_is_declared():
    assert list(proposal.STATES) == STATES
    for t in proposal.TRANSITIONS:
        assert set(t["source"]) <= set(STATES) and t["dest"] in STATES, t
        assert t["who"], f"{t['trigger']} names nobody who may fire it"
        assert len(t["label"]) == 2
    every_state_reachable = {proposal.INITIAL} | {t["dest"] for t in proposal.TRANSITIONS}
    assert every_state_reachable == set(STATES)


def test_json_export_from_the_cli():
    data = json.loads(cli("workflow", "show", "--format", "json"))
    assert data["name"] == "proposal"
    assert [s["name"] for s in data["states"]] == STATES
    submit = next(t for t in data["transitions"] if t["trigger"] == "submit")
    assert submit["who"] == ["applicant"] and "call_open_for_submission" in submit["conditions"]
    assert json.loads(cli("workflow", "show", "--format", "json", "--name", "call"))["initial"] == "draft"


def test_readme_diagrams_are_current():
    readme = (ROOT / "README.md").read_text()
    for name, module in workflows.WORKFLOWS.items():
        expected = f"<!-- workflow:{name} -->\n```mermaid\n{workflows.to_mermaid(module)}```\n<!-- /workflow:{name} -->"
        assert expected in readme, f"README's {name} diagram is stale: run scripts/update-readme-diagrams"
    assert cli("workflow", "show", "--format", "mermaid") == workflows.to_mermaid(proposal)

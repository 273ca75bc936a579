"""The state machines of foerdercall, as data.

Each module holds NAME, TABLE (the table whose ``state`` column the machine moves), INITIAL, STATE_LABELS
(German, English), STATES, TERMINAL and TRANSITIONS. A transition names who may fire it (``who``), the
conditions that must hold (``conditions``, names registered in ``foerdercall.policy.conditions``) and its
effects (``effects``, names registered by the domains' ``effects`` modules). ``part_of``: the transition
is never fired alone but moves the row along with the transition of the same name of the named workflow,
whose audit event records it (the final report with the proposal). Nothing here imports the ORM; the
models build their CHECK constraints from STATES (:func:`state_check`).

Actors: ``applicant`` (the applicant of the proposal the object is or belongs to), ``official`` (any
office), ``official:<key>`` (the officials of one office, by its key), ``system`` (the worker).
"""

from __future__ import annotations

import json

from . import (
    call,
    claim,
    drawdown,
    hold,
    indicator,
    milestone,
    objection,
    opening,
    payment,
    proposal,
    reasons,
    report,
    tie,
)

WORKFLOWS = {
    "proposal": proposal,
    "call": call,
    "opening": opening,
    "objection": objection,
    "milestone": milestone,
    "report": report,
    "payment": payment,
    "indicator": indicator,
    "tie": tie,
    "reasons": reasons,
    "hold": hold,
    "drawdown": drawdown,
    "claim": claim,
}
# Each workflow's states as an enum (a StrEnum: equal to the string stored in the ``state`` column).
CallState = call.State
IndicatorState = indicator.State
MilestoneState = milestone.State
ObjectionState = objection.State
OpeningState = opening.State
PaymentState = payment.State
ProposalState = proposal.State
ReportState = report.State
ReasonsState = reasons.State
HoldState = hold.State
DrawdownState = drawdown.State
ClaimState = claim.State
TieState = tie.State

# table -> workflow name: which machine moves a row's ``state`` (workflow_name)
BY_TABLE = {module.TABLE: name for name, module in WORKFLOWS.items()}


def state_check(module) -> str:
    """The SQL of the CHECK constraint that keeps a table's ``state`` among the workflow's states."""
    return "state IN (" + ", ".join(f"'{s}'" for s in module.STATES) + ")"


def workflow_name(obj) -> str:
    """The workflow of a row, by its table (each workflow names the table it runs on)."""
    return BY_TABLE[obj.__tablename__]


def transitions_of(name: str) -> list[dict]:
    return WORKFLOWS[name].TRANSITIONS


def find_transition(name: str, trigger: str) -> dict | None:
    return next((t for t in transitions_of(name) if t["trigger"] == trigger), None)


def machine_config(module) -> dict:
    """The machine for ``transitions``, with its states as plain strings (it would take an enum's member names)."""
    return {
        "states": [str(s) for s in module.STATES],
        "initial": str(module.INITIAL),
        "auto_transitions": False,
        "send_event": True,
        "transitions": [
            {"trigger": t["trigger"], "source": [str(s) for s in t["source"]], "dest": str(t["dest"])}
            for t in module.TRANSITIONS
        ],
    }


def to_json(module) -> str:
    return json.dumps(
        {
            "name": module.NAME,
            "table": module.TABLE,
            "initial": module.INITIAL,
            "states": [
                {"name": s, "label": {"de": module.STATE_LABELS[s][0], "en": module.STATE_LABELS[s][1]}}
                for s in module.STATES
            ],
            "transitions": [
                {
                    "trigger": t["trigger"],
                    "source": list(t["source"]),
                    "dest": t["dest"],
                    "who": list(t["who"]),
                    "conditions": list(t.get("conditions", ())),
                    "effects": list(t.get("effects", ())),
                    "reason_required": bool(t.get("reason_required")),
                    "label": {"de": t["label"][0], "en": t["label"][1]},
                    **({"part_of": t["part_of"]} if t.get("part_of") else {}),
                }
                for t in module.TRANSITIONS
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def to_mermaid(module) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {module.INITIAL}"]
    for t in module.TRANSITIONS:
        who = ", ".join(t["who"]) or f"with {t['part_of']}"
        for src in t["source"]:
            lines.append(f"    {src} --> {t['dest']}: {t['trigger']} ({who})")
    for s in module.TERMINAL:
        lines.append(f"    {s} --> [*]")
    return "\n".join(lines) + "\n"

"""The state machines of foerdercall, as data.

Each module holds STATES, TRANSITIONS and CONFIG (shaped like ``transitions.Machine(**CONFIG)``).
A transition names who may fire it (``who``), the conditions that must hold (``conditions``, names of
guards in ``foerdercall.workflow.guards``) and its effects (``effects``, names in
``foerdercall.workflow.effects``). Nothing here imports the ORM.

Actors: ``applicant`` (the proposal's own applicant), ``official`` (either office),
``official:KA`` / ``official:AfWiFoe`` (one office), ``system`` (the worker).
"""

from __future__ import annotations

import json

from . import call, proposal

WORKFLOWS = {"proposal": proposal, "call": call}


def workflow_name(obj) -> str:
    """The workflow of a row, by its table (each workflow names the table it runs on)."""
    return next(name for name, module in WORKFLOWS.items() if module.TABLE == obj.__tablename__)


def transitions_of(name: str) -> list[dict]:
    return WORKFLOWS[name].TRANSITIONS


def find_transition(name: str, trigger: str) -> dict | None:
    return next((t for t in transitions_of(name) if t["trigger"] == trigger), None)


def machine_config(module) -> dict:
    return {
        "states": list(module.STATES),
        "initial": module.INITIAL,
        "auto_transitions": False,
        "send_event": True,
        "transitions": [
            {"trigger": t["trigger"], "source": list(t["source"]), "dest": t["dest"]}
            for t in module.TRANSITIONS
        ],
    }


def to_json(module) -> str:
    return json.dumps(
        {
            "name": module.NAME,
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
        who = ", ".join(t["who"])
        for src in t["source"]:
            lines.append(f"    {src} --> {t['dest']}: {t['trigger']} ({who})")
    for s in module.TERMINAL:
        lines.append(f"    {s} --> [*]")
    return "\n".join(lines) + "\n"

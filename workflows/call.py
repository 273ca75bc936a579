"""The call (Aufruf) workflow of DOMAIN.md."""

from enum import StrEnum, auto

NAME = "call"
TABLE = "calls"


class State(StrEnum):
    """The call workflow's states: each name is written here once (its value is the name in lower case)."""

    DRAFT = auto()
    PUBLISHED = auto()
    CLOSED = auto()
    DECIDED = auto()
    IN_IMPLEMENTATION = auto()
    ARCHIVED = auto()


INITIAL = State.DRAFT


STATE_LABELS = {
    State.DRAFT: ("Entwurf", "Draft"),
    State.PUBLISHED: ("Veröffentlicht", "Published"),
    State.CLOSED: ("Einreichungsfrist beendet", "Closed"),
    State.DECIDED: ("Entschieden", "Decided"),
    State.IN_IMPLEMENTATION: ("In Umsetzung", "In implementation"),
    State.ARCHIVED: ("Archiviert", "Archived"),
}
STATES = tuple(State)
TERMINAL = (State.ARCHIVED,)

TRANSITIONS: list[dict] = [
    {
        "trigger": "publish",
        "source": (State.DRAFT,),
        "dest": State.PUBLISHED,
        "who": ("official",),
        "conditions": ("publication_checklist",),  # every point of foerdercall/policy/checklist.py
        "effects": ("snapshot_version",),
        "label": ("Veröffentlichen", "Publish"),
    },
    {
        "trigger": "close",
        "source": (State.PUBLISHED,),
        "dest": State.CLOSED,
        "who": ("system", "official"),
        "conditions": ("deadline_passed",),
        "effects": ("mark_closed",),
        "label": ("Einreichung schließen", "Close submissions"),
    },
    {
        "trigger": "decide",
        "source": (State.CLOSED,),
        "dest": State.DECIDED,
        "who": ("official",),
        "conditions": ("all_proposals_decided",),
        "effects": (),
        "label": ("Auswahl abschließen", "Conclude the selection"),
    },
    {
        "trigger": "start_implementation",
        "source": (State.DECIDED,),
        "dest": State.IN_IMPLEMENTATION,
        "who": ("official",),
        "conditions": (),
        "effects": (),
        "label": ("Umsetzungsphase beginnen", "Start implementation"),
    },
    {
        "trigger": "archive",
        "source": (State.IN_IMPLEMENTATION, State.DECIDED),
        "dest": State.ARCHIVED,
        "who": ("official",),
        "conditions": ("all_measures_finished",),
        "effects": (),
        "label": ("Archivieren", "Archive"),
    },
]

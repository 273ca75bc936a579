"""An objection (Einwand, Rüge) during a proposal's standstill, on its Standstill row: recorded by an official
before the period ends, it holds the award until an official resolves it, with its outcome (``dismissed``:
the award may go ahead after the period; ``upheld``: the proposal's ``reopen_decision`` follows). After a
dismissed objection another one may come while the period runs."""

from enum import StrEnum, auto

NAME = "objection"
TABLE = "standstills"


class State(StrEnum):
    """The objection workflow's states: each name is written here once (its value is the name in lower case)."""

    NO_OBJECTION = auto()
    OPEN = auto()
    RESOLVED = auto()


INITIAL = State.NO_OBJECTION


STATE_LABELS = {
    State.NO_OBJECTION: ("Kein Einwand", "No objection"),
    State.OPEN: ("Einwand offen", "Objection open"),
    State.RESOLVED: ("Einwand erledigt", "Objection resolved"),
}
STATES = tuple(State)
TERMINAL = ()
OUTCOMES = ("dismissed", "upheld")

TRANSITIONS = [
    {
        "trigger": "record_objection",
        "source": (State.NO_OBJECTION, State.RESOLVED),
        "dest": State.OPEN,
        "who": ("official",),
        "conditions": ("standstill_running",),
        "effects": ("note_objection",),
        "reason_required": True,  # the objection as received
        "label": ("Einwand erfasst (Stillhaltefrist)", "Objection recorded (standstill)"),
    },
    {
        "trigger": "resolve_objection",
        "source": (State.OPEN,),
        "dest": State.RESOLVED,
        "who": ("official",),
        "conditions": ("objection_outcome_chosen",),
        "effects": ("note_resolution",),
        "reason_required": True,  # the result of the examination
        "label": ("Einwand erledigt", "Objection resolved"),
    },
]

"""A legal hold (Rechtsvorbehalt, e.g. a lawsuit or an audit under way) on a proposal's record: while it holds,
the worker neither anonymises nor deletes anything of the record, whatever its retention end. Placed and lifted
by an official, each with a reason; a new hold after a lifted one is a new row. The row is made by its placing."""

from enum import StrEnum, auto

NAME = "hold"
TABLE = "legal_holds"


class State(StrEnum):
    """The hold workflow's states: each name is written here once (its value is the name in lower case)."""

    NONE = auto()
    HELD = auto()
    LIFTED = auto()


INITIAL = State.NONE

STATE_LABELS = {
    State.NONE: ("Kein Vorbehalt", "No hold"),
    State.HELD: ("Aufbewahrung angeordnet (Rechtsvorbehalt)", "On legal hold"),
    State.LIFTED: ("Vorbehalt aufgehoben", "Hold lifted"),
}
STATES = tuple(State)
TERMINAL = (State.LIFTED,)

TRANSITIONS = [
    {
        "trigger": "place_hold",
        "source": (State.NONE,),
        "dest": State.HELD,
        "who": ("official",),
        "conditions": ("not_on_hold",),
        "effects": (),
        "reason_required": True,
        "label": ("Aufbewahrung angeordnet (Rechtsvorbehalt)", "Legal hold placed"),
    },
    {
        "trigger": "lift_hold",
        "source": (State.HELD,),
        "dest": State.LIFTED,
        "who": ("official",),
        "conditions": (),
        "effects": ("note_hold_lifted",),
        "reason_required": True,
        "label": ("Rechtsvorbehalt aufgehoben", "Legal hold lifted"),
    },
]

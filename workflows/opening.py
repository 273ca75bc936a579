"""The opening of a call's sealed submissions (Öffnung, procurement): one official requests it after the
deadline, a second one confirms it, and the opening record (Öffnungsniederschrift) is written.

The row is made by its first transition (``fire`` on a new Opening): it is never stored as ``sealed``."""

from enum import StrEnum, auto

NAME = "opening"
TABLE = "openings"


class State(StrEnum):
    """The opening workflow's states: each name is written here once (its value is the name in lower case)."""

    SEALED = auto()
    REQUESTED = auto()
    OPENED = auto()


INITIAL = State.SEALED


STATE_LABELS = {
    State.SEALED: ("Verschlossen", "Sealed"),
    State.REQUESTED: ("Öffnung angestoßen", "Opening requested"),
    State.OPENED: ("Geöffnet", "Opened"),
}
STATES = tuple(State)
TERMINAL = (State.OPENED,)

TRANSITIONS = [
    {
        "trigger": "request_opening",
        "source": (State.SEALED,),
        "dest": State.REQUESTED,
        "who": ("official",),
        "conditions": ("call_closed_for_opening", "extended_deadlines_passed"),
        "effects": ("note_opening_request",),
        "label": ("Öffnung angestoßen", "Opening requested"),
    },
    {
        # the two-person rule: another official than the one who requested it
        "trigger": "confirm_opening",
        "source": (State.REQUESTED,),
        "dest": State.OPENED,
        "who": ("official",),
        "conditions": ("confirmed_by_another_official",),
        "effects": ("write_opening_record",),
        "label": ("Öffnung bestätigt", "Opening confirmed"),
    },
]

"""An achieved value of one of the call's indicators for one measure (issue 15): reported with the interim or the
final report (or sent by a survey tool through the API), then confirmed by an official, or corrected with a
reason. The value the measure counts with is the corrected one where there is one (outcomes.queries).

The row is made as ``reported`` (with its report, whose event lists the values): a new row, not a state change."""

from enum import StrEnum, auto

NAME = "indicator"
TABLE = "indicator_values"


class State(StrEnum):
    """The indicator value workflow's states: each name is written here once (its value is the name in lower case)."""

    REPORTED = auto()
    CONFIRMED = auto()
    CORRECTED = auto()


INITIAL = State.REPORTED


STATE_LABELS = {
    State.REPORTED: ("Gemeldet", "Reported"),
    State.CONFIRMED: ("Bestätigt", "Confirmed"),
    State.CORRECTED: ("Berichtigt", "Corrected"),
}
STATES = tuple(State)
TERMINAL = (State.CONFIRMED, State.CORRECTED)

TRANSITIONS = [
    {
        "trigger": "confirm_value",
        "source": (State.REPORTED,),
        "dest": State.CONFIRMED,
        "who": ("official",),
        "conditions": ("measure_awarded",),
        "effects": ("note_value_review",),
        "label": ("Wert bestätigt", "Value confirmed"),
    },
    {
        "trigger": "correct_value",
        "source": (State.REPORTED, State.CONFIRMED, State.CORRECTED),
        "dest": State.CORRECTED,
        "who": ("official",),
        "conditions": ("measure_awarded",),
        "effects": ("note_value_review",),
        "reason_required": True,
        "label": ("Wert berichtigt", "Value corrected"),
    },
]

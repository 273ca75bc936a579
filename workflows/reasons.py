"""An unsuccessful applicant's request for the reasons of the decision (Mitteilung der Gründe auf Antrag, as § 46
UVgO): asked within the period the rejection or exclusion notice names (the call's ``reasons_request_days``),
answered by an official in the app, the answer sent to the applicant. Both are audited and appear in the
Vergabevermerk. The row is made by the request."""

from enum import StrEnum, auto

NAME = "reasons"
TABLE = "reason_requests"


class State(StrEnum):
    """The reasons workflow's states: each name is written here once (its value is the name in lower case)."""

    NOT_ASKED = auto()
    REQUESTED = auto()
    ANSWERED = auto()


INITIAL = State.NOT_ASKED

STATE_LABELS = {
    State.NOT_ASKED: ("Nicht angefragt", "Not asked"),
    State.REQUESTED: ("Gründe angefragt", "Reasons requested"),
    State.ANSWERED: ("Gründe mitgeteilt", "Reasons given"),
}
STATES = tuple(State)
TERMINAL = (State.ANSWERED,)
ANSWER_DAYS = (
    15  # calendar days the office has for its answer (§ 46 Abs. 1 UVgO: "spätestens innerhalb von 15 Tagen")
)

TRANSITIONS = [
    {
        "trigger": "request_reasons",
        "source": (State.NOT_ASKED,),
        "dest": State.REQUESTED,
        "who": ("applicant",),
        "conditions": ("reasons_period_open",),
        "effects": ("mail_reasons_requested",),
        "label": ("Gründe angefragt", "Reasons requested"),
    },
    {
        "trigger": "answer_reasons",
        "source": (State.REQUESTED,),
        "dest": State.ANSWERED,
        "who": ("official",),
        "conditions": (),
        "effects": ("note_reasons_answer", "mail_reasons_answered"),
        "reason_required": True,  # the answer, sent to the applicant
        "label": ("Gründe mitgeteilt", "Reasons given"),
    },
]

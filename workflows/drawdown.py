"""A drawdown (Mittelabruf) of a grant: the recipient requests money against the approved grant (and its cost
plan) while the measure runs; an official pays it (the payment is booked with it, within the award) or refuses
it with a reason. The row is made by the request."""

from enum import StrEnum, auto

NAME = "drawdown"
TABLE = "drawdowns"


class State(StrEnum):
    """The drawdown workflow's states: each name is written here once (its value is the name in lower case)."""

    NEW = auto()
    REQUESTED = auto()
    PAID = auto()
    REFUSED = auto()


INITIAL = State.NEW

STATE_LABELS = {
    State.NEW: ("Neu", "New"),
    State.REQUESTED: ("Angefordert", "Requested"),
    State.PAID: ("Ausgezahlt", "Paid"),
    State.REFUSED: ("Abgelehnt", "Refused"),
}
STATES = tuple(State)
TERMINAL = (State.PAID, State.REFUSED)

TRANSITIONS = [
    {
        "trigger": "request_drawdown",
        "source": (State.NEW,),
        "dest": State.REQUESTED,
        "who": ("applicant",),
        "conditions": ("grant_measure_running", "drawdown_within_award"),
        "effects": ("mail_drawdown_requested",),
        "label": ("Mittel abgerufen", "Drawdown requested"),
    },
    {
        "trigger": "pay_drawdown",
        "source": (State.REQUESTED,),
        "dest": State.PAID,
        "who": ("official",),
        "conditions": ("drawdown_within_award",),
        "effects": ("book_drawdown", "mail_drawdown_decided"),
        "label": ("Mittelabruf ausgezahlt", "Drawdown paid"),
    },
    {
        "trigger": "refuse_drawdown",
        "source": (State.REQUESTED,),
        "dest": State.REFUSED,
        "who": ("official",),
        "conditions": (),
        "effects": ("note_drawdown_refusal", "mail_drawdown_decided"),
        "reason_required": True,
        "label": ("Mittelabruf abgelehnt", "Drawdown refused"),
    },
]

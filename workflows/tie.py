"""A tie in a call's ranking that its published tie-break criteria leave open, where it decides who is funded
(DOMAIN.md: "then a recorded decision of both offices, lots only if announced").

Either an official of a deciding office proposes an order with a reason, and each other deciding office agrees
(the last agreement resolves it; another office may refuse it, with a reason, and a new proposal follows); or,
when the call announced lots, an official draws them in the app (the seed is recorded, the order follows from
it) and a second official witnesses the draw. A draw is never repeated. The row is made by its first step."""

from enum import StrEnum, auto

NAME = "tie"
TABLE = "tie_breaks"


class State(StrEnum):
    """The tie workflow's states: each name is written here once (its value is the name in lower case)."""

    OPEN = auto()
    PROPOSED = auto()
    RESOLVED = auto()
    REFUSED = auto()


INITIAL = State.OPEN

STATE_LABELS = {
    State.OPEN: ("Offen", "Open"),
    State.PROPOSED: ("Zur Zustimmung", "Awaiting agreement"),
    State.RESOLVED: ("Entschieden", "Resolved"),
    State.REFUSED: ("Nicht zugestimmt", "Refused"),
}
STATES = tuple(State)
TERMINAL = (State.RESOLVED, State.REFUSED)
METHODS = ("decision", "lot")

TRANSITIONS = [
    {
        "trigger": "propose_tie_order",
        "source": (State.OPEN,),
        "dest": State.PROPOSED,
        "who": ("official",),
        "conditions": ("tie_still_open", "tie_decider"),
        "effects": ("sign_tie",),
        "reason_required": True,
        "label": ("Reihenfolge bei Gleichstand vorgeschlagen", "Order of a tie proposed"),
    },
    {
        "trigger": "draw_lots",
        "source": (State.OPEN,),
        "dest": State.PROPOSED,
        "who": ("official",),
        "conditions": ("tie_still_open", "lots_announced", "tie_decider"),
        "effects": ("cast_lots",),
        "label": ("Los gezogen", "Lots drawn"),
    },
    {
        # the last deciding office agrees to a proposed order, or a second official witnessed the draw
        "trigger": "resolve_tie",
        "source": (State.PROPOSED,),
        "dest": State.RESOLVED,
        "who": ("official",),
        "conditions": ("tie_still_open", "tie_decider", "tie_agreed"),
        "effects": ("sign_tie",),
        "label": ("Gleichstand entschieden", "Tie resolved"),
    },
    {
        "trigger": "refuse_tie_order",
        "source": (State.PROPOSED,),
        "dest": State.REFUSED,
        "who": ("official",),
        "conditions": ("tie_order_refusable", "tie_decider"),
        "effects": (),
        "reason_required": True,
        "label": ("Reihenfolge bei Gleichstand nicht zugestimmt", "Order of a tie refused"),
    },
]

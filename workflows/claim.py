"""A claim back (Rückforderung) on an award: an official claims money back, with the reason (a proof of use that
shows less spent than paid, a breach of the conditions); when the recipient has repaid it, an official records
the repayment and the money returns to the call's budget. The row is made by the claim."""

from enum import StrEnum, auto

NAME = "claim"
TABLE = "claims"


class State(StrEnum):
    """The claim workflow's states: each name is written here once (its value is the name in lower case)."""

    NEW = auto()
    CLAIMED = auto()
    REPAID = auto()


INITIAL = State.NEW

STATE_LABELS = {
    State.NEW: ("Neu", "New"),
    State.CLAIMED: ("Zurückgefordert", "Claimed back"),
    State.REPAID: ("Zurückgezahlt", "Repaid"),
}
STATES = tuple(State)
TERMINAL = (State.REPAID,)

TRANSITIONS = [
    {
        "trigger": "claim_back",
        "source": (State.NEW,),
        "dest": State.CLAIMED,
        "who": ("official",),
        "conditions": ("measure_reported_or_over", "claim_within_paid"),
        "effects": ("mail_claim",),
        "reason_required": True,
        "label": ("Rückforderung erhoben", "Money claimed back"),
    },
    {
        "trigger": "record_repayment",
        "source": (State.CLAIMED,),
        "dest": State.REPAID,
        "who": ("official",),
        "conditions": ("claim_within_paid",),
        "effects": ("return_claim",),
        "label": ("Rückzahlung eingegangen", "Repayment received"),
    },
]

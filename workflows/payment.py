"""A payment on an award: entered ``pending``, booked as ``paid`` by ``record_payment`` (today one operation
does both: the row is made by this transition and never stored as pending). Only paid payments count toward
the paid amount. Payment requests (entered by the contractor, paid or cancelled by an official) extend this."""

from enum import StrEnum, auto

NAME = "payment"
TABLE = "payments"


class State(StrEnum):
    """The payment workflow's states: each name is written here once (its value is the name in lower case)."""

    PENDING = auto()
    PAID = auto()


INITIAL = State.PENDING


STATE_LABELS = {
    State.PENDING: ("Vorgemerkt", "Pending"),
    State.PAID: ("Gezahlt", "Paid"),
}
STATES = tuple(State)
TERMINAL = (State.PAID,)

TRANSITIONS = [
    {
        "trigger": "record_payment",
        "source": (State.PENDING,),
        "dest": State.PAID,
        "who": ("official",),
        "conditions": ("measure_payable", "payment_amount_positive", "payment_within_award", "tranche_due"),
        "effects": ("note_payment",),
        "label": ("Zahlung erfasst", "Payment recorded"),
    },
]

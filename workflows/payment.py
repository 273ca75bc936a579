"""A payment on an award: entered ``pending``, booked as ``paid`` by ``record_payment`` (today one operation
does both: the row is made by this transition and never stored as pending). Only paid payments count toward
the paid amount. Payment requests (entered by the contractor, paid or cancelled by an official) extend this."""

NAME = "payment"
TABLE = "payments"
INITIAL = "pending"

STATE_LABELS = {
    "pending": ("Vorgemerkt", "Pending"),
    "paid": ("Gezahlt", "Paid"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ("paid",)

TRANSITIONS = [
    {
        "trigger": "record_payment",
        "source": ("pending",),
        "dest": "paid",
        "who": ("official",),
        "conditions": ("measure_payable", "payment_amount_positive", "payment_within_award"),
        "effects": ("note_payment",),
        "label": ("Zahlung erfasst", "Payment recorded"),
    },
]

"""An objection (Einwand, Rüge) during a proposal's standstill, on its Standstill row: recorded by an official
before the period ends, it holds the award until an official resolves it, with its outcome (``dismissed``:
the award may go ahead after the period; ``upheld``: the proposal's ``reopen_decision`` follows). After a
dismissed objection another one may come while the period runs."""

NAME = "objection"
TABLE = "standstills"
INITIAL = "no_objection"

STATE_LABELS = {
    "no_objection": ("Kein Einwand", "No objection"),
    "open": ("Einwand offen", "Objection open"),
    "resolved": ("Einwand erledigt", "Objection resolved"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ()
OUTCOMES = ("dismissed", "upheld")

TRANSITIONS = [
    {
        "trigger": "record_objection",
        "source": ("no_objection", "resolved"),
        "dest": "open",
        "who": ("official",),
        "conditions": ("standstill_running",),
        "effects": ("note_objection",),
        "reason_required": True,  # the objection as received
        "label": ("Einwand erfasst (Stillhaltefrist)", "Objection recorded (standstill)"),
    },
    {
        "trigger": "resolve_objection",
        "source": ("open",),
        "dest": "resolved",
        "who": ("official",),
        "conditions": ("objection_outcome_chosen",),
        "effects": ("note_resolution",),
        "reason_required": True,  # the result of the examination
        "label": ("Einwand erledigt", "Objection resolved"),
    },
]

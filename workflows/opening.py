"""The opening of a call's sealed submissions (Öffnung, procurement): one official requests it after the
deadline, a second one confirms it, and the opening record (Öffnungsniederschrift) is written.

The row is made by its first transition (``fire`` on a new Opening): it is never stored as ``sealed``."""

NAME = "opening"
TABLE = "openings"
INITIAL = "sealed"

STATE_LABELS = {
    "sealed": ("Verschlossen", "Sealed"),
    "requested": ("Öffnung angestoßen", "Opening requested"),
    "opened": ("Geöffnet", "Opened"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ("opened",)

TRANSITIONS = [
    {
        "trigger": "request_opening",
        "source": ("sealed",),
        "dest": "requested",
        "who": ("official",),
        "conditions": ("call_closed_for_opening", "extended_deadlines_passed"),
        "effects": ("note_opening_request",),
        "label": ("Öffnung angestoßen", "Opening requested"),
    },
    {
        # the two-person rule: another official than the one who requested it
        "trigger": "confirm_opening",
        "source": ("requested",),
        "dest": "opened",
        "who": ("official",),
        "conditions": ("confirmed_by_another_official",),
        "effects": ("write_opening_record",),
        "label": ("Öffnung bestätigt", "Opening confirmed"),
    },
]

"""The call (Aufruf) workflow of DOMAIN.md."""

NAME = "call"
TABLE = "calls"
INITIAL = "draft"

STATE_LABELS = {
    "draft": ("Entwurf", "Draft"),
    "published": ("Veröffentlicht", "Published"),
    "closed": ("Einreichungsfrist beendet", "Closed"),
    "decided": ("Entschieden", "Decided"),
    "in_implementation": ("In Umsetzung", "In implementation"),
    "archived": ("Archiviert", "Archived"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ("archived",)

TRANSITIONS: list[dict] = [
    {
        "trigger": "publish",
        "source": ("draft",),
        "dest": "published",
        "who": ("official",),
        "conditions": ("catalogue_complete", "deadline_in_future", "below_eu_threshold"),
        "effects": ("snapshot_version",),
        "label": ("Veröffentlichen", "Publish"),
    },
    {
        "trigger": "close",
        "source": ("published",),
        "dest": "closed",
        "who": ("system", "official"),
        "conditions": ("deadline_passed",),
        "effects": ("mark_closed",),
        "label": ("Einreichung schließen", "Close submissions"),
    },
    {
        "trigger": "decide",
        "source": ("closed",),
        "dest": "decided",
        "who": ("official",),
        "conditions": ("all_proposals_decided",),
        "effects": (),
        "label": ("Auswahl abschließen", "Conclude the selection"),
    },
    {
        "trigger": "start_implementation",
        "source": ("decided",),
        "dest": "in_implementation",
        "who": ("official",),
        "conditions": (),
        "effects": (),
        "label": ("Umsetzungsphase beginnen", "Start implementation"),
    },
    {
        "trigger": "archive",
        "source": ("in_implementation", "decided"),
        "dest": "archived",
        "who": ("official",),
        "conditions": ("all_measures_finished",),
        "effects": (),
        "label": ("Archivieren", "Archive"),
    },
]

"""A milestone of a measure in implementation: planned (from the award's acceptance, or added by an
official), reported by the contractor (a report may be corrected until it is accepted), accepted by an
official. One not reported by its due date is marked overdue by the worker."""

NAME = "milestone"
TABLE = "milestones"
INITIAL = "planned"

STATE_LABELS = {
    "planned": ("Geplant", "Planned"),
    "overdue": ("Überfällig", "Overdue"),
    "reported": ("Berichtet", "Reported"),
    "accepted": ("Abgenommen", "Accepted"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ("accepted",)

TRANSITIONS = [
    {
        "trigger": "report_milestone",
        "source": ("planned", "overdue", "reported"),
        "dest": "reported",
        "who": ("applicant",),
        "conditions": ("measure_in_implementation",),
        "effects": ("note_milestone_report",),
        "label": ("Meilenstein berichtet", "Milestone reported"),
    },
    {
        "trigger": "accept_milestone",
        "source": ("reported",),
        "dest": "accepted",
        "who": ("official",),
        "conditions": ("measure_in_implementation",),
        "effects": ("note_milestone_acceptance",),
        "label": ("Meilenstein abgenommen", "Milestone accepted"),
    },
    {
        "trigger": "milestone_overdue",
        "source": ("planned",),
        "dest": "overdue",
        "who": ("system",),
        "conditions": ("measure_in_implementation", "milestone_due_passed"),
        "effects": ("note_milestone_overdue",),
        "label": ("Meilenstein überfällig", "Milestone overdue"),
    },
]

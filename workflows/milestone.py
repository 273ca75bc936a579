"""A milestone of a measure in implementation: planned (from the award's acceptance, or added by an
official), reported by the contractor (a report may be corrected until it is accepted), accepted by an
official. One not reported by its due date is marked overdue by the worker."""

from enum import StrEnum, auto

NAME = "milestone"
TABLE = "milestones"


class State(StrEnum):
    """The milestone workflow's states: each name is written here once (its value is the name in lower case)."""

    PLANNED = auto()
    OVERDUE = auto()
    REPORTED = auto()
    ACCEPTED = auto()


INITIAL = State.PLANNED


STATE_LABELS = {
    State.PLANNED: ("Geplant", "Planned"),
    State.OVERDUE: ("Überfällig", "Overdue"),
    State.REPORTED: ("Berichtet", "Reported"),
    State.ACCEPTED: ("Abgenommen", "Accepted"),
}
STATES = tuple(State)
TERMINAL = (State.ACCEPTED,)

TRANSITIONS = [
    {
        "trigger": "report_milestone",
        "source": (State.PLANNED, State.OVERDUE, State.REPORTED),
        "dest": State.REPORTED,
        "who": ("applicant",),
        "conditions": ("measure_in_implementation",),
        "effects": ("note_milestone_report", "mail_milestone_reported"),
        "label": ("Meilenstein berichtet", "Milestone reported"),
    },
    {
        "trigger": "accept_milestone",
        "source": (State.REPORTED,),
        "dest": State.ACCEPTED,
        "who": ("official",),
        "conditions": ("measure_in_implementation",),
        "effects": ("note_milestone_acceptance",),
        "label": ("Meilenstein abgenommen", "Milestone accepted"),
    },
    {
        "trigger": "milestone_overdue",
        "source": (State.PLANNED,),
        "dest": State.OVERDUE,
        "who": ("system",),
        "conditions": ("measure_in_implementation", "milestone_due_passed"),
        "effects": ("note_milestone_overdue",),
        "label": ("Meilenstein überfällig", "Milestone overdue"),
    },
]

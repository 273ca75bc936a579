"""A report of a measure (Sachbericht, use of funds): the interim report, submitted by the contractor and
accepted or returned by an official; and the final report, which moves with the proposal's transitions
(``part_of``: submit_final_report, accept_final_report, request_report_changes record it in their event).

The row is made by its submission (``fire`` on a new Report): it is never stored as ``draft``."""

from enum import StrEnum, auto

NAME = "report"
TABLE = "reports"


class State(StrEnum):
    """The report workflow's states: each name is written here once (its value is the name in lower case)."""

    DRAFT = auto()
    SUBMITTED = auto()
    ACCEPTED = auto()
    CHANGES_REQUESTED = auto()


INITIAL = State.DRAFT


STATE_LABELS = {
    State.DRAFT: ("Entwurf", "Draft"),
    State.SUBMITTED: ("Eingereicht", "Submitted"),
    State.ACCEPTED: ("Abgenommen", "Accepted"),
    State.CHANGES_REQUESTED: ("Nachbesserung angefordert", "Changes requested"),
}
STATES = tuple(State)
TERMINAL = (State.ACCEPTED, State.CHANGES_REQUESTED)

TRANSITIONS = [
    {
        "trigger": "submit_interim_report",
        "source": (State.DRAFT,),
        "dest": State.SUBMITTED,
        "who": ("applicant",),
        "conditions": ("measure_in_implementation", "no_interim_report_in"),
        "effects": ("note_report_submission", "mail_interim_report_submitted"),
        "label": ("Zwischenbericht eingereicht", "Interim report submitted"),
    },
    {
        "trigger": "accept_interim_report",
        "source": (State.SUBMITTED,),
        "dest": State.ACCEPTED,
        "who": ("official",),
        "conditions": ("is_interim_report", "measure_in_implementation"),
        "effects": ("note_report_review",),
        "label": ("Zwischenbericht abgenommen", "Interim report accepted"),
    },
    {
        "trigger": "return_interim_report",
        "source": (State.SUBMITTED,),
        "dest": State.CHANGES_REQUESTED,
        "who": ("official",),
        "conditions": ("is_interim_report", "measure_in_implementation"),
        "effects": ("note_report_review",),
        "reason_required": True,
        "label": ("Zwischenbericht: Nachbesserung", "Interim report returned"),
    },
    # the final report: moved by the proposal's transition of the same name (engine.follow), never fired alone
    {
        "trigger": "submit_final_report",
        "source": (State.DRAFT,),
        "dest": State.SUBMITTED,
        "who": (),
        "part_of": "proposal",
        "label": ("Abschlussbericht eingereicht", "Final report submitted"),
    },
    {
        "trigger": "accept_final_report",
        "source": (State.SUBMITTED,),
        "dest": State.ACCEPTED,
        "who": (),
        "part_of": "proposal",
        "label": ("Abschlussbericht abgenommen", "Final report accepted"),
    },
    {
        "trigger": "request_report_changes",
        "source": (State.SUBMITTED,),
        "dest": State.CHANGES_REQUESTED,
        "who": (),
        "part_of": "proposal",
        "label": ("Abschlussbericht: Nachbesserung", "Final report returned"),
    },
]

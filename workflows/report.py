"""A report of a measure (Sachbericht, use of funds): the interim report, submitted by the contractor and
accepted or returned by an official; and the final report, which moves with the proposal's transitions
(``part_of``: submit_final_report, accept_final_report, request_report_changes record it in their event).

The row is made by its submission (``fire`` on a new Report): it is never stored as ``draft``."""

NAME = "report"
TABLE = "reports"
INITIAL = "draft"

STATE_LABELS = {
    "draft": ("Entwurf", "Draft"),
    "submitted": ("Eingereicht", "Submitted"),
    "accepted": ("Abgenommen", "Accepted"),
    "changes_requested": ("Nachbesserung angefordert", "Changes requested"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ("accepted", "changes_requested")

TRANSITIONS = [
    {
        "trigger": "submit_interim_report",
        "source": ("draft",),
        "dest": "submitted",
        "who": ("applicant",),
        "conditions": ("measure_in_implementation", "no_interim_report_in"),
        "effects": ("note_report_submission",),
        "label": ("Zwischenbericht eingereicht", "Interim report submitted"),
    },
    {
        "trigger": "accept_interim_report",
        "source": ("submitted",),
        "dest": "accepted",
        "who": ("official",),
        "conditions": ("is_interim_report", "measure_in_implementation"),
        "effects": ("note_report_review",),
        "label": ("Zwischenbericht abgenommen", "Interim report accepted"),
    },
    {
        "trigger": "return_interim_report",
        "source": ("submitted",),
        "dest": "changes_requested",
        "who": ("official",),
        "conditions": ("is_interim_report", "measure_in_implementation"),
        "effects": ("note_report_review",),
        "reason_required": True,
        "label": ("Zwischenbericht: Nachbesserung", "Interim report returned"),
    },
    # the final report: moved by the proposal's transition of the same name (engine.follow), never fired alone
    {
        "trigger": "submit_final_report",
        "source": ("draft",),
        "dest": "submitted",
        "who": (),
        "part_of": "proposal",
        "label": ("Abschlussbericht eingereicht", "Final report submitted"),
    },
    {
        "trigger": "accept_final_report",
        "source": ("submitted",),
        "dest": "accepted",
        "who": (),
        "part_of": "proposal",
        "label": ("Abschlussbericht abgenommen", "Final report accepted"),
    },
    {
        "trigger": "request_report_changes",
        "source": ("submitted",),
        "dest": "changes_requested",
        "who": (),
        "part_of": "proposal",
        "label": ("Abschlussbericht: Nachbesserung", "Final report returned"),
    },
]

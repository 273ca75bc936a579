"""The proposal (Antrag / Leistungsangebot) workflow of DOMAIN.md."""

from enum import StrEnum, auto

NAME = "proposal"
TABLE = "proposals"  # the model whose ``state`` this machine moves


class State(StrEnum):
    """The proposal workflow's states: each name is written here once (its value is the name in lower case)."""

    DRAFT = auto()
    SUBMITTED = auto()
    CLARIFICATION = auto()
    ELIGIBLE = auto()
    INELIGIBLE = auto()
    IN_REVIEW = auto()
    REVIEWED = auto()
    APPROVED = auto()
    STANDSTILL = auto()
    REJECTED = auto()
    AWARDED = auto()
    LAPSED = auto()
    DECLINED = auto()
    IN_IMPLEMENTATION = auto()
    FINAL_REPORT_SUBMITTED = auto()
    COMPLETED = auto()
    WITHDRAWN = auto()
    TERMINATED = auto()


INITIAL = State.DRAFT


# state: (German label, English label)
STATE_LABELS = {
    State.DRAFT: ("Entwurf", "Draft"),
    State.SUBMITTED: ("Eingereicht", "Submitted"),
    State.CLARIFICATION: ("Nachforderung offen", "Clarification requested"),
    State.ELIGIBLE: ("Formal geprüft", "Eligible"),
    State.INELIGIBLE: ("Formal ausgeschlossen", "Ineligible"),
    State.IN_REVIEW: ("In Begutachtung", "In review"),
    State.REVIEWED: ("Begutachtet", "Reviewed"),
    State.APPROVED: ("Genehmigt", "Approved"),
    State.STANDSTILL: ("Stillhaltefrist", "Standstill period"),
    State.REJECTED: ("Abgelehnt", "Rejected"),
    State.AWARDED: ("Zuschlag erteilt", "Awarded"),
    State.LAPSED: ("Zuschlag verfallen", "Lapsed"),
    State.DECLINED: ("Zuschlag abgelehnt", "Award declined"),
    State.IN_IMPLEMENTATION: ("In Umsetzung", "In implementation"),
    State.FINAL_REPORT_SUBMITTED: ("Abschlussbericht eingereicht", "Final report submitted"),
    State.COMPLETED: ("Abgeschlossen", "Completed"),
    State.WITHDRAWN: ("Zurückgezogen", "Withdrawn"),
    State.TERMINATED: ("Vorzeitig beendet", "Terminated"),
}
# A grant call's words where they differ (a Zuwendung is bewilligt, not a Zuschlag erteilt); transitions name
# theirs as "grant_label" / "grant_done" / "grant_reason_label" (labels.step_label picks them by the call's mode).
GRANT_STATE_LABELS = {
    State.AWARDED: ("Zuwendung bewilligt", "Grant awarded"),
    State.LAPSED: ("Bewilligung verfallen", "Grant lapsed"),
    State.DECLINED: ("Zuwendung abgelehnt", "Grant declined"),
}
STATES = tuple(State)
TERMINAL = (
    State.INELIGIBLE,
    State.REJECTED,
    State.LAPSED,
    State.DECLINED,
    State.COMPLETED,
    State.WITHDRAWN,
    State.TERMINATED,
)
# States in which officials read the proposal's content only after the opening (procurement).
SEALED_STATES = (State.SUBMITTED,)
BEFORE_DECISION = (
    State.DRAFT,
    State.SUBMITTED,
    State.CLARIFICATION,
    State.ELIGIBLE,
    State.IN_REVIEW,
    State.REVIEWED,
)

# Groups of states for what the pages show (who may do what is the rulebook's question, never these).
# received, its review not begun: no scores yet
BEFORE_REVIEW = (State.SUBMITTED, State.CLARIFICATION, State.ELIGIBLE)
# both offices approved, the award not made yet
AWAITING_AWARD = (State.APPROVED, State.STANDSTILL)
# awarded and neither lapsed nor terminated: "vergeben" in the ranking
AWARDED_STATES = (State.AWARDED, State.IN_IMPLEMENTATION, State.FINAL_REPORT_SUBMITTED, State.COMPLETED)
# the measure has begun: its milestones, reports and payments are shown
MEASURE_BEGUN = (State.IN_IMPLEMENTATION, State.FINAL_REPORT_SUBMITTED, State.COMPLETED, State.TERMINATED)

TRANSITIONS: list[dict] = [
    {
        "trigger": "submit",
        "source": (State.DRAFT,),
        "dest": State.SUBMITTED,
        "who": ("applicant",),
        "conditions": (
            "call_open_for_submission",
            "applicant_email_verified",
            "answers_complete",
            "amount_within_cap",
        ),
        "effects": ("assign_file_number", "mail_receipt"),
        "done": ("Ihr Angebot ist eingegangen.", "Your offer has been received."),
        "grant_done": ("Ihr Antrag ist eingegangen.", "Your application has been received."),
        "label": ("Verbindlich einreichen", "Submit"),
    },
    {
        "trigger": "withdraw",
        "source": BEFORE_DECISION,
        "dest": State.WITHDRAWN,
        "who": ("applicant",),
        "conditions": (),
        "effects": ("mail_withdrawn",),
        "irreversible": True,
        "done": ("Das Angebot ist zurückgezogen.", "The offer has been withdrawn."),
        "grant_done": ("Der Antrag ist zurückgezogen.", "The application has been withdrawn."),
        "label": ("Zurückziehen", "Withdraw"),
    },
    {  # the applicant deletes their account before submitting (foerdercall/privacy): no mail to anyone
        "trigger": "discard",
        "source": (State.DRAFT,),
        "dest": State.WITHDRAWN,
        "who": ("system",),
        "conditions": (),
        "effects": (),
        "label": ("Entwurf verwerfen (Konto gelöscht)", "Discard the draft (account deleted)"),
    },
    {
        "trigger": "request_documents",
        "source": (State.SUBMITTED,),
        "dest": State.CLARIFICATION,
        "who": ("official",),
        "conditions": ("submissions_opened",),
        "effects": ("open_clarification", "mail_clarification"),
        "reason_required": True,
        "reason_label": (
            "Nachricht an die antragstellende Person: was fehlt (wird ihr geschickt)",
            "Message to the applicant: what is missing (sent to them)",
        ),
        "done": (
            "Unterlagen nachgefordert; die antragstellende Person ist benachrichtigt.",
            "Documents requested; the applicant has been told.",
        ),
        "label": ("Unterlagen nachfordern", "Request missing documents"),
    },
    {
        "trigger": "answer_request",
        "source": (State.CLARIFICATION,),
        "dest": State.SUBMITTED,
        "who": ("applicant",),
        "conditions": ("clarification_not_due",),
        "effects": ("close_clarification", "mail_clarification_answered"),
        "reason_required": True,
        "label": ("Nachforderung beantworten", "Answer the request"),
    },
    {
        "trigger": "lapse_request",
        "source": (State.CLARIFICATION,),
        "dest": State.INELIGIBLE,
        "who": ("system",),
        "conditions": ("clarification_due_passed",),
        "effects": ("mail_ineligible",),
        "label": ("Frist der Nachforderung verstrichen", "Request not answered in time"),
    },
    {
        "trigger": "declare_eligible",
        "source": (State.SUBMITTED,),
        "dest": State.ELIGIBLE,
        "who": ("official",),
        "conditions": ("submissions_opened",),
        "effects": (),
        "done": ("Angebot als formal zulässig erklärt.", "Offer declared eligible."),
        "grant_done": ("Antrag als formal zulässig erklärt.", "Application declared eligible."),
        "label": ("Formal zulässig", "Declare eligible"),
    },
    {
        "trigger": "declare_ineligible",
        "source": (State.SUBMITTED,),
        "dest": State.INELIGIBLE,
        "who": ("official",),
        "conditions": ("submissions_opened",),
        "effects": ("mail_ineligible",),
        "reason_required": True,
        "irreversible": True,
        "reason_label": (
            "Begründung des Ausschlusses (wird der antragstellenden Person geschickt)",
            "Reason for the exclusion (sent to the applicant)",
        ),
        "done": (
            "Angebot formal ausgeschlossen; die antragstellende Person ist benachrichtigt.",
            "Offer declared ineligible; the applicant has been told.",
        ),
        "grant_done": (
            "Antrag formal ausgeschlossen; die antragstellende Person ist benachrichtigt.",
            "Application declared ineligible; the applicant has been told.",
        ),
        "label": ("Formal ausschließen", "Declare ineligible"),
    },
    {
        "trigger": "start_review",
        "source": (State.ELIGIBLE,),
        "dest": State.IN_REVIEW,
        "who": ("official",),
        "conditions": ("reviewers_assigned",),
        "effects": ("mail_review_assigned",),
        "done": (
            "Begutachtung gestartet; die Gutachterinnen und Gutachter sind benachrichtigt.",
            "Review started; the reviewers have been told.",
        ),
        "label": ("Begutachtung starten", "Start review"),
    },
    {
        "trigger": "finish_review",
        "source": (State.IN_REVIEW,),
        "dest": State.REVIEWED,
        "who": ("system",),
        "conditions": ("all_reviews_in",),
        "effects": (),
        "label": ("Begutachtung abgeschlossen", "All reviews in"),
    },
    {
        # fewer reviews than the call asks for (a reviewer declared a conflict late, nobody else is free): the
        # officials decide to go on with those that are in, and say why
        "trigger": "finish_review_short",
        "source": (State.IN_REVIEW,),
        "dest": State.REVIEWED,
        "who": ("official",),
        "conditions": ("reviews_short",),
        "applies_if": ("reviews_short",),
        "effects": (),
        "reason_required": True,
        "reason_label": (
            "Begründung: warum die vorliegenden Gutachten genügen",
            "Reason: why the reviews that are in suffice",
        ),
        "done": (
            "Begutachtung mit den vorliegenden Gutachten abgeschlossen.",
            "Review closed with the reviews that are in.",
        ),
        "label": ("Begutachtung mit weniger Gutachten abschließen", "Close the review with fewer reviews"),
    },
    {
        "trigger": "approve",
        "source": (State.REVIEWED,),
        "dest": State.APPROVED,
        "who": ("official",),
        "conditions": ("every_office_approved",),
        "effects": (),
        "label": ("Gemeinsam genehmigt", "Approved by both offices"),
    },
    {
        "trigger": "reject",
        "source": (State.REVIEWED,),
        "dest": State.REJECTED,
        "who": ("official",),
        "conditions": ("an_office_rejected",),
        "effects": ("mail_rejection",),
        "label": ("Abgelehnt", "Rejected"),
    },
    {
        # an award of the call's threshold or more (Saxony: €50,000 net) waits 10 calendar days after the
        # unsuccessful applicants were told; an objection recorded in that time holds it
        "trigger": "start_standstill",
        "source": (State.APPROVED,),
        "dest": State.STANDSTILL,
        "who": ("official",),
        "conditions": ("standstill_required", "tie_decided", "budget_left", "award_within_offer"),
        "effects": ("open_standstill", "mail_standstill_notice"),
        "applies_if": ("standstill_required",),  # below the threshold the step is not offered at all
        "done": (
            "Stillhaltefrist gestartet; die nicht berücksichtigten Bieter sind informiert.",
            "Standstill period started; the unsuccessful bidders have been told.",
        ),
        "grant_done": (
            "Stillhaltefrist gestartet; die nicht berücksichtigten Antragstellenden sind informiert.",
            "Standstill period started; the unsuccessful applicants have been told.",
        ),
        "label": ("Stillhaltefrist starten", "Start the standstill period"),
    },
    {
        # an objection in the standstill was upheld (abgeholfen): the decision goes back to both offices; their
        # sign-offs are voided (kept for the award record), the standstill ends, the applicant is told
        "trigger": "reopen_decision",
        "source": (State.STANDSTILL,),
        "dest": State.REVIEWED,
        "who": ("official",),
        "conditions": ("objection_upheld",),
        "effects": ("void_sign_offs", "close_standstill", "mail_decision_reopened"),
        "reason_required": True,
        "reason_label": (
            "Begründung: wie dem Einwand abgeholfen wird",
            "Reason: how the objection is remedied",
        ),
        "done": (
            "Entscheidung wieder geöffnet; die Zeichnungen sind ungültig.",
            "Decision reopened; the sign-offs are void.",
        ),
        "label": (
            "Entscheidung wieder geöffnet (Einwand abgeholfen)",
            "Decision reopened (objection upheld)",
        ),
    },
    {
        "trigger": "award",
        "source": (State.APPROVED, State.STANDSTILL),
        "dest": State.AWARDED,
        "who": ("official",),
        "conditions": ("standstill_passed", "tie_decided", "budget_left", "award_within_offer"),
        "effects": ("take_budget", "mail_award"),
        "irreversible": True,
        "done": (
            "Zuschlag erteilt; der Auftragnehmer ist benachrichtigt.",
            "Contract awarded; the contractor has been told.",
        ),
        "grant_label": ("Zuwendung bewilligen", "Award the grant"),
        "grant_done": (
            "Zuwendung bewilligt; die Zuwendungsempfängerin bzw. der -empfänger ist benachrichtigt.",
            "Grant awarded; the recipient has been told.",
        ),
        "label": ("Zuschlag erteilen", "Award the contract"),
    },
    {
        "trigger": "accept_award",
        "source": (State.AWARDED,),
        "dest": State.IN_IMPLEMENTATION,
        "who": ("applicant",),
        "conditions": ("acceptance_not_due",),
        "effects": ("start_implementation", "mail_award_accepted"),
        "done": ("Zuschlag angenommen. Die Umsetzung beginnt.", "Award accepted. Implementation begins."),
        "grant_label": ("Zuwendung annehmen", "Accept the grant"),
        "grant_done": (
            "Zuwendung angenommen. Die Umsetzung beginnt.",
            "Grant accepted. Implementation begins.",
        ),
        "label": ("Zuschlag annehmen", "Accept the award"),
    },
    {
        # the applicant does not take the award after all: the money is free again at once
        "trigger": "decline_award",
        "source": (State.AWARDED,),
        "dest": State.DECLINED,
        "who": ("applicant",),
        "conditions": ("acceptance_not_due",),
        "effects": ("return_budget", "mail_award_declined"),
        "irreversible": True,
        "reason_label": ("Ihr Grund (freiwillig)", "Your reason (optional)"),
        "done": (
            "Sie haben den Zuschlag abgelehnt. Das Amt ist benachrichtigt.",
            "You have declined the award. The office has been told.",
        ),
        "grant_label": ("Zuwendung ablehnen", "Decline the grant"),
        "grant_done": (
            "Sie haben die Zuwendung abgelehnt. Das Amt ist benachrichtigt.",
            "You have declined the grant. The office has been told.",
        ),
        "label": ("Zuschlag ablehnen", "Decline the award"),
    },
    {
        "trigger": "lapse_award",
        "source": (State.AWARDED,),
        "dest": State.LAPSED,
        "who": ("system",),
        "conditions": ("acceptance_due_passed",),
        "effects": ("return_budget", "mail_award_lapsed"),
        "grant_label": ("Annahmefrist der Zuwendung verstrichen", "Grant not accepted in time"),
        "label": ("Annahmefrist verstrichen", "Award not accepted in time"),
    },
    {
        "trigger": "submit_final_report",
        "source": (State.IN_IMPLEMENTATION,),
        "dest": State.FINAL_REPORT_SUBMITTED,
        "who": ("applicant",),
        "conditions": ("milestones_reported", "interim_report_accepted"),
        "effects": ("record_final_report", "mail_final_report_submitted"),
        "label": ("Abschlussbericht einreichen", "Submit the final report"),
    },
    {
        "trigger": "accept_final_report",
        "source": (State.FINAL_REPORT_SUBMITTED,),
        "dest": State.COMPLETED,
        "who": ("official",),
        "conditions": (),
        "effects": ("settle_final_report", "mail_completed"),
        "irreversible": True,
        "done": (
            "Abschlussbericht abgenommen; die Maßnahme ist abgeschlossen.",
            "Final report accepted; the measure is completed.",
        ),
        "label": ("Abschlussbericht abnehmen", "Accept the final report"),
    },
    {
        "trigger": "request_report_changes",
        "source": (State.FINAL_REPORT_SUBMITTED,),
        "dest": State.IN_IMPLEMENTATION,
        "who": ("official",),
        "conditions": (),
        "effects": ("return_final_report", "mail_report_changes"),
        "reason_required": True,
        "reason_label": (
            "Was nachzubessern ist (wird dem Auftragnehmer geschickt)",
            "What to improve (sent to the contractor)",
        ),
        "grant_reason_label": (
            "Was nachzubessern ist (wird der Zuwendungsempfängerin bzw. dem -empfänger geschickt)",
            "What to improve (sent to the grant recipient)",
        ),
        "done": (
            "Nachbesserung angefordert; der Auftragnehmer ist benachrichtigt.",
            "Changes requested; the contractor has been told.",
        ),
        "grant_done": (
            "Nachbesserung angefordert; die Zuwendungsempfängerin bzw. der -empfänger ist benachrichtigt.",
            "Changes requested; the grant recipient has been told.",
        ),
        "label": ("Nachbesserung anfordern", "Request changes"),
    },
    {
        "trigger": "terminate",
        "source": (State.IN_IMPLEMENTATION, State.FINAL_REPORT_SUBMITTED),
        "dest": State.TERMINATED,
        "who": ("official",),
        "conditions": (),
        "effects": ("return_budget", "mail_terminated"),
        "reason_required": True,
        "irreversible": True,
        "reason_label": (
            "Begründung der vorzeitigen Beendigung (wird dem Auftragnehmer geschickt)",
            "Reason for the termination (sent to the contractor)",
        ),
        "grant_reason_label": (
            "Begründung der vorzeitigen Beendigung (wird der Zuwendungsempfängerin bzw. dem -empfänger geschickt)",
            "Reason for the termination (sent to the grant recipient)",
        ),
        "done": (
            "Maßnahme vorzeitig beendet; nicht verbrauchte Mittel sind wieder frei.",
            "Measure terminated; unspent money is free again.",
        ),
        "label": ("Vorzeitig beenden", "Terminate"),
    },
]

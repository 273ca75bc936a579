"""The proposal (Antrag / Leistungsangebot) workflow of DOMAIN.md."""

NAME = "proposal"
INITIAL = "draft"

# state: (German label, English label)
STATE_LABELS = {
    "draft": ("Entwurf", "Draft"),
    "submitted": ("Eingereicht", "Submitted"),
    "clarification": ("Nachforderung offen", "Clarification requested"),
    "eligible": ("Formal geprüft", "Eligible"),
    "ineligible": ("Formal ausgeschlossen", "Ineligible"),
    "in_review": ("In Begutachtung", "In review"),
    "reviewed": ("Begutachtet", "Reviewed"),
    "approved": ("Genehmigt", "Approved"),
    "standstill": ("Stillhaltefrist", "Standstill period"),
    "rejected": ("Abgelehnt", "Rejected"),
    "awarded": ("Zuschlag erteilt", "Awarded"),
    "lapsed": ("Zuschlag verfallen", "Lapsed"),
    "in_implementation": ("In Umsetzung", "In implementation"),
    "final_report_submitted": ("Abschlussbericht eingereicht", "Final report submitted"),
    "completed": ("Abgeschlossen", "Completed"),
    "withdrawn": ("Zurückgezogen", "Withdrawn"),
    "terminated": ("Vorzeitig beendet", "Terminated"),
}
STATES = tuple(STATE_LABELS)
TERMINAL = ("ineligible", "rejected", "lapsed", "completed", "withdrawn", "terminated")
# States in which officials read the proposal's content only after the opening (procurement).
SEALED_STATES = ("submitted",)
BEFORE_DECISION = ("draft", "submitted", "clarification", "eligible", "in_review", "reviewed")

TRANSITIONS = [
    {
        "trigger": "submit", "source": ("draft",), "dest": "submitted", "who": ("applicant",),
        "conditions": ("call_open_for_submission", "applicant_email_verified", "answers_complete",
                       "amount_within_cap", "required_attachments_present"),
        "effects": ("assign_file_number", "mail_receipt"),
        "label": ("Verbindlich einreichen", "Submit"),
    },
    {
        "trigger": "withdraw", "source": BEFORE_DECISION, "dest": "withdrawn", "who": ("applicant",),
        "conditions": (), "effects": ("mail_withdrawn",),
        "label": ("Zurückziehen", "Withdraw"),
    },
    {  # the applicant deletes their account before submitting (foerdercall/privacy): no mail to anyone
        "trigger": "discard", "source": ("draft",), "dest": "withdrawn", "who": ("system",),
        "conditions": (), "effects": (),
        "label": ("Entwurf verwerfen (Konto gelöscht)", "Discard the draft (account deleted)"),
    },
    {
        "trigger": "request_documents", "source": ("submitted",), "dest": "clarification",
        "who": ("official",), "conditions": ("submissions_opened",),
        "effects": ("open_clarification", "mail_clarification"), "reason_required": True,
        "label": ("Unterlagen nachfordern", "Request missing documents"),
    },
    {
        "trigger": "answer_request", "source": ("clarification",), "dest": "submitted",
        "who": ("applicant",), "conditions": ("clarification_not_due",), "effects": ("close_clarification",),
        "reason_required": True,
        "label": ("Nachforderung beantworten", "Answer the request"),
    },
    {
        "trigger": "lapse_request", "source": ("clarification",), "dest": "ineligible", "who": ("system",),
        "conditions": ("clarification_due_passed",), "effects": ("mail_ineligible",),
        "label": ("Frist der Nachforderung verstrichen", "Request not answered in time"),
    },
    {
        "trigger": "declare_eligible", "source": ("submitted",), "dest": "eligible", "who": ("official",),
        "conditions": ("submissions_opened",), "effects": (),
        "label": ("Formal zulässig", "Declare eligible"),
    },
    {
        "trigger": "declare_ineligible", "source": ("submitted",), "dest": "ineligible",
        "who": ("official",), "conditions": ("submissions_opened",), "effects": ("mail_ineligible",),
        "reason_required": True,
        "label": ("Formal ausschließen", "Declare ineligible"),
    },
    {
        "trigger": "start_review", "source": ("eligible",), "dest": "in_review", "who": ("official",),
        "conditions": ("reviewers_assigned",), "effects": ("mail_review_assigned",),
        "label": ("Begutachtung starten", "Start review"),
    },
    {
        "trigger": "finish_review", "source": ("in_review",), "dest": "reviewed", "who": ("system",),
        "conditions": ("all_reviews_in",), "effects": (),
        "label": ("Begutachtung abgeschlossen", "All reviews in"),
    },
    {
        "trigger": "approve", "source": ("reviewed",), "dest": "approved", "who": ("official",),
        "conditions": ("both_offices_approved",), "effects": (),
        "label": ("Gemeinsam genehmigt", "Approved by both offices"),
    },
    {
        "trigger": "reject", "source": ("reviewed",), "dest": "rejected", "who": ("official",),
        "conditions": ("an_office_rejected",), "effects": ("mail_rejection",),
        "label": ("Abgelehnt", "Rejected"),
    },
    {
        # an award of the call's threshold or more (Saxony: €50,000 net) waits 10 calendar days after the
        # unsuccessful applicants were told; an objection recorded in that time holds it
        "trigger": "start_standstill", "source": ("approved",), "dest": "standstill", "who": ("official",),
        "conditions": ("standstill_required", "budget_left", "award_within_offer"),
        "effects": ("open_standstill", "mail_standstill_notice"),
        "label": ("Stillhaltefrist starten", "Start the standstill period"),
    },
    {
        # an objection in the standstill was upheld (abgeholfen): the decision goes back to both offices; their
        # sign-offs are voided (kept for the award record), the standstill ends, the applicant is told
        "trigger": "reopen_decision", "source": ("standstill",), "dest": "reviewed", "who": ("official",),
        "conditions": ("objection_upheld",),
        "effects": ("void_sign_offs", "close_standstill", "mail_decision_reopened"), "reason_required": True,
        "label": ("Entscheidung wieder geöffnet (Einwand abgeholfen)", "Decision reopened (objection upheld)"),
    },
    {
        "trigger": "award", "source": ("approved", "standstill"), "dest": "awarded", "who": ("official",),
        "conditions": ("standstill_passed", "budget_left", "award_within_offer"),
        "effects": ("take_budget", "mail_award"),
        "label": ("Zuschlag erteilen", "Award the contract"),
    },
    {
        "trigger": "accept_award", "source": ("awarded",), "dest": "in_implementation",
        "who": ("applicant",), "conditions": ("acceptance_not_due",),
        "effects": ("start_implementation", "mail_award_accepted"),
        "label": ("Zuschlag annehmen", "Accept the award"),
    },
    {
        "trigger": "lapse_award", "source": ("awarded",), "dest": "lapsed", "who": ("system",),
        "conditions": ("acceptance_due_passed",), "effects": ("return_budget", "mail_award_lapsed"),
        "label": ("Annahmefrist verstrichen", "Award not accepted in time"),
    },
    {
        "trigger": "submit_final_report", "source": ("in_implementation",), "dest": "final_report_submitted",
        "who": ("applicant",), "conditions": ("milestones_reported", "interim_report_accepted"),
        "effects": ("record_final_report", "mail_final_report_submitted"),
        "label": ("Abschlussbericht einreichen", "Submit the final report"),
    },
    {
        "trigger": "accept_final_report", "source": ("final_report_submitted",), "dest": "completed",
        "who": ("official",), "conditions": (), "effects": ("settle_final_report", "mail_completed"),
        "label": ("Abschlussbericht abnehmen", "Accept the final report"),
    },
    {
        "trigger": "request_report_changes", "source": ("final_report_submitted",),
        "dest": "in_implementation", "who": ("official",), "conditions": (),
        "effects": ("return_final_report", "mail_report_changes"), "reason_required": True,
        "label": ("Nachbesserung anfordern", "Request changes"),
    },
    {
        "trigger": "terminate", "source": ("in_implementation", "final_report_submitted"), "dest": "terminated",
        "who": ("official",), "conditions": (), "effects": ("return_budget", "mail_terminated"),
        "reason_required": True,
        "label": ("Vorzeitig beenden", "Terminate"),
    },
]

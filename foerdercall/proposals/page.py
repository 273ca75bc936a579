"""The proposal page, rendered for its own view and for the posts that come back to it refused (a step, a
report, a payment): then it shows what was typed, with the reason (``g.typed_step``, ``g.typed_form``)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from forms.calls import ConfirmForm
from forms.proposals import AnswerForm, ReasonForm, ReasonsAnswerForm, ReasonsRequestForm

from ..appform.display import shown_answers
from ..awards.queries import award_of
from ..i18n import current_lang
from ..outcomes.queries import measure_outcome
from ..policy import may
from ..policy.reading import applicant_visible_to
from ..privacy.queries import active_hold
from ..privacy.retention import record_end_of
from ..reviews.operations import score_proposal
from ..reviews.queries import reviewer_choices
from .progress import proposal_progress
from .queries import proposal_page

# Triggers with their own form on the page (not a plain button)
OWN_FORMS = {
    "submit",
    "answer_request",
    "accept_award",
    "decline_award",
    "approve",
    "reject",
    "award",
    "submit_final_report",
    "start_review",
    "accept_final_report",
    "reopen_decision",
}  # reopen_decision: an upheld objection (decision page)


def render_proposal_page(p) -> str:
    assessment = may(current_user, "proposal.read_assessment", p)
    personal = applicant_visible_to(current_user, p)
    return render_template(
        "proposals/detail.html",
        p=p,
        **proposal_page(p, current_user, assessment=assessment),
        own_forms=OWN_FORMS,
        score=score_proposal(p) if assessment else None,
        reviewer_choices=reviewer_choices(p) if assessment else [],
        progress=proposal_progress(p) if may(current_user, "proposal.own", p) else None,
        show_applicant=personal,
        answers=shown_answers(p.call.form_definition, p.answers or {}, current_lang(), personal=personal),
        outcome=measure_outcome(p, award_of(p)),
        form=ConfirmForm(),
        reason_form=ReasonForm(),
        answer_form=AnswerForm(),
        reasons_request_form=ReasonsRequestForm(),
        # the officials see when the record's retention ends and whether it is on legal hold
        record_end=record_end_of(p) if assessment else None,
        hold=active_hold(p.id) if assessment else None,
        reasons_answer_form=ReasonsAnswerForm(),
    )

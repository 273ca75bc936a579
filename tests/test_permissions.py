"""Who may see and do what, over every route of the app, and the seal of a procurement call.

The matrix requests EVERY route of the URL map as every role, with URL parameters filled with real ids of
objects that belong to one applicant (the "owner"). Refused requests must be 403/404 (anonymous: a
redirect to the login page), never a 500, must not show the proposal's title, the applicant's name or the
bytes of the uploaded PDF, and must not change a single row in the database. For POST routes the refused
roles send the data a permitted user would send to change something ("potent" data).

Each request runs in its own application context (its own ``g`` and database session), as in production.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from conftest import (
    PDF,
    award_after_deadline,
    berlin,
    criteria_fields,
    field_rows,
    fill_draft,
    login,
    untimed,
)
from sqlalchemy import select

from foerdercall.errors import ActionRefused
from foerdercall.extensions import db

TITLE = "Klangwerkstatt Plagwitz 7Q"
OTHER_TITLE = "Siebdruckkollektiv Lindenau 3X"
OWNER_NAME = "Ada Applicant"
OTHER_NAME = "Bruno Applicant"

# --- roles ---------------------------------------------------------------------------------------------

ROLE_LOGINS = {
    "anonymous": None,
    "owner": "app@x.test",
    "other_applicant": "app2@x.test",
    "reviewer_assigned": "rev1@x.test",
    "reviewer_unassigned": "rev2@x.test",
    "official_ka": "ka@x.test",
    "official_afw": "afw@x.test",
    "advisor": "advisor@x.test",
    "admin": "admin@x.test",
}
ALL = frozenset(ROLE_LOGINS)
AUTHENTICATED = ALL - {"anonymous"}
APPLICANTS = frozenset({"owner", "other_applicant"})
OFFICIALS = frozenset({"official_ka", "official_afw"})
REVIEWERS = frozenset({"reviewer_assigned", "reviewer_unassigned"})
# Who may read the owner's proposal once it is opened: the applicant, the assigned reviewer (neutrality
# signed, no conflict) and the officials. Not: the other applicant, an unassigned reviewer, the advisor
# (the owner did not ask for advice), the admin.
PROPOSAL_READERS = frozenset({"owner", "reviewer_assigned"}) | OFFICIALS
OTHER_READERS = frozenset({"other_applicant"}) | OFFICIALS  # the second applicant's offer

# The explicit classification of every endpoint: who gets past the access check.
RULES = {
    "public": ALL,
    "authenticated": AUTHENTICATED,
    "applicants": APPLICANTS,
    "officials": OFFICIALS,
    "reviewers": REVIEWERS,
    "proposal_viewers": REVIEWERS | OFFICIALS | {"advisor"},  # who sees proposals signs neutrality
    "admin": frozenset({"admin"}),
    "advisor": frozenset({"advisor"}),
    "outbox": OFFICIALS,
    "owner_mail": OFFICIALS | {"owner"},  # the recipient, and the officials' outbox once opened
    "owner_documents": OFFICIALS | {"owner"},  # the applicant's letters; officials every document once opened
    "proposal_readers": PROPOSAL_READERS,
    "proposal_owner": frozenset({"owner"}),
    "own_review": frozenset({"reviewer_assigned"}),
    "officials_and_admin": OFFICIALS | {"admin"},  # may turn on two-factor login for themselves
    "job_starter": frozenset({"official_ka"}),  # a bulk job's file: who started it (official_ka, in `opened`)
    "job_starter_and_admin": frozenset({"official_ka", "admin"}),  # its progress page: also the admins
}

ACCESS = {
    "tasks.home": "public",  # guests: the open calls; everyone else: their task list
    "ops.health": "public",
    "ops.ready": "public",
    "ops.metrics": "public",  # a 404 without METRICS_TOKEN (tests/test_ops.py)
    "accessibility": "public",
    "accounts.login": "public",
    "accounts.logout": "public",
    "accounts.register": "public",
    "accounts.language": "public",
    "accounts.login_two_factor": "public",  # without a pending login: back to the login page
    "accounts.verify_email_link": "public",  # signed tokens: a forged one is refused
    "accounts.forgot_password": "public",
    "accounts.reset_password_link": "public",
    "accounts.request_unlock": "public",  # the same answer for every address; mails only a locked account
    "accounts.unlock_link": "public",  # random single-use tokens: a forged one is refused
    "accounts.account": "authenticated",
    "accounts.notifications": "officials",
    "accounts.salutation": "authenticated",
    "accounts.end_other_sessions_view": "authenticated",  # one's own other sessions
    "accounts.resend_verification": "authenticated",
    "accounts.two_factor": "officials_and_admin",
    "accounts.disable_two_factor_view": "officials_and_admin",
    "accounts.users": "admin",
    "accounts.user_roles": "admin",
    "accounts.reset_two_factor_view": "admin",
    "accounts.end_sessions_view": "admin",
    "offices.index": "admin",
    "offices.new": "admin",
    "offices.edit": "admin",
    "calls.index": "public",
    "calls.detail": "public",
    "calls.new": "officials",
    "calls.edit": "officials",
    "calls.correct": "officials",
    "calls.questions": "officials",
    "calls.questions_preview": "officials",
    "calls.copy": "officials",
    "calls.privacy_checked": "officials",
    "calls.fire_trigger": "officials",
    "calls.opening": "officials",
    "calls.proposals": "officials",
    "proposals.apply": "applicants",
    "proposals.extend": "officials",
    "proposals.mine": "authenticated",
    "proposals.advice": "advisor",
    "proposals.detail": "proposal_readers",
    "proposals.edit": "proposal_owner",
    "proposals.download": "proposal_readers",
    "proposals.delete_attachment": "proposal_readers",
    "proposals.fire_trigger": "proposal_readers",
    "proposals.answer": "proposal_readers",
    "reviews.mine": "reviewers",
    "reviews.neutrality": "proposal_viewers",
    "reviews.conflict": "own_review",
    "reviews.official_conflict": "officials",
    "ranking.decide": "officials",
    "calls.bulk_step": "officials",
    "privacy.retention": "officials",
    "awards.drawdown": "proposal_owner",  # a grant's recipient (here a contract: refused as a step)
    "awards.drawdown_step": "officials",
    "awards.claim": "officials",
    "awards.repaid": "officials",
    "privacy.hold": "officials",
    "privacy.lift": "officials",
    "proposals.reasons": "proposal_owner",
    "proposals.answer_reasons_view": "officials",  # the other applicant's excluded offer: its request
    "ranking.agree": "officials",
    "ranking.refuse": "officials",  # an official (or an advisor asked for advice) who reads it
    "reviews.score": "own_review",
    "reviews.assign": "officials",
    "reviews.decline": "own_review",
    "reviews.assignments": "officials",
    "reviews.auto": "officials",
    "reviews.replace": "officials",
    "calls.ranking": "officials",
    "calls.export": "officials",
    "calls.decision": "officials",
    "awards.objection": "officials",
    "awards.sign": "officials",
    "awards.award": "officials",
    "awards.milestone_add": "officials",
    "awards.milestone_accept": "officials",
    "awards.payment": "officials",
    "awards.report_review": "officials",
    "awards.milestone_report": "proposal_readers",
    "awards.report": "proposal_readers",
    "mail.messages": "authenticated",
    "mail.message": "owner_mail",
    "mail.outbox": "outbox",
    "mail.worker_status": "outbox",
    "mail.retry_mail": "outbox",
    "mail.retry_mails": "outbox",
    "mail.release_mail": "outbox",
    "privacy.data": "authenticated",
    "privacy.export": "authenticated",
    "privacy.delete": "authenticated",
    "documents.proposal_document": "owner_documents",
    "documents.call_record": "officials",
    "register.index": "public",
    # the JSON API: a login session is no credential there. Its public data answers everyone; the rest is a 401
    # for every role of this matrix (tokens, each acting as a person: tests/api/test_api.py's own matrix)
    "api.calls": "public",
    "api.call": "public",
    "api.call_report": "public",
    "api.register": "public",
    "api.year_report": "public",
    "api.openapi": "public",
    "api.proposals": "public",
    "api.proposal": "public",
    "api.reviews": "public",
    "api.indicators": "public",
    "api.add_payment": "public",
    "api.add_indicator_values": "public",
    "api_admin.index": "admin",
    "api_admin.revoke": "admin",
    "outcomes.reports": "public",
    "outcomes.open_data": "public",
    "outcomes.year_report": "public",
    "outcomes.year_report_file": "public",
    "outcomes.call_report": "public",
    "outcomes.call_report_file": "public",
    "outcomes.confirm": "officials",
    "outcomes.correct": "officials",
    "outcomes.year_report_text": "officials",
    "outcomes.call_report_text": "officials",
    "register.as_csv": "public",
    "register.as_json": "public",
    "dashboard.call": "officials",
    "calendar.call_deadlines": "officials_and_admin",  # the admin: the call's own dates only
    "calendar.proposal_deadlines": "proposal_owner",
    "calls.export_job": "officials",
    "calls.record_job": "officials",
    "jobs.show": "job_starter_and_admin",
    "jobs.status_json": "job_starter_and_admin",
    "jobs.download": "job_starter",
    # a call's own mail texts (issue 4): its officials and the admins
    "mailtemplates.index": "officials_and_admin",
    "mailtemplates.new": "officials_and_admin",
    "mailtemplates.edit": "officials_and_admin",
    "mailtemplates.show_preview": "officials_and_admin",
    "mailtemplates.activate": "officials_and_admin",
    "mailtemplates.deactivate": "officials_and_admin",
    "mailtemplates.delete": "officials_and_admin",
    # text kept from a post refused for its session or token (issue 5): only this browser's, only its owner's
    "parking.index": "authenticated",
    "parking.apply": "authenticated",
    "parking.discard_view": "authenticated",
}
# Pages where a permitted non-reader legitimately shows the applicant (user admin) or the mail about the
# opened proposal (the outbox of officials and admins).
# The public register of awarded measures shows the owner's measure (in implementation) to everyone.
PUBLIC_REGISTER = {
    "register.index",
    "register.as_csv",
    "register.as_json",
    "api.register",
    "outcomes.open_data",
}
SHOWS_PEOPLE_OR_MAIL = {
    "accounts.users",
    "accounts.user_roles",
    "mail.outbox",
    "mail.message",
} | PUBLIC_REGISTER

NEW_CALL = {
    "code": "LECK26",
    "title": "Leck-Aufruf",
    "description": "",
    **field_rows("networks"),
    "deciding_offices": ["KA", "AfWiFoe"],
    "mode": "procurement",
    "budget": "10000",
    "max_amount": "5000",
    "estimated_value": "10000",
    "opens_at": "2026-12-01T00:00",
    "submission_deadline": "2027-01-31T23:59",
    "clarification_days": "14",
    "acceptance_days": "28",
    "implementation_months": "12",
    "scale_max": "5",
    "min_total": "50",
    **criteria_fields("100 | - | Qualität"),
}


def _builder_correction() -> dict:
    """The question builder's post of the default form's rows, with a reason: a correction of the published call."""
    from foerdercall.appform.default import default_form
    from forms.formbuilder import rows_of

    rows = rows_of(default_form(), "de")
    data = {
        f"items-{i}-{k}": ("y" if k in ("required", "personal") else v)
        for i, r in enumerate(rows)
        for k, v in r.items()
        if v
    }
    return {**data, "items-2-help_de": "Neu", "reason": "Hinweis ergänzt", "action": "save"}


@dataclass
class Case:
    """One request of the matrix.

    ``url``/``data``: what a permitted role sends (harmless: it passes the access check, changes nothing);
    ``ok``: the status a permitted role gets; ``shows``: a permitted reader sees the proposal (title or file).
    ``refused_url``/``refused_data``: what a refused role sends (potent: would change something).
    ``potent``: a permitted role sending the refused data does change the database (checked separately).
    """

    endpoint: str
    method: str
    url: str
    ok: int
    data: dict | None = None
    refused_url: str | None = None
    refused_data: dict | None = None
    shows: bool = False
    potent: bool = False
    guest_ok: int | None = None  # a guest's status where it differs (the start page sends them to the calls)


def _cases() -> list[Case]:
    P = "/proposals/{p}"
    return [
        Case("tasks.home", "GET", "/", 200, guest_ok=302),
        Case("ops.health", "GET", "/health", 200),
        Case("ops.ready", "GET", "/ready", 200),
        Case("ops.metrics", "GET", "/metrics", 404),
        Case("accessibility", "GET", "/accessibility", 200),
        Case("accounts.login", "GET", "/login", 200),
        Case("accounts.login", "POST", "/login", 422, data={}),
        Case("accounts.register", "GET", "/register", 200),
        Case("accounts.register", "POST", "/register", 422, data={}),
        Case("accounts.language", "POST", "/language", 302, data={"lang": "de"}),
        Case("accounts.login_two_factor", "GET", "/login/two-factor", 302),
        Case("accounts.login_two_factor", "POST", "/login/two-factor", 302, data={"code": "123456"}),
        Case("accounts.verify_email_link", "GET", "/verify/not-a-token", 400),
        Case("accounts.forgot_password", "GET", "/password/forgot", 200),
        Case("accounts.forgot_password", "POST", "/password/forgot", 422, data={}),
        Case("accounts.reset_password_link", "GET", "/password/reset/not-a-token", 400),
        Case(
            "accounts.reset_password_link",
            "POST",
            "/password/reset/not-a-token",
            400,
            data={"password": "gekapert-gekapert", "password2": "gekapert-gekapert"},
        ),
        Case("accounts.request_unlock", "POST", "/login/unlock", 302, data={}),
        Case("accounts.unlock_link", "GET", "/login/unlock/not-a-token-but-long-enough", 400),
        Case("accounts.unlock_link", "POST", "/login/unlock/not-a-token-but-long-enough", 400, data={}),
        Case("accounts.account", "GET", "/account", 200),
        Case(
            "accounts.notifications", "POST", "/account/notifications", 302, data={"notify_mode": "immediate"}
        ),
        Case("accounts.salutation", "POST", "/account/salutation", 302, data={"salutation": ""}),
        # the matrix's browsers have one session each: nothing else to end
        Case("accounts.end_other_sessions_view", "POST", "/account/sessions/end-others", 302, data={}),
        # every account of the matrix is verified: nothing is sent
        Case("accounts.resend_verification", "POST", "/account/verify", 302, data={}),
        Case("accounts.two_factor", "GET", "/account/two-factor", 200),
        Case(
            "accounts.two_factor",
            "POST",
            "/account/two-factor",
            422,
            data={},
            refused_data={"code": "123456"},
        ),
        Case(
            "accounts.disable_two_factor_view",
            "POST",
            "/account/two-factor/disable",
            302,
            data={},
            refused_data={"password": "correct horse battery"},
        ),
        Case("accounts.users", "GET", "/admin/users", 200),
        Case("offices.index", "GET", "/admin/offices", 200),
        Case("offices.new", "GET", "/admin/offices/new", 200),
        Case(
            "offices.new",
            "POST",
            "/admin/offices/new",
            422,
            data={"key": "JA", "short_name": "", "name": "Jugendamt"},  # incomplete: the form is shown again
            refused_data={"key": "JA", "short_name": "JA", "name": "Jugendamt"},
            potent=True,
        ),
        Case("offices.edit", "GET", "/admin/offices/1", 200),
        Case(
            "offices.edit",
            "POST",
            "/admin/offices/1",
            422,
            data={"short_name": "", "name": "Kulturamt"},  # incomplete: the form is shown again
            refused_data={"short_name": "KX", "name": "Kulturamt"},
        ),
        Case("accounts.user_roles", "GET", "/admin/users/{user}", 200),
        Case(
            "accounts.user_roles",
            "POST",
            "/admin/users/{user}",
            200,
            data={"roles": ["applicant"], "office": "nowhere"},  # invalid choice: form shown again
            refused_data={"roles": ["applicant", "official"], "office": "KA"},
            potent=True,
        ),
        # the matrix's accounts have no two-factor login: refused with a message, nothing changes
        Case("accounts.reset_two_factor_view", "POST", "/admin/users/{user}/two-factor/reset", 302, data={}),
        # without the confirmation: refused with a message; the refused roles send it
        Case(
            "accounts.end_sessions_view",
            "POST",
            "/admin/users/{user}/sessions/end",
            302,
            data={},
            refused_data={"confirm": "y"},
        ),
        Case("calls.index", "GET", "/calls", 200),
        Case("calls.detail", "GET", "/calls/{call}", 200),
        Case("calls.new", "GET", "/calls/new", 200),
        Case("calls.new", "POST", "/calls/new", 422, data={}, refused_data=NEW_CALL, potent=True),
        Case("calls.edit", "GET", "/calls/{call}/edit", 302),
        Case("calls.edit", "POST", "/calls/{call}/edit", 302, data={}, refused_data=NEW_CALL),
        Case("calls.correct", "GET", "/calls/{call}/correct", 200),
        # the matrix's call is closed: its form is corrected no more (to the call's page, with the reason)
        Case("calls.questions", "GET", "/calls/{call}/form", 302),
        # the refused roles send the form's rows with a reason (a correction)
        Case(
            "calls.questions", "POST", "/calls/{call}/form", 302, data={}, refused_data=_builder_correction()
        ),
        Case("calls.questions_preview", "POST", "/calls/{call}/form/preview", 403, data={}),
        # without its confirmation: a message, nothing copied; the refused roles send it
        Case(
            "calls.copy",
            "POST",
            "/calls/{call}/copy",
            302,
            data={},
            refused_data={"confirm": "y"},
            potent=True,
        ),
        # the call is published: its notice is no draft's any more (a message, nothing changes)
        Case("calls.privacy_checked", "POST", "/calls/{call}/privacy-checked", 302, data={}),
        Case(
            "calls.correct",
            "POST",
            "/calls/{call}/correct",
            422,
            data={},
            refused_data={"reason": "Leck", "description": "neu", "submission_deadline": "2026-12-31T23:59"},
        ),
        Case(
            "calls.fire_trigger",
            "POST",
            "/calls/{call}/fire/publish",
            302,
            data={},
            refused_url="/calls/{call}/fire/decide",
            refused_data={},
            potent=True,
        ),
        Case("calls.opening", "GET", "/calls/{call}/opening", 200),
        Case("calls.opening", "POST", "/calls/{call}/opening", 302, data={}, refused_data={}),
        Case("calls.proposals", "GET", "/calls/{call}/proposals", 200, shows=True),
        Case("proposals.apply", "POST", "/calls/{call}/apply", 302, data={}, refused_data={}),
        Case(
            "proposals.extend",
            "POST",
            "/calls/{call}/extend",
            302,
            data={},
            refused_data={"email": "app@x.test", "deadline": "2026-12-31T23:59", "reason": "Leck"},
        ),
        Case("proposals.mine", "GET", "/my", 200),
        Case("proposals.advice", "GET", "/advice", 200),
        Case("proposals.detail", "GET", P, 200, shows=True),
        Case("proposals.edit", "GET", P + "/edit", 302),
        Case("proposals.edit", "POST", P + "/edit", 302, data={}, refused_data={"title": "Gekapert"}),
        Case("proposals.download", "GET", P + "/attachments/{attachment}", 200, shows=True),
        Case(
            "proposals.delete_attachment",
            "POST",
            P + "/attachments/{attachment}/delete",
            302,
            data={},
            refused_data={},
        ),
        Case(
            "proposals.fire_trigger",
            "POST",
            P + "/fire/submit",
            422,  # refused by the state: the page again, with the reason and what was typed
            data={},
            refused_url=P + "/fire/terminate",
            refused_data={"reason": "Leck"},
            potent=True,
        ),
        Case("proposals.answer", "POST", P + "/answer", 302, data={}, refused_data={"answer": "Leck"}),
        Case("reviews.mine", "GET", "/reviews", 200),
        Case(
            "reviews.neutrality",
            "POST",
            "/calls/{call}/neutrality",
            302,
            data={},
            refused_data={"confirm": "y"},
            potent=True,
        ),
        Case(
            "reviews.conflict",
            "POST",
            "/reviews/{review}/conflict",
            400,
            data={},
            refused_data={"has_conflict": "yes", "reason": "Leck"},
        ),
        Case("reviews.official_conflict", "GET", P + "/conflict", 200, shows=True),
        Case(
            "ranking.decide",
            "POST",
            "/calls/{call}/ties",
            400,
            data={},
            refused_data={"members": "{p},{q}", "places-0": "{q}", "places-1": "{p}", "reason": "Leck"},
        ),
        Case("ranking.agree", "POST", "/ties/{tie}/agree", 302, data={}),
        Case(
            "calls.bulk_step",
            "POST",
            "/calls/{call}/bulk/declare_eligible",
            302,
            data={},
            refused_data={"proposal": ["{q}"]},
        ),
        Case("proposals.reasons", "POST", P + "/reasons", 302, data={}),
        Case("privacy.retention", "GET", "/retention", 200),
        Case("awards.drawdown", "POST", P + "/drawdowns", 422, data={}, refused_data={"amount": "1,00"}),
        Case("awards.drawdown_step", "POST", P + "/drawdowns/{drawdown}/refuse", 302, data={}),
        Case(
            "awards.claim",
            "POST",
            P + "/claims",
            422,
            data={},
            refused_data={"amount": "1,00", "reason": "x"},
        ),
        Case("awards.repaid", "POST", P + "/claims/{claim}/repaid", 302, data={}),
        Case("privacy.hold", "POST", P + "/hold", 302, data={}, refused_data={"reason": "Leck"}, potent=True),
        Case("privacy.lift", "POST", "/holds/{hold}/lift", 302, data={}, refused_data={"reason": "Leck"}),
        Case(
            "proposals.answer_reasons_view",
            "POST",
            "/proposals/{q}/reasons/answer",
            302,
            data={},
            refused_data={"answer": "Leck"},
            potent=True,
        ),
        Case("ranking.refuse", "POST", "/ties/{tie}/refuse", 302, data={}, refused_data={"reason": "Leck"}),
        Case(
            "reviews.official_conflict",
            "POST",
            P + "/conflict",
            422,
            data={},
            refused_data={"reason": "Leck"},
            potent=True,
        ),
        Case("reviews.score", "GET", "/reviews/{review}", 200, shows=True),
        Case("reviews.score", "POST", "/reviews/{review}", 302, data={}, refused_data={"action": "submit"}),
        Case("reviews.assign", "POST", P + "/assign", 400, data={}, refused_data={"reviewer": "{rev2}"}),
        Case(
            "reviews.decline",
            "POST",
            "/reviews/{review}/decline",
            400,
            data={},
            refused_data={"kind": "workload"},
        ),
        Case("reviews.assignments", "GET", "/calls/{call}/assignments", 200),
        # nothing eligible in this world: the automatic assignment finds nothing and records nothing
        Case("reviews.auto", "POST", "/calls/{call}/assignments/auto", 302, data={}, refused_data={}),
        # the review is submitted: its replacement is refused with a message
        Case(
            "reviews.replace",
            "POST",
            "/reviews/{review}/replace",
            302,
            data={},
            refused_data={"reason": "Leck", "reviewer": "{rev2}"},
        ),
        Case("calls.ranking", "GET", "/calls/{call}/ranking", 200, shows=True),
        Case("calls.export", "GET", "/calls/{call}/export/scores.csv", 200, shows=False),
        Case("calls.export", "GET", "/calls/{call}/export/ranking.csv", 200, shows=True),
        Case("calls.decision", "GET", "/calls/{call}/decision", 200),
        Case(
            "calls.decision",
            "POST",
            "/calls/{call}/decision",
            400,
            data={},
            refused_data={"proposal": "{p}", "decision": "reject", "reason": "Leck"},
        ),
        # not in its standstill: refused with a message
        Case("awards.objection", "POST", P + "/objection", 302, data={}, refused_data={"reason": "Leck"}),
        Case(
            "awards.sign",
            "POST",
            P + "/sign-off",
            302,
            data={},
            refused_data={"decision": "reject", "reason": "Leck"},
        ),
        Case("awards.award", "POST", P + "/award", 302, data={}, refused_data={"amount": "1000"}),
        Case(
            "awards.milestone_add",
            "POST",
            P + "/milestones",
            302,
            data={},
            refused_data={"title": "Leck", "due_at": "2027-05-01T12:00"},
            potent=True,
        ),
        Case(
            "awards.milestone_accept",
            "POST",
            P + "/milestones/{ms_open}/accept",
            302,
            data={},
            refused_url=P + "/milestones/{ms_reported}/accept",
            refused_data={},
            potent=True,
        ),
        Case(
            "awards.milestone_report",
            "POST",
            P + "/milestones/{ms_open}/report",
            302,
            data={},
            refused_data={"text": "Leck"},
        ),
        Case(
            "awards.payment",
            "POST",
            P + "/payments",
            422,  # an empty form: the page again, each error at its field
            data={},
            refused_data={"amount": "100", "note": "Leck"},
            potent=True,
        ),
        Case(
            "awards.report_review",
            "POST",
            P + "/reports/{report}/review",
            302,
            data={},
            refused_data={"decision": "approve"},
            potent=True,
        ),
        Case(
            "awards.report",
            "POST",
            P + "/reports/interim",
            422,  # an empty report: the page again, each error at its field
            data={},
            refused_url=P + "/reports/final",
            refused_data={"narrative": "Leck"},
        ),
        Case("mail.messages", "GET", "/messages", 200),
        Case("mail.message", "GET", "/messages/{mail}", 200, shows=True),
        Case("mail.outbox", "GET", "/outbox", 200),
        Case("mail.worker_status", "GET", "/worker", 200),
        Case("mail.retry_mail", "POST", "/worker/mails/{mail}/retry", 302, data={}, refused_data={}),
        Case("mail.retry_mails", "POST", "/worker/mails/retry", 302, data={}, refused_data={}),
        # the receipt is not held: an official's release is refused with a message (nothing changes)
        Case("mail.release_mail", "POST", "/outbox/{mail}/release", 302, data={}, refused_data={}),
        Case("documents.proposal_document", "GET", P + "/documents/receipt.pdf", 200),
        Case("documents.call_record", "GET", "/calls/{call}/vergabevermerk.pdf", 200),
        Case("register.index", "GET", "/public-register", 200, shows=True),
        Case("register.as_csv", "GET", "/public-register.csv", 200, shows=True),
        Case("register.as_json", "GET", "/public-register.json", 200, shows=True),
        Case("dashboard.call", "GET", "/calls/{call}/dashboard", 200),
        Case(
            "outcomes.confirm",
            "POST",
            P + "/values/{value_done}/confirm",  # confirmed already: nothing changes
            302,
            data={},
            refused_url=P + "/values/{value}/confirm",
            refused_data={},
            potent=True,
        ),
        Case(
            "outcomes.correct",
            "POST",
            P + "/values/{value}/correct",
            422,  # no value, no reason: the page again, each error at its field, nothing changes
            data={},
            refused_data={"value": "5", "reason": "Leck"},
        ),
        Case("api.calls", "GET", "/api/v1/calls", 200),
        Case("api.call", "GET", "/api/v1/calls/{call}", 200),
        Case("api.call_report", "GET", "/api/v1/calls/{call}/report", 200),
        Case("api.register", "GET", "/api/v1/register", 200, shows=True),
        Case("api.year_report", "GET", "/api/v1/reports/2026", 200),
        Case("api.openapi", "GET", "/api/v1/openapi.json", 200),
        Case("api.proposals", "GET", "/api/v1/proposals", 401),
        Case("api.proposal", "GET", "/api/v1/proposals/{p}", 401),
        Case("api.reviews", "GET", "/api/v1/proposals/{p}/reviews", 401),
        Case("api.indicators", "GET", "/api/v1/proposals/{p}/indicators", 401),
        Case("api.add_payment", "POST", "/api/v1/proposals/{p}/payments", 401, data={"amount_cents": 100}),
        Case(
            "api.add_indicator_values",
            "POST",
            "/api/v1/proposals/{p}/indicator-values",
            401,
            data={"values": {"participants": 1}},
        ),
        Case("api_admin.index", "GET", "/admin/api-tokens", 200),
        Case(
            "api_admin.index",
            "POST",
            "/admin/api-tokens",
            422,  # no application named: nothing made
            data={},
            refused_data={"name": "Leck", "email": "ka@x.test", "scopes": ["read"]},
            potent=True,
        ),
        Case(
            "api_admin.revoke",
            "POST",
            "/admin/api-tokens/{token_revoked}/revoke",  # revoked already: nothing changes
            302,
            data={},
            refused_url="/admin/api-tokens/{token}/revoke",
            refused_data={},
            potent=True,
        ),
        Case("outcomes.reports", "GET", "/reports/implementation", 200),
        Case("outcomes.open_data", "GET", "/calls/{call}/open-data/ocds.json", 200, shows=True),
        Case("outcomes.year_report", "GET", "/reports/implementation/2026", 200),
        Case("outcomes.year_report_file", "GET", "/reports/implementation/2026.csv", 200),
        Case("outcomes.call_report", "GET", "/calls/{call}/implementation-report", 200),
        Case("outcomes.call_report_file", "GET", "/calls/{call}/implementation-report.xlsx", 200),
        Case(
            "outcomes.year_report_text",
            "POST",
            "/reports/implementation/2026/text",
            422,  # too long: the page again, nothing stored
            data={"text": "y" * 20001},
            refused_data={"text": "Leck"},
        ),
        Case(
            "outcomes.call_report_text",
            "POST",
            "/calls/{call}/implementation-report/text",
            422,
            data={"text": "y" * 20001},
            refused_data={"text": "Leck"},
        ),
        Case("calendar.call_deadlines", "GET", "/calls/{call}/deadlines.ics", 200),
        Case("calendar.proposal_deadlines", "GET", P + "/deadlines.ics", 200),
        # without the form's field: refused before a job is written
        Case(
            "calls.export_job",
            "POST",
            "/calls/{call}/export/ranking.csv",
            400,
            data={},
            refused_data={"start": "1"},
        ),
        Case(
            "calls.record_job",
            "POST",
            "/calls/{call}/vergabevermerk.pdf",
            400,
            data={},
            refused_data={"start": "1"},
        ),
        Case("jobs.show", "GET", "/jobs/{job}", 200),
        Case("jobs.status_json", "GET", "/jobs/{job}.json", 200),
        Case("jobs.download", "GET", "/jobs/{job}/download", 200, shows=True),
        Case("privacy.data", "GET", "/account/data", 200),
        Case("privacy.export", "GET", "/account/data/export.zip", 200),
        # no confirmation and no password: the form is shown again, nothing is deleted
        Case("privacy.delete", "POST", "/account/delete", 400, data={}),
        Case("mailtemplates.index", "GET", "/calls/{call}/mail-templates", 200),
        Case("mailtemplates.new", "GET", "/calls/{call}/mail-templates/new", 200),
        Case(
            "mailtemplates.new",
            "POST",
            "/calls/{call}/mail-templates/new",
            422,
            data={},
            refused_data={
                "kind": "rejection",
                "lang": "en",
                "state": "",
                "field_of_action": "",
                "subject": "Leck",
                "body": "Leck",
            },
        ),
        Case("mailtemplates.edit", "GET", "/calls/{call}/mail-templates/{tpl}", 200),
        # an empty form keeps the template's text: unchanged, nothing written
        Case(
            "mailtemplates.edit",
            "POST",
            "/calls/{call}/mail-templates/{tpl}",
            302,
            data={},
            refused_data={"subject": "Leck", "body": "Leck"},
        ),
        # the preview shows a real proposal to officials who may read it, a sample to the admin
        Case("mailtemplates.show_preview", "GET", "/calls/{call}/mail-templates/{tpl}/preview", 200),
        # no version: the activation is refused with a message (the template is a draft: nothing to deactivate)
        Case(
            "mailtemplates.activate",
            "POST",
            "/calls/{call}/mail-templates/{tpl}/activate",
            302,
            data={},
            refused_data={"version": "1"},
        ),
        Case(
            "mailtemplates.deactivate",
            "POST",
            "/calls/{call}/mail-templates/{tpl}/deactivate",
            302,
            data={},
            refused_data={},
        ),
        Case(
            "mailtemplates.delete",
            "POST",
            "/calls/{call}/mail-templates/{tpl}/delete",
            302,
            data={},
            refused_data={"confirm": "y"},
        ),
        # nothing parked by this browser: back to the start page; another browser's parked text is not found
        Case("parking.index", "GET", "/parked", 302),
        Case("parking.apply", "POST", "/parked/1/apply", 404, data={}),
        Case("parking.discard_view", "POST", "/parked/1/discard", 404, data={}),
        # last: ends the session
        Case("accounts.logout", "POST", "/logout", 302, data={}),
    ]


CASES = _cases()


# --- helpers -------------------------------------------------------------------------------------------


def db_fingerprint() -> dict:
    """Every row of every table, read on a connection of its own (one round trip on PostgreSQL)."""
    # parked_posts: an anonymous post to a long form is kept for its browser (issue 5), never applied by itself
    tables = [t for t in db.metadata.sorted_tables if t.name != "parked_posts"]
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            columns = ", ".join(
                f"(SELECT string_agg(x::text, E'\\n' ORDER BY "
                f'{", ".join(f"x.{c.name}" for c in t.primary_key.columns)}) FROM "{t.name}" x)'
                for t in tables
            )
            return dict(
                zip([t.name for t in tables], conn.exec_driver_sql(f"SELECT {columns}").one(), strict=True)
            )
        return {
            t.name: conn.exec_driver_sql(f'SELECT * FROM "{t.name}" ORDER BY 1').fetchall() for t in tables
        }


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


def request(app, client, method: str, url: str, data: dict | None = None):
    """One request in its own app context (own g and session); the test's session holds no transaction."""
    db.session.commit()
    with app.app_context():
        resp = client.open(url, method=method, data=data)
        resp.body = resp.get_data()
        resp.close()  # a download streams a file: close it
    db.session.expire_all()
    return resp


def client_for(app, role: str):
    client = app.test_client()
    email = ROLE_LOGINS[role]
    if email is not None:
        db.session.commit()
        with app.app_context():
            login(client, email)
    return client


def leaks(body: bytes, *titles: str, names=(OWNER_NAME,), pdf: bool = True) -> list[str]:
    """What of a proposal a page shows: its title, its applicant's name, the uploaded file."""
    found = [t for t in (*titles, *names) if t.encode() in body]
    if pdf and PDF in body:
        found.append("PDF bytes")
    return found


def is_login_redirect(resp) -> bool:
    return resp.status_code == 302 and "/login" in resp.headers.get("Location", "")


def _fill(template: str, ids: dict) -> str:
    return template.format(**ids)


def _data(data: dict | None, ids: dict) -> dict | None:
    if data is None:
        return None
    out = {}
    for k, v in data.items():
        if v == "PDF":
            out[k] = (io.BytesIO(PDF), "leck.pdf")
        elif isinstance(v, str):
            out[k] = v.format(**ids) if "{" in v else v
        else:
            out[k] = v
    return out


# --- the world of the matrix ---------------------------------------------------------------------------


@pytest.fixture
def opened(app, world, clock):
    """The owner's proposal through the whole process: submitted, opened by two officials, reviewed by
    rev1, signed off by both offices, awarded, accepted, one milestone reported, interim report in."""
    from foerdercall.aftercommit import discard
    from foerdercall.awards.models import Claim, Drawdown, Milestone
    from foerdercall.awards.operations import report_milestone, submit_interim_report
    from foerdercall.awards.queries import award_of
    from foerdercall.mail.models import OutboxMail
    from foerdercall.outcomes.models import IndicatorValue
    from foerdercall.outcomes.operations import confirm_value
    from foerdercall.privacy.retention import place_hold
    from foerdercall.proposals.operations import request_reasons, start_draft
    from foerdercall.ranking.models import TieBreak
    from foerdercall.workflow.engine import fire

    call = world.call
    p = fill_draft(start_draft(call, world.applicant), world.applicant, title=TITLE)
    fire(p, "submit", world.applicant)
    q = fill_draft(start_draft(call, world.applicant2), world.applicant2, title=OTHER_TITLE)
    fire(q, "submit", world.applicant2)
    review = award_after_deadline(world, clock, call, p, q)
    fire(p, "accept_award", world.applicant)
    milestones = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all()
    report_milestone(milestones[0], world.applicant, "Kick-off erledigt")
    report = submit_interim_report(
        p,
        world.applicant,
        "Halbzeit erreicht",
        "",
        0,
        values={"participants": (Decimal(10), ""), "events": (Decimal(2), "")},
    )
    values = {v.indicator: v for v in db.session.scalars(select(IndicatorValue))}
    confirm_value(values["events"], world.ka)
    from foerdercall.api.operations import create_token, revoke_token

    live, _secret = create_token(world.admin, world.ka, "Finanzverfahren", ["read"])
    revoked, _secret = create_token(world.admin, world.ka, "Alt", ["read"])
    revoke_token(world.admin, revoked)
    db.session.commit()
    from foerdercall.jobs.operations import start_export
    from foerdercall.jobs.runner import run_job

    job = start_export(
        call, world.ka, "ranking", "csv"
    )  # a finished bulk job of official_ka's, with its file
    discard("job")  # run here, not in a thread
    job_id = job.id
    db.session.commit()
    assert run_job(job_id) == "done"
    db.session.commit()  # nothing pending: the requests of the matrix send no mail of their own
    assert p.state == "in_implementation" and p.advice_requested is False
    receipt = db.session.scalar(
        select(OutboxMail).where(OutboxMail.kind == "receipt", OutboxMail.recipient_id == world.applicant.id)
    )
    # an order proposed by KA on two proposals that are not tied (any step on it is refused: the matrix asks who
    # gets that far)
    tie = TieBreak(
        call_id=call.id,
        method="decision",
        members=sorted((p.id, q.id)),
        ranked=[q.id, p.id],
        reason="Vorschlag",
        proposed_by_id=world.ka.id,
        proposed_at=clock(),
        state="proposed",
        signatures=[
            {"user_id": world.ka.id, "name": world.ka.name, "office": "KA", "at": clock().isoformat()}
        ],
    )
    db.session.add(tie)
    request_reasons(q, world.applicant2, "Warum wurde mein Angebot ausgeschlossen?")  # q was excluded
    held = place_hold(q, world.afw, "Klage anhängig")
    # a drawdown and a claim on the owner's award, as rows (the award is a contract: no step on them is possible)
    award = award_of(p)
    drawdown = Drawdown(
        proposal_id=p.id,
        award_id=award.id,
        amount_cents=1_00,
        requested_at=clock(),
        requested_by_id=world.applicant.id,
        state="requested",
    )
    claim = Claim(
        proposal_id=p.id,
        award_id=award.id,
        amount_cents=1_00,
        reason="Test",
        claimed_at=clock(),
        claimed_by_id=world.ka.id,
        state="claimed",
    )
    db.session.add_all([drawdown, claim])
    db.session.commit()
    ids = {
        "tie": tie.id,
        "hold": held.id,
        "drawdown": drawdown.id,
        "claim": claim.id,
        "q": q.id,
        "call": call.id,
        "p": p.id,
        "attachment": p.attachments[0].id,
        "review": review.id,
        "mail": receipt.id,
        "ms_reported": milestones[0].id,
        "ms_open": milestones[1].id,
        "report": report.id,
        "value": values["participants"].id,  # reported
        "value_done": values["events"].id,  # confirmed
        "token": live.id,
        "token_revoked": revoked.id,
        "user": world.applicant.id,
        "rev2": world.rev2.id,
        "job": job_id,
    }
    from foerdercall.mailtemplates.operations import create_template  # a draft text of the call (issue 4)

    ids["tpl"] = create_template(
        call,
        world.ka,
        kind="rejection",
        lang="de",
        subject="Entscheidung {Aktenzeichen}",
        body="Sehr geehrte/r {Name},\n{Begruendung}",
    ).id
    db.session.commit()
    return SimpleNamespace(world=world, p=p, q=q, ids=ids)


# --- 1. the matrix -------------------------------------------------------------------------------------


def test_every_route_is_classified(app):
    """A new route fails here until it is added to ACCESS and to the cases of the matrix."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    endpoints = {r.endpoint for r in rules}
    assert endpoints == set(ACCESS), (
        f"unclassified: {sorted(endpoints - set(ACCESS))}; gone: {sorted(set(ACCESS) - endpoints)}"
    )
    assert set(ACCESS.values()) <= set(RULES)
    wanted = {(r.endpoint, m) for r in rules for m in r.methods - {"HEAD", "OPTIONS"}}
    covered = {(c.endpoint, c.method) for c in CASES}
    assert wanted == covered, (
        f"not requested: {sorted(wanted - covered)}; unknown: {sorted(covered - wanted)}"
    )


def test_permission_matrix(app, opened):
    """Every route as every role (one world for all roles: the requests of the matrix change nothing)."""
    problems = []
    for role in ROLE_LOGINS:
        problems += _matrix_problems(app, opened.ids, role)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def _matrix_problems(app, ids, role) -> list[str]:
    client = client_for(app, role)
    problems = []
    before = db_fingerprint()
    for case in CASES:
        allowed = role in RULES[ACCESS[case.endpoint]]
        if allowed:
            url, data = _fill(case.url, ids), _data(case.data, ids)
        else:
            url = _fill(case.refused_url or case.url, ids)
            data = _data(case.refused_data if case.refused_data is not None else case.data, ids)
        resp = request(app, client, case.method, url, data)
        after = db_fingerprint()
        what = f"{role}: {case.method} {url} ({case.endpoint}) -> {resp.status_code}"
        changed = changed_tables(before, after)
        if case.endpoint == "accounts.logout":  # ends the browser's login session on the server, nothing else
            changed = [t for t in changed if t != "login_sessions"]
        if changed:
            problems.append(f"{what}: changed {changed}")
        before = after
        if resp.status_code >= 500:
            problems.append(f"{what}: server error")
            continue
        may_see = role in PROPOSAL_READERS or (allowed and case.endpoint in SHOWS_PEOPLE_OR_MAIL)
        if allowed:
            ok = case.guest_ok if role == "anonymous" and case.guest_ok is not None else case.ok
            if resp.status_code != ok:
                problems.append(f"{what}: expected {ok}")
            elif case.shows and case.endpoint == "proposals.download" and resp.body != PDF:
                problems.append(f"{what}: download is not the uploaded file")
            elif case.shows and case.endpoint != "proposals.download" and TITLE.encode() not in resp.body:
                problems.append(f"{what}: the proposal's title is missing")
        elif role == "anonymous":
            if not is_login_redirect(resp):
                problems.append(f"{what}: expected a redirect to the login page")
        elif resp.status_code not in (403, 404):
            problems.append(f"{what}: expected 403 or 404")
        # the personal data ZIP stores each person's own uploads as they are, and every upload of this world is
        # the same test PDF: its bytes are no sign of a leak there (tests/privacy/test_export_memory.py checks
        # that a ZIP holds only its person's files)
        if not may_see and (found := leaks(resp.body, TITLE, pdf=case.endpoint != "privacy.export")):
            problems.append(f"{what}: shows {found}")
        # nor does anyone but its applicant and the officials see the other applicant's (ineligible) offer
        may_see_other = role in OTHER_READERS or (allowed and case.endpoint in SHOWS_PEOPLE_OR_MAIL)
        if not may_see_other and (found := leaks(resp.body, OTHER_TITLE, names=(OTHER_NAME,), pdf=False)):
            problems.append(f"{what}: shows the other applicant's {found}")
    return problems


# The matrix's classes as the rulebook names them (rule, object of the world): both must answer alike.
RULEBOOK = {
    "officials": ("official.work", None),
    "applicants": ("applicant.work", None),
    "reviewers": ("reviewer.work", None),
    "admin": ("admin.work", None),
    "advisor": ("advisor.work", None),
    "proposal_readers": ("proposal.read", "p"),
    "proposal_owner": ("proposal.own", "p"),
    "owner_mail": ("mail.read", "mail"),
}


def test_the_matrix_and_the_rulebook_agree(app, opened):
    """For every role, the rulebook allows exactly what the matrix expects of each class it names."""
    from flask_login import AnonymousUserMixin

    from foerdercall.accounts.models import User
    from foerdercall.mail.models import OutboxMail
    from foerdercall.policy import may
    from foerdercall.proposals.models import Proposal

    objects = {
        "p": db.session.get(Proposal, opened.ids["p"]),
        "mail": db.session.get(OutboxMail, opened.ids["mail"]),
    }
    users = {
        role: db.session.scalar(select(User).where(User.email == email)) if email else AnonymousUserMixin()
        for role, email in ROLE_LOGINS.items()
    }
    disagree = [
        f"{role}: {rule} is {'allowed' if not allowed else 'refused'} by the rulebook"
        for cls, (rule, obj) in RULEBOOK.items()
        for role, user in users.items()
        if (allowed := role in RULES[cls]) != may(user, rule, objects.get(obj) if obj else None)
    ]
    assert disagree == []


def test_refused_requests_of_the_matrix_would_change_something(app, opened):
    """The data refused roles send is not harmless: a permitted role sending it changes the database
    (so "nothing changed" in the matrix means the access check held, not that the request was empty)."""
    ids = opened.ids
    first = {
        "officials": "official_ka",
        "admin": "admin",
        "proposal_viewers": "reviewer_unassigned",
    }
    # endpoint -> the table the change lands in; in this order (the call decided, the proposal terminated last)
    expected = {
        "reviews.neutrality": "neutrality_declarations",
        "accounts.user_roles": "role_grants",
        "offices.new": "offices",
        "calls.new": "calls",
        "calls.copy": "calls",
        "awards.milestone_add": "milestones",
        "awards.milestone_accept": "milestones",
        "awards.payment": "payments",
        "awards.report_review": "reports",
        "outcomes.confirm": "indicator_values",
        "api_admin.index": "api_tokens",
        "api_admin.revoke": "api_tokens",
        "calls.fire_trigger": "calls",
        "proposals.fire_trigger": "proposals",
        "proposals.answer_reasons_view": "reason_requests",
        "privacy.hold": "legal_holds",
        "reviews.official_conflict": "conflict_declarations",  # last: the official no longer reads it
    }
    potent = {c.endpoint: c for c in CASES if c.potent}
    assert set(potent) == set(expected)
    clients = {}
    for endpoint, table in expected.items():
        case = potent[endpoint]
        role = first.get(ACCESS[endpoint], "official_ka")
        if role not in clients:
            clients[role] = client_for(app, role)
        before = db_fingerprint()
        resp = request(
            app,
            clients[role],
            case.method,
            _fill(case.refused_url or case.url, ids),
            _data(case.refused_data, ids),
        )
        assert resp.status_code < 400, f"{endpoint}: {resp.status_code}"
        changed = changed_tables(before, db_fingerprint())
        assert table in changed and "audit_events" in changed, f"{endpoint}: changed only {changed}"


def test_second_applicant_gets_404_for_the_first_applicants_proposal(app, world):
    from foerdercall.audit.models import AuditEvent
    from foerdercall.proposals.models import Attachment, Proposal
    from foerdercall.proposals.operations import start_draft
    from foerdercall.workflow.engine import fire

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title=TITLE)
    own = start_draft(world.call, world.applicant2)  # the second applicant's own draft
    db.session.commit()
    a_id, p_id, own_id = p.attachments[0].id, p.id, own.id
    owner, other = client_for(app, "owner"), client_for(app, "other_applicant")
    pages = [f"/proposals/{p_id}", f"/proposals/{p_id}/edit", f"/proposals/{p_id}/attachments/{a_id}"]

    def audit_count():
        return len(db.session.scalars(select(AuditEvent.id)).all())

    for phase in ("draft", "submitted"):
        for url in pages:
            resp = request(app, other, "GET", url)
            assert resp.status_code == 404, (phase, url)
            assert not leaks(resp.body, TITLE), (phase, url)
        # the same answer as for a proposal that does not exist (but for the path in the language switch)
        missing = request(app, other, "GET", f"/proposals/{p_id + 1000}")
        assert missing.status_code == 404
        assert untimed(missing.body.replace(str(p_id + 1000).encode(), str(p_id).encode())) == untimed(
            request(app, other, "GET", pages[0]).body
        )
        # the owner does get them (the 404 above is not a broken page)
        assert TITLE in request(app, owner, "GET", pages[0]).get_data(as_text=True)
        assert request(app, owner, "GET", pages[2]).body == PDF
        # nor can the second applicant change, upload to, delete from, submit or withdraw it
        events = audit_count()
        for url, data in [
            (f"/proposals/{p_id}/edit", {"title": "Gekapert", "action": "submit"}),
            (
                f"/proposals/{p_id}/edit",
                {"title": "Gekapert", "action": "save", "kind": "other", "file": (io.BytesIO(PDF), "x.pdf")},
            ),
            (f"/proposals/{p_id}/attachments/{a_id}/delete", {}),
            (f"/proposals/{p_id}/fire/submit", {}),
            (f"/proposals/{p_id}/fire/withdraw", {}),
        ]:
            resp = request(app, other, "POST", url, data)
            assert resp.status_code == 404, (phase, url)
            assert not leaks(resp.body, TITLE), (phase, url)
        # nor reach the first applicant's file through their own proposal's URL
        resp = request(app, other, "GET", f"/proposals/{own_id}/attachments/{a_id}")
        assert resp.status_code == 404 and not leaks(resp.body, TITLE), phase
        resp = request(app, other, "POST", f"/proposals/{own_id}/attachments/{a_id}/delete", {})
        assert resp.status_code in (302, 404) and not leaks(resp.body, TITLE), phase
        p = db.session.get(Proposal, p_id)
        assert (p.title, p.state) == (TITLE, phase)
        assert db.session.get(Attachment, a_id) is not None and len(p.attachments) == 2
        assert audit_count() == events
        if phase == "draft":
            assert request(app, owner, "GET", pages[1]).status_code == 200
            fire(p, "submit", world.applicant)
            db.session.commit()


def test_advisor_reads_only_proposals_of_applicants_who_asked_for_advice(app, world):
    from foerdercall.proposals.operations import save_draft, start_draft
    from foerdercall.workflow.engine import fire

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title=TITLE)
    q = fill_draft(start_draft(world.call, world.applicant2), world.applicant2, title=OTHER_TITLE)
    save_draft(q, world.applicant2, {"advice_requested": True})
    db.session.commit()
    advisor = client_for(app, "advisor")
    # while drafting, the Kontaktstelle reads what it was asked to advise on, and nothing else
    assert OTHER_TITLE in request(app, advisor, "GET", f"/proposals/{q.id}").get_data(as_text=True)
    resp = request(app, advisor, "GET", f"/proposals/{p.id}")
    assert resp.status_code == 404 and not leaks(resp.body, TITLE)
    listing = request(app, advisor, "GET", "/advice")
    assert OTHER_TITLE.encode() in listing.body and not leaks(listing.body, TITLE)
    # once submitted, the seal holds for the advisor as for the city until the opening
    fire(p, "submit", world.applicant)
    fire(q, "submit", world.applicant2)
    db.session.commit()
    resp = request(app, advisor, "GET", f"/proposals/{q.id}")
    assert resp.status_code == 404 and not leaks(resp.body, OTHER_TITLE)
    listing = request(app, advisor, "GET", "/advice")
    assert listing.status_code == 200 and not leaks(listing.body, OTHER_TITLE)


# --- 2. sealed until the deadline ----------------------------------------------------------------------


def _submitted(world):
    from foerdercall.mail.models import OutboxMail
    from foerdercall.proposals.operations import start_draft
    from foerdercall.workflow.engine import fire

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title=TITLE)
    fire(p, "submit", world.applicant)
    q = fill_draft(start_draft(world.call, world.applicant2), world.applicant2, title=OTHER_TITLE)
    fire(q, "submit", world.applicant2)
    db.session.commit()
    receipt = db.session.scalar(
        select(OutboxMail).where(OutboxMail.kind == "receipt", OutboxMail.recipient_id == world.applicant.id)
    )
    return p, q, receipt


def _assert_sealed(app, clients, call_id, p, receipt, moment):
    pages = {
        "proposal": f"/proposals/{p.id}",
        "download": f"/proposals/{p.id}/attachments/{p.attachments[0].id}",
        "list": f"/calls/{call_id}/proposals",
        "outbox": "/outbox",
        "receipt": f"/messages/{receipt.id}",
        "opening": f"/calls/{call_id}/opening",
        "call": f"/calls/{call_id}",
    }
    for role, client in clients.items():
        for name, url in pages.items():
            resp = request(app, client, "GET", url)
            where = f"{moment}: {role} {name}"
            assert resp.status_code < 500, where
            assert not leaks(resp.body, TITLE, OTHER_TITLE, names=(OWNER_NAME, OTHER_NAME)), where
            if name in ("proposal", "download", "receipt"):
                assert resp.status_code == 404, where
            elif name == "list":
                # officials see only how many arrived; the admin is no official
                assert resp.status_code == (200 if role != "admin" else 403), where
                if role != "admin":
                    assert "2 Angebote sind eingegangen" in resp.get_data(as_text=True), where
            elif name == "outbox" and role == "admin":
                assert resp.status_code == 403, where  # admins manage accounts, not proposals
            elif name == "outbox":
                assert resp.status_code == 200, where
                assert (
                    "Nachrichten sind ausgeblendet: zu noch verschlossenen Angeboten (bis zur Öffnung)"
                    in resp.get_data(as_text=True)
                ), where
    # what officials could try to do with a sealed proposal is refused as well
    before = db_fingerprint()
    for trigger in ("declare_eligible", "request_documents"):
        resp = request(
            app,
            clients["official_ka"],
            "POST",
            f"/proposals/{p.id}/fire/{trigger}",
            {"reason": "Bitte nachreichen"},
        )
        assert resp.status_code == 404, (moment, trigger)
    assert not changed_tables(before, db_fingerprint()), moment


def test_proposals_are_sealed_until_two_officials_open_them(app, world, clock):
    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.workflow.engine import fire

    p, q, receipt = _submitted(world)
    call = world.call
    clients = {role: client_for(app, role) for role in ("official_ka", "official_afw", "admin")}
    # the owner sees the receipt (the seal is not a broken page)
    owner = client_for(app, "owner")
    assert TITLE in request(app, owner, "GET", f"/messages/{receipt.id}").get_data(as_text=True)

    _assert_sealed(app, clients, call.id, p, receipt, "before the deadline")
    # the opening cannot start before the deadline
    with pytest.raises(ActionRefused):
        request_opening(call, world.ka)
    db.session.rollback()

    clock.set(berlin(2026, 11, 1, 0, 5))
    fire(call, "close", None)
    db.session.commit()
    _assert_sealed(app, clients, call.id, p, receipt, "after the deadline, not opened")

    request_opening(call, world.ka)
    db.session.commit()
    _assert_sealed(app, clients, call.id, p, receipt, "opening requested, not confirmed")
    # the same official cannot confirm their own request: not through the operation ...
    with pytest.raises(ActionRefused):
        confirm_opening(call, world.ka)
    db.session.rollback()
    # ... nor through the page
    resp = request(app, clients["official_ka"], "POST", f"/calls/{call.id}/opening", {})
    assert resp.status_code == 302
    assert call.opening.confirmed_at is None and call.is_sealed
    _assert_sealed(app, clients, call.id, p, receipt, "after the requester tried to confirm")

    clock.advance(minutes=20)
    confirm_opening(call, world.afw)
    db.session.commit()
    for role in ("official_ka", "official_afw"):
        client = clients[role]
        resp = request(app, client, "GET", f"/proposals/{p.id}")
        assert resp.status_code == 200 and TITLE in resp.get_data(as_text=True), role
        resp = request(app, client, "GET", f"/proposals/{p.id}/attachments/{p.attachments[0].id}")
        assert resp.status_code == 200 and resp.body == PDF, role
        listing = request(app, client, "GET", f"/calls/{call.id}/proposals").get_data(as_text=True)
        assert TITLE in listing and OTHER_TITLE in listing, role
        resp = request(app, client, "GET", f"/messages/{receipt.id}")
        assert resp.status_code == 200 and TITLE in resp.get_data(as_text=True), role
    # the admin is no official: the proposal stays closed to them after the opening, too
    for url in (f"/proposals/{p.id}", f"/proposals/{p.id}/attachments/{p.attachments[0].id}"):
        resp = request(app, clients["admin"], "GET", url)
        assert resp.status_code == 404 and not leaks(resp.body, TITLE), url


def test_opening_record_lists_every_submitted_proposal_with_time_and_hashes(app, world, clock):
    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.proposals.operations import start_draft
    from foerdercall.workflow.engine import fire

    p, q, _receipt = _submitted(world)
    draft = fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Nie eingereicht")
    clock.set(berlin(2026, 11, 1, 8, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    clock.advance(minutes=3)
    opening = confirm_opening(world.call, world.afw)
    db.session.commit()

    record = opening.record
    assert [o["name"] for o in record["officials"]] == ["Karla KA", "Wolfgang AfWiFö"]
    assert {o["office"] for o in record["officials"]} == {"KA", "AfWiFoe"}
    rows = {r["file_number"]: r for r in record["proposals"]}
    assert set(rows) == {p.file_number, q.file_number}  # not the draft
    assert draft.file_number is None
    digest = hashlib.sha256(PDF).hexdigest()
    for prop in (p, q):
        row = rows[prop.file_number]
        assert row["received_at"] == prop.submitted_at.isoformat()
        assert sorted((f["name"], f["sha256"]) for f in row["files"]) == sorted(
            (a.filename, digest) for a in prop.attachments
        )
        assert len(row["files"]) == 2
    # the record is shown to officials with the receipt times and hashes
    page = request(app, client_for(app, "official_afw"), "GET", f"/calls/{world.call.id}/opening")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert p.file_number in text and q.file_number in text and digest[:16] in text
    assert "Karla KA" in text and "Wolfgang AfWiFö" in text

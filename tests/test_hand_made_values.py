"""Hand-made values (issue 17, hole 7): a query argument or a form value that no page offers is a 4xx with a
message, never a 500; the rest of the typed text is kept; no line break of user text reaches a mail header.

The class proofs: every form field that a column stores has a length limit no larger than the column
(:func:`test_every_form_field_has_a_length_limit_within_its_column`), every single-line field drops line breaks
(:func:`test_single_line_fields_drop_line_breaks`), every query argument on every GET route is fuzzed
(tests/fuzz/test_fuzz_query_args.py).
"""

from __future__ import annotations

import inspect
import pkgutil

import pytest
from conftest import criteria_fields, field_rows, login
from sqlalchemy import String, select

from foerdercall.extensions import db

# --- query arguments: ids ---------------------------------------------------------------------------------

HOSTILE_IDS = ["²", "1²", "٣", "2147483648", "99999999999999999999", "-1", "1.0", " 1", "0x1", "1e3", "+1"]


@pytest.mark.parametrize("url", ["/public-register", "/public-register.csv", "/public-register.json"])
def test_register_ids_that_no_page_offers_are_a_404(app, world, url):
    client = app.test_client()
    for raw in HOSTILE_IDS:
        resp = client.get(url, query_string={"call": raw})
        assert resp.status_code == 404, (url, raw)
        assert "Diese Seite gibt es nicht" in resp.get_data(as_text=True), (url, raw)
    # the real id still filters
    assert client.get(url, query_string={"call": str(world.call.id)}).status_code == 200


def test_parse_id_reads_ascii_digits_within_the_database_integer():
    from foerdercall.text import parse_id

    assert parse_id("1") == 1 and parse_id("2147483647") == 2**31 - 1
    for raw in [None, "", *HOSTILE_IDS]:
        assert parse_id(raw) is None, raw


def test_ranking_page_argument_that_is_no_number_is_the_first_page(app, world, clock):
    """?page= is documented as "a number, else the first page": hostile values are ignored, never a 500."""
    from conftest import berlin

    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.workflow.engine import fire

    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    db.session.commit()
    client = app.test_client()
    login(client, world.ka.email)
    for raw in ["²", "99999999999999999999999", "-5", "abc", ""]:
        resp = client.get(f"/calls/{world.call.id}/ranking", query_string={"page": raw})
        assert resp.status_code == 200 and world.call.title in resp.get_data(as_text=True), raw  # the ranking


# --- form values: lengths and choices -----------------------------------------------------------------------


def _draft(app, world):
    from foerdercall.proposals.operations import start_draft

    p = start_draft(world.call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, world.applicant.email)
    return p, client


@pytest.mark.parametrize("value", ["x" * 5000, "education", "²"])
def test_field_of_action_outside_the_offered_list_is_a_message_and_the_text_is_kept(app, world, value):
    """An over-long or unknown field of action (a hand-made post) is a message on the form; the typed text is
    shown again (not lost), nothing is written."""
    from foerdercall.proposals.models import Proposal

    p, client = _draft(app, world)
    before = (p.title, p.description, p.field_of_action)
    typed = "Ein langer, mühsam getippter Konzepttext, der nicht verloren gehen darf."
    resp = client.post(
        f"/proposals/{p.id}/edit",
        data={"title": "Mein Titel", "description": typed, "field_of_action": value, "action": "save"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Bitte wählen Sie ein Handlungsfeld aus der Liste." in html
    assert typed in html and "Mein Titel" in html
    db.session.expire_all()
    saved = db.session.get(Proposal, p.id)
    assert (saved.title, saved.description, saved.field_of_action) == before
    # an offered one is saved
    resp = client.post(
        f"/proposals/{p.id}/edit", data={"title": "Mein Titel", "field_of_action": "marketing"}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).field_of_action == "marketing"


def _forms():
    """Every WTForms form class of the app (forms/*.py)."""
    from flask_wtf import FlaskForm

    import forms

    found = {}
    for info in pkgutil.iter_modules(forms.__path__):
        module = __import__(f"forms.{info.name}", fromlist=["_"])
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, FlaskForm)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[name] = cls
    return found


def _feeds():
    """Which models' columns each form's fields are stored in (by the field's name). Every form is listed: a
    new form fails the test below until it is."""
    from foerdercall.accounts.models import User
    from foerdercall.api.models import ApiToken
    from foerdercall.awards.models import Claim, Drawdown, Milestone, Payment, Report, SignOff
    from foerdercall.calls.models import Call, CallVersion, Criterion
    from foerdercall.mailtemplates.models import MailTemplate
    from foerdercall.offices.models import Office
    from foerdercall.outcomes.models import IndicatorValue, ReportText
    from foerdercall.privacy.models import LegalHold
    from foerdercall.proposals.models import Attachment, Clarification, Proposal, ReasonRequest
    from foerdercall.ranking.models import Standstill, TieBreak
    from foerdercall.reviews.models import ConflictDeclaration, ReviewDecline

    return {
        "LoginForm": [User],
        "LanguageForm": [],
        "NotifyForm": [User],
        "SalutationForm": [User],
        "RegisterForm": [User],
        "RolesForm": [User],
        "OfficeForm": [Office],
        "ForgotPasswordForm": [User],
        "ResetPasswordForm": [],
        "TwoFactorCodeForm": [],
        "TwoFactorSetupForm": [],
        "TwoFactorDisableForm": [],
        "RetryFailedForm": [],  # a filter: the reason is compared, never stored
        "SignOffForm": [SignOff],
        "AwardForm": [],
        "TextForm": [Milestone],
        "ReportForm": [Report],
        "CorrectValueForm": [IndicatorValue],  # the value typed is read as a number (outcomes.operations)
        "ReportTextForm": [ReportText],
        "ApiTokenForm": [ApiToken],  # the e-mail address only finds the account
        "PaymentForm": [Payment],
        "MilestoneForm": [Milestone],
        "ObjectionForm": [Standstill],
        "CallForm": [Call],
        "FormBuilderForm": [Call],  # the rows become the call's application form (JSON), read by appform
        "QuestionRowForm": [],
        "CorrectionForm": [Call, CallVersion],
        "CriterionForm": [Criterion],
        "FieldOfActionForm": [],  # rows of the JSON list calls.fields_of_action (labels up to 200)
        "MilestonePlanForm": [],  # rows of the JSON list calls.milestone_plan
        "CopyCallForm": [],
        "RowsForm": [],  # the base of forms with row lists: only its row_action (a button's value)
        "ConfirmForm": [],
        "BulkSignOffForm": [SignOff],
        "BulkStepForm": [],  # the ids of the proposals to step on
        "ExportJobForm": [],
        "MailTemplateForm": [MailTemplate],
        "MailTemplateTextForm": [MailTemplate],
        "ActivateForm": [],
        "DeleteTemplateForm": [],
        "DeleteAccountForm": [],
        "ProposalForm": [Proposal],
        "ApplicationForm": [Proposal],  # made per call form: _bound() makes one with a question of every type
        "UploadForm": [Attachment],
        "AnswerForm": [Clarification],
        "ReasonForm": [],
        "ExtendForm": [Proposal],
        "NeutralityForm": [],
        "OfficialConflictForm": [ConflictDeclaration],
        "TieForm": [TieBreak],
        "ReasonsRequestForm": [ReasonRequest],
        "ReasonsAnswerForm": [ReasonRequest],
        "HoldForm": [LegalHold],
        "DrawdownForm": [Drawdown],
        "ClaimForm": [Claim],
        "ConflictForm": [ConflictDeclaration],
        "AssignForm": [],
        "DeclineForm": [ReviewDecline],
        "ReplaceForm": [],
        "ScoreForm": [],
        "UnlockRequestForm": [],
        "EndSessionsForm": [],
    }


# hidden fields the form reads as a row id or version (forms/mailtemplates.py: foerdercall.text.parse_id, anything
# else is a refusal with a message): never stored as text
READ_AS_ID = {("ActivateForm", "version"), ("MailTemplateTextForm", "version")}


def _bound(form_cls, app):
    """The form as a page makes it (forms for a call get a call with every field of action)."""
    from types import SimpleNamespace

    from foerdercall.calls.operations import DEFAULT_FIELDS_OF_ACTION

    needs = inspect.signature(form_cls.__init__).parameters
    fields = DEFAULT_FIELDS_OF_ACTION
    call = SimpleNamespace(fields_of_action=fields, field_keys=[f["key"] for f in fields])
    extra = {"call": call} if "call" in needs else {}
    if "kind" in needs:
        extra["kind"] = "rejection"
    if form_cls.__name__ == "ApplicationForm":
        from appform.cases import EVERY_TYPE

        from foerdercall.appform.definition import parse_definition, with_fields_of_action
        from forms.application import application_form

        form_cls = application_form(with_fields_of_action(parse_definition(EVERY_TYPE), fields), "de")
    with app.test_request_context("/"):
        return _Flat(form_cls(meta={"csrf": False}, **extra))


class _Flat:
    """A form's fields with those of its tables' rows and sub-forms (a generated application form has them)."""

    def __init__(self, form):
        self.form = form

    def __getattr__(self, name):
        return getattr(self.form, name)

    def __iter__(self):
        from wtforms import FieldList, FormField

        def flat(fields):
            for field in fields:
                if isinstance(field, FieldList):
                    yield from flat(field.entries)
                elif isinstance(field, FormField):
                    yield from flat(field.form)
                else:
                    yield field

        return flat(self.form)


def test_every_form_field_has_a_length_limit_within_its_column(app):
    """Every text a form takes is bounded by the form (a message, the text kept), never first by the database
    (a 500 on PostgreSQL, the typed text lost): each text field has Length(max=n), at most the String(n) of the
    column of the same name it is stored in; each choice field checks the choice (or a validator does)."""
    from flask_wtf.file import FileField, MultipleFileField
    from wtforms import (
        BooleanField,
        FieldList,
        HiddenField,
        IntegerField,
        PasswordField,
        SelectFieldBase,
        StringField,
        SubmitField,
    )
    from wtforms.validators import AnyOf, EqualTo, Length

    from forms.fields import BerlinDateTimeField, DaysField, DaysListField, MoneyField

    feeds = _feeds()
    found = _forms()
    assert set(found) - set(feeds) == set(), (
        "forms not listed in _feeds(): list the models they are stored in"
    )
    parsed = (
        MoneyField,
        DaysField,
        DaysListField,
        BerlinDateTimeField,
        IntegerField,
        BooleanField,
        FileField,
        MultipleFileField,
        SubmitField,
    )  # parse into a number, a date, a flag or a file: no free text is stored
    problems = []
    for name, cls in sorted(found.items()):
        form = _bound(cls, app)
        columns = {}
        for model in feeds[name]:
            for col in model.__table__.columns:
                if isinstance(col.type, String) and col.type.length:
                    columns[col.name] = min(col.type.length, columns.get(col.name, col.type.length))
        for field in form:
            if field.name == "csrf_token" or isinstance(field, parsed):
                continue
            where = f"{name}.{field.name}"
            inline = getattr(form, f"validate_{field.name}", None)
            if isinstance(field, SelectFieldBase):
                if not getattr(field, "validate_choice", True) and not field.validators and inline is None:
                    problems.append(f"{where}: a choice that is not checked")
                continue
            if (name, field.name) in READ_AS_ID:
                continue
            if isinstance(field, FieldList):  # rows of a form of their own (CriterionForm), checked as such
                continue
            if isinstance(field, StringField | HiddenField | PasswordField):
                limits = [v.max for v in field.validators if isinstance(v, Length) and v.max and v.max > 0]
                bounded = any(
                    isinstance(v, AnyOf | EqualTo) for v in field.validators
                )  # fixed, or another field's
                if not limits and not bounded:
                    problems.append(f"{where}: no Length(max=…)")
                elif field.name in columns and limits and min(limits) > columns[field.name]:
                    problems.append(f"{where}: Length(max={min(limits)}) > String({columns[field.name]})")
                continue
            problems.append(f"{where}: unknown kind of field {type(field).__name__}")
    assert problems == []


def test_single_line_fields_drop_line_breaks(app):
    """A single-line input (a call title, a name, a milestone) keeps no line break, as a browser's text input
    would: the class, over every form; a text area keeps its lines."""
    from wtforms import PasswordField, StringField, TextAreaField

    from forms.fields import BerlinDateTimeField, DaysField, DaysListField, MoneyField

    hostile = "A\r\nBcc: x@evil.example\u2028C"
    problems = []
    for name, cls in sorted(_forms().items()):
        for field in _bound(cls, app):
            if not isinstance(field, StringField) or isinstance(
                field,
                TextAreaField | PasswordField | MoneyField | DaysField | DaysListField | BerlinDateTimeField,
            ):
                continue
            field.process(_FormData({field.name: hostile}))
            if not isinstance(field.data, str) or any(c in field.data for c in "\r\n\u2028"):
                problems.append(f"{name}.{field.name}: {field.data!r}")
    assert problems == []


class _FormData(dict):
    def getlist(self, key):
        return [self[key]] if key in self else []


# --- mail headers ------------------------------------------------------------------------------------------


def test_a_call_title_with_a_line_break_is_one_line_in_the_call_form(app, world):
    from foerdercall.calls.models import Call

    client = app.test_client()
    login(client, world.ka.email)
    resp = client.post(
        "/calls/new",
        data={
            "code": "NL26",
            "title": "A\r\nBcc: x@evil.example",
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
            "signoff_reminder_days": "3",
            "signoff_escalation_days": "5",
            "milestone_reminder_days": "7",
            "implementation_reminder_days": "30",
            "retention_months": "6",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    assert db.session.scalar(select(Call.title).where(Call.code == "NL26")) == "A Bcc: x@evil.example"


def test_a_call_titled_with_a_header_injection_gives_mails_with_one_subject_and_no_bcc(app, world):
    """Whatever the stored title holds (an older row, the command line), the mail is built with a one-line
    subject in one place: exactly one Subject header, no Bcc, the whole title in the subject."""
    from foerdercall.calls.operations import correct_call
    from foerdercall.mail.message import message_bytes, to_message
    from foerdercall.mail.models import OutboxMail
    from foerdercall.proposals.operations import start_draft

    start_draft(world.call, world.applicant)  # the applicant with a draft is told of the correction
    world.call.title = "A\r\nBcc: x@evil.example"
    correct_call(world.call, world.ka, "Tippfehler", description="neu")
    db.session.commit()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "call_corrected")).all()
    assert mails
    for mail in mails:
        assert "\n" not in mail.subject and "\r" not in mail.subject
        assert "A Bcc: x@evil.example" in mail.subject
        assert not mail.body.lstrip().startswith("Bcc")
        raw = message_bytes(mail)
        headers = raw.split(b"\r\n\r\n", 1)[0]
        assert headers.count(b"\r\nSubject: ") == 1
        assert b"\r\nBcc:" not in headers and not headers.startswith(b"Bcc:")
        msg = to_message(mail)
        assert msg["Bcc"] is None and len(msg.get_all("Subject")) == 1
        assert "A Bcc: x@evil.example" in msg["Subject"]


def test_a_long_title_still_fits_the_mail_subject(app, world):
    """The subject column holds 300 characters: a 300-character title in a longer subject line is cut (with
    an ellipsis) rather than failing the correction with a 500."""
    from foerdercall.calls.operations import correct_call
    from foerdercall.mail.models import OutboxMail
    from foerdercall.proposals.operations import start_draft

    start_draft(world.call, world.applicant)
    world.call.title = "T" * 300
    correct_call(world.call, world.ka, "Tippfehler", description="neu")
    db.session.commit()
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "call_corrected"))
    assert len(mail.subject) <= 300 and mail.subject.endswith("…")

"""Hand-made posts of the proposal form: a value the page does not offer, or longer than the database holds, is
a message with everything typed still in the form, never a 500 that loses the text (an over-long field of
action was a 500 on PostgreSQL, and the draft's new text was gone)."""
from __future__ import annotations

import pytest
from conftest import login

from foerdercall.extensions import db
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import save_draft, start_draft

TYPED = "Offene Siebdruckwerkstatt – drei Monate Arbeit"


@pytest.mark.parametrize("field", ["x" * 500, "Erfundenes Feld", "networking\n"])
def test_a_field_of_action_the_form_does_not_offer_is_a_message_and_keeps_the_text(app, world, clock, field):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    c = app.test_client()
    login(c, "app@x.test")
    resp = c.post(f"/proposals/{p.id}/edit", data={"title": "Alt", "summary": TYPED, "field_of_action": field})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Bitte wählen Sie ein Handlungsfeld aus der Liste." in page
    assert TYPED in page  # nothing typed is lost: the form comes back filled in
    db.session.expire_all()
    stored = db.session.get(Proposal, p.id)
    assert stored.summary != TYPED and len(stored.field_of_action) <= 40


def test_the_operation_refuses_a_field_of_action_the_call_does_not_have(app, world, clock):
    from foerdercall.errors import ActionRefused

    p = start_draft(world.call, world.applicant)
    with pytest.raises(ActionRefused):
        save_draft(p, world.applicant, {"field_of_action": "x" * 500})


def test_every_free_text_field_of_every_form_has_a_length_bound():
    """A text field without Length(max) lets a hand-made post reach the database's limit (a 500, text lost)."""
    from flask_wtf import FlaskForm
    from wtforms import PasswordField, StringField, TextAreaField
    from wtforms.validators import AnyOf, EqualTo, Length

    import forms.accounts
    import forms.awards
    import forms.calls
    import forms.jobs
    import forms.mailtemplates
    import forms.privacy
    import forms.proposals
    import forms.reviews
    from forms.fields import BerlinDateTimeField, DaysField, DaysListField, MoneyField

    parsed = (MoneyField, BerlinDateTimeField, DaysField, DaysListField)  # parsed into numbers or times
    by_row_id = {"forms.mailtemplates.MailTemplateTextForm.version", "forms.mailtemplates.ActivateForm.version"}
    missing = []
    for module in (forms.accounts, forms.awards, forms.calls, forms.jobs, forms.mailtemplates, forms.privacy,
                   forms.proposals, forms.reviews):
        for name, cls in vars(module).items():
            if not (isinstance(cls, type) and issubclass(cls, FlaskForm)) or cls.__module__ != module.__name__:
                continue
            for attr, unbound in vars(cls).items():
                field_cls = getattr(unbound, "field_class", None)
                if field_cls is None or not issubclass(field_cls, StringField | TextAreaField | PasswordField):
                    continue
                if issubclass(field_cls, parsed):
                    continue
                validators = unbound.kwargs.get("validators") or (unbound.args[1] if len(unbound.args) > 1 else [])
                if not any(isinstance(v, Length) and v.max and v.max > 0 or isinstance(v, AnyOf | EqualTo)
                           for v in validators):
                    if f"{module.__name__}.{name}.{attr}" not in by_row_id:  # parsed by text.row_id
                        missing.append(f"{module.__name__}.{name}.{attr}")
    assert missing == [], missing


def test_the_length_bounds_fit_the_columns():
    """Where a form field feeds a column of the same name, its bound is no larger than the column."""
    from sqlalchemy import String
    from wtforms import SelectField
    from wtforms.validators import Length

    import forms.accounts
    import forms.awards
    import forms.calls
    import forms.proposals
    from foerdercall.accounts.models import User
    from foerdercall.awards.models import Milestone, Payment
    from foerdercall.calls.models import Call

    pairs = [(forms.proposals.ProposalForm, Proposal), (forms.calls.CallForm, Call),
             (forms.accounts.RegisterForm, User), (forms.awards.MilestoneForm, Milestone),
             (forms.awards.PaymentForm, Payment)]
    too_long = []
    for form_cls, model in pairs:
        columns = {c.name: c for c in model.__table__.columns}
        for attr, unbound in vars(form_cls).items():
            col = columns.get(attr)
            if col is None or not isinstance(col.type, String) or not col.type.length:
                continue
            if issubclass(unbound.field_class, SelectField) and unbound.kwargs.get("validate_choice", True):
                continue  # only the offered choices pass
            bounds = [v.max for v in unbound.kwargs.get("validators", []) if isinstance(v, Length)]
            if not bounds or min(bounds) > col.type.length:
                too_long.append(f"{form_cls.__name__}.{attr}: {bounds} > {col.type.length}")
    assert too_long == [], too_long

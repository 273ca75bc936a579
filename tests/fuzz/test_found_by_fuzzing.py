"""What the fuzzing found, as a person sees it: a clear message instead of an error page (each was a 500)."""

from __future__ import annotations

import datetime as dt

import pyotp
from conftest import PASSWORD, criteria_fields, field_rows, login
from sqlalchemy import select
from test_fuzz_calls import draft_call
from test_fuzz_forms import opened

from foerdercall.accounts import operations as account_ops
from foerdercall.extensions import db
from foerdercall.workflow.engine import fire


def _two_factor_login(app, world, clock):
    secret = account_ops.new_totp_secret()
    # set up with the code of the step before: the login's code (this step) is a new one
    account_ops.enable_two_factor(
        world.afw, secret, pyotp.TOTP(secret).at(clock() - dt.timedelta(seconds=30))
    )
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": world.afw.email, "password": PASSWORD})
    return client, secret


def test_a_code_in_other_digits_is_a_message_and_full_width_digits_count(app, world, clock):
    client, secret = _two_factor_login(app, world, clock)
    resp = client.post("/login/two-factor", data={"code": "١٢٣٤٥٦"})  # Arabic-Indic digits
    assert resp.status_code == 422
    assert "Bitte geben Sie den Code mit den Ziffern 0–9 ein" in resp.get_data(as_text=True)
    # the code typed with a Japanese keyboard (full-width digits) is the code
    code = pyotp.TOTP(secret).at(clock()).translate({ord(d): chr(0xFF10 + int(d)) for d in "0123456789"})
    resp = client.post("/login/two-factor", data={"code": code})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]


def test_criteria_weights_outside_1_to_100_and_odd_digits_are_messages(app, world):
    client = app.test_client()
    login(client, world.ka.email)
    draft = draft_call(world)
    form = {
        "code": "KW27",
        "title": "Entwurf",
        **field_rows("networks"),
        "deciding_offices": ["KA", "AfWiFoe"],
        "mode": "procurement",
        "budget": "10.000",
        "max_amount": "5.000",
        "opens_at": "2026-12-01T00:00",
        "submission_deadline": "2026-12-31T23:59",
        "clarification_days": "14",
        "acceptance_days": "28",
        "implementation_months": "12",
        "scale_max": "5",
        "min_total": "50",
        "retention_months": "6",
        "signoff_reminder_days": "3",
        "signoff_escalation_days": "5",
        "milestone_reminder_days": "7",
        "implementation_reminder_days": "30",
        "score_aggregation": "mean",
    }
    weight = "Das Gewicht ist eine ganze Zahl von 1 bis 100 (Prozent)."
    minimum = "Das K.-o.-Minimum ist leer oder eine ganze Zahl von 0 bis 5 (Skala)."
    for criteria, message in (
        ("0 | - | Innovation", f"Kriterium 1: {weight}"),
        ("60 | - | Innovation\n150 | - | Kosten", f"Kriterium 2: {weight}"),
        ("² | - | Innovation", f"Kriterium 1: {weight}"),
        ("100 | ³ | Innovation", f"Kriterium 1: {minimum}"),
        ("100 | 6 | Innovation", f"Kriterium 1: {minimum}"),
    ):
        resp = client.post(f"/calls/{draft.id}/edit", data={**form, **criteria_fields(criteria)})
        assert resp.status_code == 422, criteria
        assert message in resp.get_data(as_text=True), criteria
    # a post without the catalogue (not the editor's: it keeps a row) keeps the call's criteria
    resp = client.post(f"/calls/{draft.id}/edit", data={**form, "title": "Neuer Titel"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert draft.title == "Neuer Titel" and [c.weight for c in draft.criteria] == [20, 20, 20, 15, 10, 15]


def test_posted_ids_in_other_digits_are_refused_not_errors(app, world, clock):
    from foerdercall.reviews.models import Review

    p, _q = opened(world, clock)
    ka = app.test_client()
    login(ka, world.ka.email)
    assert ka.post(f"/proposals/{p.id}/assign", data={"reviewer": "²"}).status_code == 400
    assert ka.post(f"/proposals/{p.id}/assign", data={"reviewer": "2147483648"}).status_code == 400
    assert (
        ka.post(
            f"/calls/{world.call.id}/decision", data={"decision": "approve", "proposal": ["²"]}
        ).status_code
        == 400
    )
    assert db.session.scalars(select(Review)).all() == []
    resp = ka.post(f"/proposals/{p.id}/assign", data={"reviewer": str(world.rev1.id)})
    assert resp.status_code == 302
    review = db.session.scalars(select(Review)).one()
    assert ka.post(f"/reviews/{review.id}/replace", data={"reviewer": "٣", "reason": "x"}).status_code == 400


def test_a_score_in_other_digits_asks_for_the_score(app, world, clock):
    from foerdercall.reviews.operations import assign_reviewer, declare_conflict, sign_neutrality

    p, _q = opened(world, clock)
    sign_neutrality(world.call, world.rev1)
    review = assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, world.rev1, False)
    db.session.commit()
    client = app.test_client()
    login(client, world.rev1.email)
    first = world.call.criteria[0]
    data = (
        {f"score_{c.id}": "4" for c in world.call.criteria}
        | {f"justification_{c.id}": "gut" for c in world.call.criteria}
        | {f"score_{first.id}": "²", "action": "submit"}
    )
    resp = client.post(f"/reviews/{review.id}", data=data, follow_redirects=True)
    assert resp.status_code == 422
    assert f'<a href="#score_{first.id}">{first.name}: Bitte wählen Sie Punkte von 0 bis 5' in resp.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert review.submitted_at is None


def test_a_role_posted_twice_is_granted_once(app, world):
    client = app.test_client()
    login(client, world.admin.email)
    resp = client.post(f"/admin/users/{world.rev2.id}", data={"roles": ["reviewer", "advisor", "advisor"]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert sorted(world.rev2.roles) == ["advisor", "reviewer"]

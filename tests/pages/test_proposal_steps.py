"""The proposal page offers each person the steps the rules let them take now, the primary one first; one that
is not possible yet is disabled with the reason, one that does not apply is not offered at all. A step says
what it did, keeps what was typed when it is refused, and takes the message to the applicant and the internal
note in fields of their own."""

from __future__ import annotations

import re

import pytest
from conftest import approve_after_deadline, berlin, fill_draft, login
from sqlalchemy import select

from foerdercall.accounts.models import User
from foerdercall.audit.models import AuditEvent
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.policy import refusal
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.workflow.engine import fire

STEP = re.compile(r'<form method="post" action="/(proposals|calls)/(\d+)/fire/(\w+)"[^>]*>(.*?)</form>', re.S)


def offered(html: str) -> list[tuple[str, bool]]:
    """(trigger, enabled) of every step form on a page, in their order."""
    return [(m.group(3), "disabled" not in m.group(4)) for m in STEP.finditer(html)]


def page(app, email: str, url: str) -> str:
    client = app.test_client()
    login(client, email)
    resp = client.get(url)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


@pytest.fixture
def opened(app, world, clock):
    """A submitted proposal of the opened call."""
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    submit(p, world.applicant)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    db.session.commit()
    return p


def test_no_page_offers_a_step_the_rules_would_refuse(app, world, clock, opened):
    """Every enabled step form on the proposal and call pages, for every person, through the whole decision:
    the rulebook lets that person take it now (and a disabled one says why)."""
    p = opened
    people = db.session.scalars(select(User).order_by(User.id)).all()

    def check_all():
        db.session.expire_all()
        for user in people:
            for url in (f"/proposals/{p.id}", f"/calls/{world.call.id}"):
                client = app.test_client()
                login(client, user.email)
                resp = client.get(url)
                if resp.status_code != 200:
                    continue
                html = resp.get_data(as_text=True)
                for kind, obj_id, trigger, body in STEP.findall(html):
                    target = db.session.get(
                        Proposal if kind == "proposals" else type(world.call), int(obj_id)
                    )
                    if "disabled" in body:
                        assert 'class="hint"' in body, f"{user.email}: {trigger} disabled without a reason"
                    else:
                        why = refusal(user, trigger, target)
                        assert why is None, f"{user.email} on {url}: {trigger} offered but refused: {why}"

    check_all()  # the formal check
    fire(p, "declare_eligible", world.ka)
    db.session.commit()
    check_all()
    from foerdercall.awards.operations import sign_off
    from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality

    sign_neutrality(world.call, world.rev1)
    review = assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, world.rev1, False)
    save_review(review, world.rev1, {c.id: (4, "gut") for c in world.call.criteria}, submit=True)
    db.session.commit()
    check_all()  # reviewed: the sign-offs
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    db.session.commit()
    check_all()  # approved: the award


def test_below_the_threshold_the_award_is_the_step_and_no_standstill_is_offered(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, amount=10_000_00)
    submit(p, world.applicant)
    approve_after_deadline(world, clock, world.call, p)
    db.session.commit()
    html = page(app, "ka@x.test", f"/proposals/{p.id}")
    assert "Stillhaltefrist starten" not in html
    assert "Zuschlag erteilen" in html


def test_the_formal_check_shows_the_offer_first_then_its_steps(app, world, clock, opened):
    p = opened
    html = page(app, "ka@x.test", f"/proposals/{p.id}")
    assert html.index('id="h-content"') < html.index('id="h-actions"')
    steps = offered(html)
    assert steps[0] == ("declare_eligible", True)  # the primary step first
    assert [t for t, _ in steps] == ["declare_eligible", "request_documents", "declare_ineligible"]
    assert 'class="primary"' in STEP.search(html).group(4)
    # each text field says what it is for: the message to the applicant, the reason sent to them, the note
    assert "Nachricht an die antragstellende Person: was fehlt (wird ihr geschickt)" in html
    assert "Begründung des Ausschlusses (wird der antragstellenden Person geschickt)" in html
    assert html.count("Interne Notiz (nur für die Akte, wird nicht verschickt)") == 3
    assert "data-confirm" in html.split("/fire/declare_ineligible")[1].split("</form>")[0]  # irreversible


def test_a_step_says_what_it_did_and_keeps_the_note_for_the_officials_only(app, world, clock, opened):
    p = opened
    client = app.test_client()
    login(client, "ka@x.test")
    resp = client.post(
        f"/proposals/{p.id}/fire/request_documents",
        data={
            "reason": "Bitte reichen Sie den Finanzplan nach.",
            "note": "Rückfrage mit Frau Weber abgestimmt",
        },
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert "Unterlagen nachgefordert; die antragstellende Person ist benachrichtigt." in html
    assert "Interne Notiz" in html and "Rückfrage mit Frau Weber abgestimmt" in html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request_documents"))
    assert event.data["note"] == "Rückfrage mit Frau Weber abgestimmt"
    assert event.reason == "Bitte reichen Sie den Finanzplan nach."
    applicant = page(app, "app@x.test", f"/proposals/{p.id}")
    assert "Bitte reichen Sie den Finanzplan nach." in applicant
    assert "Frau Weber" not in applicant
    from foerdercall.mail.models import OutboxMail

    assert all("Frau Weber" not in m.body for m in db.session.scalars(select(OutboxMail)))


def test_a_refused_step_comes_back_with_what_was_typed(app, world, clock, opened):
    """Another official declared the offer eligible a moment before: the request for documents typed meanwhile is
    refused, and the page shows the reason and keeps the message and the note to copy."""
    p = opened
    client = app.test_client()
    login(client, "ka@x.test")
    client.get(f"/proposals/{p.id}")
    fire(p, "declare_eligible", world.afw)
    db.session.commit()
    resp = client.post(
        f"/proposals/{p.id}/fire/request_documents",
        data={"reason": "Bitte reichen Sie den Finanzplan nach.", "note": "mit Frau Weber abgestimmt"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "„Unterlagen nachfordern“ ist im Status „Formal geprüft“ nicht möglich." in html
    assert "Ihr Text ist nicht verloren" in html
    assert ">Bitte reichen Sie den Finanzplan nach.</textarea>" in html
    assert ">mit Frau Weber abgestimmt</textarea>" in html
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).state == "eligible"


def test_the_award_amount_is_offered_in_the_readers_format(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, amount=12_500_00)
    submit(p, world.applicant)
    approve_after_deadline(world, clock, world.call, p)
    world.ka.locale = "en"
    db.session.commit()
    client = app.test_client()
    login(client, "ka@x.test")
    client.post("/language", data={"lang": "en"})
    html = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert 'value="12,500.00"' in html
    assert 'href="#award-form"' in html  # the next step, one click from the top
    resp = client.post(f"/proposals/{p.id}/award", data={"amount": "12,500.00"}, follow_redirects=True)
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).state == "awarded", resp.get_data(as_text=True)[:2000]


def test_an_applicant_declines_the_award_and_the_money_is_free_at_once(app, world, clock):
    from foerdercall.calls.models import Call
    from foerdercall.mail.models import OutboxMail

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, amount=12_000_00)
    submit(p, world.applicant)
    approve_after_deadline(world, clock, world.call, p)
    from foerdercall.awards.operations import make_award

    make_award(p, world.ka)
    db.session.commit()
    assert db.session.get(Call, world.call.id).remaining_cents == 38_000_00
    html = page(app, "app@x.test", f"/proposals/{p.id}")
    assert "Zuschlag annehmen" in html and "Zuschlag verbindlich ablehnen" in html
    assert "data-confirm" in html.split("/fire/decline_award")[1].split("</form>")[0]
    client = app.test_client()
    login(client, "app@x.test")
    resp = client.post(
        f"/proposals/{p.id}/fire/decline_award", data={"reason": "Wir haben eine andere Förderung erhalten."}
    )
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Sie haben den Zuschlag abgelehnt. Das Amt ist benachrichtigt." in html
    assert "Zuschlag abgelehnt" in html
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).state == "declined"
    assert db.session.get(Call, world.call.id).remaining_cents == 50_000_00
    told = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "award_declined")).all()
    assert sorted(m.to_address for m in told) == ["afw@x.test", "ka2@x.test", "ka@x.test"]
    assert "andere Förderung" in told[0].body and "12.000,00\xa0€" in told[0].body


def test_scores_are_shown_in_the_readers_number_format(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    submit(p, world.applicant)
    approve_after_deadline(world, clock, world.call, p)  # 4 of 5 points on every criterion
    db.session.commit()
    html = page(app, "ka@x.test", f"/proposals/{p.id}")
    assert "<strong>80,0</strong> / 100" in html and ">4,00<" in html
    ranking = page(app, "ka@x.test", f"/calls/{world.call.id}/ranking")
    assert "80,00" in ranking and "80.00" not in ranking
    client = app.test_client()
    login(client, "ka@x.test")
    client.post("/language", data={"lang": "en"})
    html = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "<strong>80.0</strong> / 100" in html and ">4.00<" in html


def test_a_refused_report_or_payment_keeps_what_was_typed(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, amount=10_000_00)
    submit(p, world.applicant)
    approve_after_deadline(world, clock, world.call, p)
    from foerdercall.awards.operations import make_award

    make_award(p, world.ka)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    applicant = app.test_client()
    login(applicant, "app@x.test")
    resp = applicant.post(
        f"/proposals/{p.id}/reports/interim",
        data={"narrative": "Drei Werkstätten mit 40 Gästen", "use_of_funds": "Honorare", "spent": "zwölf"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert ">Drei Werkstätten mit 40 Gästen</textarea>" in html and ">Honorare</textarea>" in html
    assert 'value="zwölf"' in html and 'id="report-interim-spent-err"' in html
    assert 'href="#report-interim-spent"' in html  # the error summary links to the field
    official = app.test_client()
    login(official, "ka@x.test")
    resp = official.post(f"/proposals/{p.id}/payments", data={"amount": "12.000,00", "note": "1. Rate"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'value="12.000,00"' in html and 'value="1. Rate"' in html
    assert 'id="payment-amount-err"' in html
    from foerdercall.awards.models import Payment

    assert db.session.scalars(select(Payment)).all() == []


def test_a_grant_call_speaks_of_applications_and_grants(app, world, clock):
    from conftest import neutral, publish

    from foerdercall.awards.operations import make_award
    from foerdercall.calls.operations import create_call

    call = create_call(
        world.ka,
        code="ZW26",
        title="Zuwendung 2026",
        description="",
        fields_of_action=["networks"],
        mode="grant",
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 10, 31, 23, 59),
        reviewers_per_proposal=1,
    )
    publish(call, world.ka)
    neutral(call, world.ka, world.afw)
    p = fill_draft(start_draft(call, world.applicant), world.applicant)
    db.session.commit()
    assert "Ihr Antrag: Zuwendung 2026" in page(app, "app@x.test", f"/proposals/{p.id}/edit")
    submit(p, world.applicant)
    approve_after_deadline(world, clock, call, p)
    db.session.commit()
    official = page(app, "ka@x.test", f"/proposals/{p.id}")
    assert "Zum nächsten Schritt: Zuwendung bewilligen" in official and "Zuschlag" not in official
    make_award(p, world.ka)
    db.session.commit()
    html = page(app, "app@x.test", f"/proposals/{p.id}")
    assert "Zuwendung bewilligt" in html and "Zuwendungsbetrag" in html and "Zuwendung annehmen" in html
    assert "Zuschlag" not in html and "Wo Ihr Antrag steht" in html
    # and the procurement call of the same page keeps its words
    q = fill_draft(start_draft(world.call, world.applicant2), world.applicant2)
    db.session.commit()
    assert "Ihr Angebot: Kreativwirtschaft 2026" in page(app, "app2@x.test", f"/proposals/{q.id}/edit")

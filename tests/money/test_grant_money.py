"""The money of a grant (issue 19): the recipient requests drawdowns against the approved grant (and its cost
plan), an official pays them (a payment booked with each, never above the award) or refuses them with a reason;
after the proof of use an official claims money back, and once repaid it returns to the call's budget. Every step
goes through fire() with its audit event. On SQLite and on PostgreSQL."""

from __future__ import annotations

import io

import pytest
from conftest import award_after_deadline, fill_draft, login, published_call
from pypdf import PdfReader
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award, Claim, Drawdown, Payment
from foerdercall.awards.operations import claim_back, pay_drawdown, record_repayment, request_drawdown
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(data)).pages).split())


def grant_in_implementation(world, clock, amount=20_000_00):
    call = published_call(
        world,
        code="ZW27",
        title="Zuwendungen Kreativwirtschaft 2027",
        mode="grant",
        grant_conditions="Die ANBest-P sind Bestandteil dieses Bescheids.\n\nDie Mittel sind wirtschaftlich zu verwenden.",
    )
    p = fill_draft(
        start_draft(call, world.applicant), world.applicant, amount=amount, title="Werkstatt Lindenau"
    )
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, call, p)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    return call, p


def test_drawdowns_are_requested_paid_or_refused_within_the_grant(app, world, clock):
    call, p = grant_in_implementation(world, clock)
    applicant, ka = app.test_client(), app.test_client()
    login(applicant, "app@x.test")
    login(ka, "ka@x.test")
    page = applicant.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Mittel abrufen" in page and "noch abrufbar: 20.000,00" in page
    notice = pdf_text(applicant.get(f"/proposals/{p.id}/documents/award.pdf").data)
    assert "Zuwendungsbescheid" in notice and "eine Zuwendung in Höhe von 20.000,00" in notice
    assert "Nebenbestimmungen Die ANBest-P sind Bestandteil dieses Bescheids." in notice
    assert "Die Mittel sind wirtschaftlich zu verwenden." in notice

    # more than the grant: refused at the amount, the purpose kept
    resp = applicant.post(
        f"/proposals/{p.id}/drawdowns", data={"amount": "25.000,00", "purpose": "Honorare für die Werkstatt"}
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Honorare für die Werkstatt" in page
    assert "darf das noch Abrufbare nicht übersteigen (20.000,00" in page
    assert db.session.scalar(select(Drawdown)) is None

    resp = applicant.post(
        f"/proposals/{p.id}/drawdowns",
        data={"amount": "8.000,00", "purpose": "Honorare für die Werkstatt"},
        follow_redirects=True,
    )
    assert "Ihr Mittelabruf ist eingegangen" in resp.get_data(as_text=True)
    first = db.session.scalar(select(Drawdown))
    # a second request counts the first while it waits
    with pytest.raises(ActionRefused, match="12.000,00"):
        request_drawdown(p, world.applicant, 12_000_01, "Material")
    db.session.rollback()
    second = request_drawdown(p, world.applicant, 5_000_00, "Material")
    db.session.commit()
    tasks = ka.get("/").get_data(as_text=True)  # the officials find them on their task list
    assert "Mittelabrufe" in tasks and "8.000,00" in tasks and "5.000,00" in tasks

    resp = ka.post(f"/proposals/{p.id}/drawdowns/{first.id}/pay", data={}, follow_redirects=True)
    assert "Mittelabruf ausgezahlt; die Zahlung ist gebucht." in resp.get_data(as_text=True)
    resp = ka.post(
        f"/proposals/{p.id}/drawdowns/{second.id}/refuse", data={"reason": " "}, follow_redirects=True
    )
    assert "Bitte geben Sie eine Begründung an." in resp.get_data(as_text=True)
    resp = ka.post(
        f"/proposals/{p.id}/drawdowns/{second.id}/refuse",
        data={"reason": "Material ist im Kostenplan nicht vorgesehen."},
        follow_redirects=True,
    )
    db.session.expire_all()
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    payment = db.session.scalar(select(Payment))
    assert (payment.amount_cents, payment.reference, award.paid_cents) == (
        8_000_00,
        f"MA-{first.id}",
        8_000_00,
    )
    assert db.session.get(Drawdown, first.id).payment_id == payment.id
    assert db.session.get(Drawdown, second.id).state == "refused"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.seq)
    ).all()
    assert actions[-5:] == [
        "request_drawdown",
        "request_drawdown",
        "record_payment",
        "pay_drawdown",
        "refuse_drawdown",
    ]
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "drawdown_decided")).all()
    assert len(mails) == 2 and any("Material ist im Kostenplan nicht vorgesehen." in m.body for m in mails)
    # the recipient cannot pay their own drawdown, an official cannot request one
    third = request_drawdown(p, world.applicant, 1_000_00, "Miete")
    db.session.commit()
    with pytest.raises(ActionRefused):
        pay_drawdown(third, world.applicant)
    db.session.rollback()
    with pytest.raises(ActionRefused):
        request_drawdown(p, world.ka, 1_000_00, "")
    db.session.rollback()


def test_money_claimed_back_returns_to_the_budget_when_repaid(app, world, clock):
    call, p = grant_in_implementation(world, clock)
    d = request_drawdown(p, world.applicant, 10_000_00, "Honorare")
    pay_drawdown(d, world.ka)
    db.session.commit()
    assert call.remaining_cents == 30_000_00
    with pytest.raises(ActionRefused, match="Ausgezahlte nicht übersteigen"):
        claim_back(p, world.ka, 10_000_01, "zu viel")
    db.session.rollback()
    ka = app.test_client()
    login(ka, "ka@x.test")
    resp = ka.post(
        f"/proposals/{p.id}/claims",
        data={"amount": "2.500,00", "reason": "Der Verwendungsnachweis belegt nur 7.500 € Ausgaben."},
        follow_redirects=True,
    )
    assert "Rückforderung erhoben" in resp.get_data(as_text=True)
    c = db.session.scalar(select(Claim))
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "claim"))
    assert "fordern wir 2.500,00" in mail.body and "7.500 € Ausgaben" in mail.body
    db.session.expire_all()
    assert db.session.get(type(call), call.id).remaining_cents == 30_000_00  # not before it is repaid
    resp = ka.post(f"/proposals/{p.id}/claims/{c.id}/repaid", data={}, follow_redirects=True)
    assert "der Betrag steht dem Aufruf wieder zur Verfügung" in resp.get_data(as_text=True)
    db.session.expire_all()
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    assert (award.paid_cents, award.released_cents) == (7_500_00, 2_500_00)
    assert db.session.get(type(call), call.id).remaining_cents == 32_500_00
    record_repayment(db.session.get(Claim, c.id), world.ka)  # a second click: done once
    db.session.commit()
    assert db.session.get(type(call), call.id).remaining_cents == 32_500_00
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "record_repayment"))
    assert ev.data["amount_cents"] == 2_500_00 and ev.actor_id == world.ka.id
    # the record of the measure shows the money: its payments, drawdowns and claims
    record = pdf_text(ka.get(f"/proposals/{p.id}/documents/vergabevermerk.pdf").data)
    assert "Mittelabrufe" in record and "Honorare" in record and "Ausgezahlt 7.500,00" in record
    assert "Rückforderungen" in record and "Der Verwendungsnachweis belegt nur 7.500 € Ausgaben." in record


def test_a_procurement_award_has_no_drawdowns(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    with pytest.raises(ActionRefused, match="nur bei einer Zuwendung"):
        request_drawdown(p, world.applicant, 1_000_00, "")

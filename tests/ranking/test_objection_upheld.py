"""An objection upheld during the standstill (abgeholfen): the decision is reopened through the workflow, the
two sign-offs are voided but kept for the award record, the standstill ends, the applicant whose award is
halted is told; the offices decide again (a new standstill when still above the threshold) or reject."""

from __future__ import annotations

import io

from conftest import berlin, login
from pypdf import PdfReader
from sqlalchemy import select
from test_standstill import refused, setup

from foerdercall.audit.checkpoints import verify_chain
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import SignOff
from foerdercall.awards.operations import make_award, record_objection, resolve_objection, sign_off
from foerdercall.documents.operations import build_call_record
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import Proposal
from foerdercall.ranking.models import Standstill
from foerdercall.workflow.engine import fire


def _in_standstill_with_objection(world, clock):
    a, b, c = setup(world, clock)
    clock.set(berlin(2026, 11, 5, 10, 0))
    fire(a, "start_standstill", world.ka)
    db.session.commit()
    clock.set(berlin(2026, 11, 9, 11, 0))
    record_objection(a, world.ka, "Bieter B rügt: die Wirkung wurde mit falschem Maßstab bewertet.")
    db.session.commit()
    return a, b, c


def test_upheld_objection_reopens_the_decision_and_the_offices_decide_again(app, world, clock):
    a, _b, _c = _in_standstill_with_objection(world, clock)
    # the way back is only through an upheld objection, never a bare button
    assert refused(fire, a, "reopen_decision", world.ka, reason="einfach so").startswith(
        "Die Entscheidung wird wieder geöffnet, wenn einem Einwand in der Stillhaltefrist abgeholfen wird"
    )
    assert (
        refused(resolve_objection, a, world.afw, "geprüft", "vielleicht")
        == "Bitte wählen Sie, ob der Einwand zurückgewiesen oder ihm abgeholfen wird."
    )

    clock.set(berlin(2026, 11, 12, 14, 30))
    resolve_objection(a, world.afw, "Abgeholfen: die Wirkung ist neu zu bewerten.", "upheld")
    db.session.commit()

    a = db.session.get(Proposal, a.id)
    assert a.state == "reviewed"
    signs = db.session.scalars(select(SignOff).where(SignOff.proposal_id == a.id).order_by(SignOff.id)).all()
    assert [(s.office, s.decision_round, s.voided_at, s.voided_by_id) for s in signs] == [
        ("KA", 1, berlin(2026, 11, 12, 14, 30), world.afw.id),
        ("AfWiFoe", 1, berlin(2026, 11, 12, 14, 30), world.afw.id),
    ]
    assert all(s.void_reason == "Abgeholfen: die Wirkung ist neu zu bewerten." for s in signs)
    st = db.session.scalar(select(Standstill).where(Standstill.proposal_id == a.id))
    assert st.objection_outcome == "upheld" and st.closed_at == berlin(2026, 11, 12, 14, 30)
    assert st.closed_by_id == world.afw.id

    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "decision_reopened")).one()
    assert mail.recipient_id == a.applicant_id and mail.proposal_id == a.id
    assert mail.subject == f"Zuschlag angehalten: Entscheidung über {a.file_number} wieder geöffnet"
    assert "Begründung: Abgeholfen: die Wirkung ist neu zu bewerten." in mail.body

    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.proposal_id == a.id).order_by(AuditEvent.seq)
    ).all()
    assert [e.action for e in events[-3:]] == ["record_objection", "resolve_objection", "reopen_decision"]
    assert events[-2].data == {"outcome": "upheld"}
    reopen = events[-1]
    assert (reopen.from_state, reopen.to_state, reopen.actor_id) == ("standstill", "reviewed", world.afw.id)
    assert [v["office"] for v in reopen.data["voided_sign_offs"]] == ["KA", "AfWiFoe"]
    assert reopen.data["standstill_id"] == st.id

    # the award cannot be made on the old sign-offs
    assert refused(make_award, a, world.ka).startswith(
        "„Zuschlag erteilen“ ist im Status „Begutachtet“ nicht"
    )

    # both offices sign again (a new round); still above the threshold: a new standstill of its own
    sign_off(a, world.ka2, "approve")
    sign_off(a, world.afw, "approve")
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "approved"
    assert refused(make_award, a, world.ka).startswith("Ab 20.000,00\xa0€ netto informiert die Stadt zuerst")
    fire(a, "start_standstill", world.ka)
    db.session.commit()
    standstills = db.session.scalars(
        select(Standstill).where(Standstill.proposal_id == a.id).order_by(Standstill.id)
    ).all()
    assert len(standstills) == 2 and standstills[1].closed_at is None
    assert standstills[1].ends_at == berlin(2026, 11, 22, 23, 59)
    clock.set(berlin(2026, 11, 23, 0, 0))
    make_award(a, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "awarded"
    rounds = db.session.scalars(
        select(SignOff.decision_round).where(SignOff.proposal_id == a.id, SignOff.voided_at.is_(None))
    ).all()
    assert sorted(rounds) == [2, 2]

    # the award record still shows the voided sign-offs
    pdf = build_call_record(world.call, world.ka, "de", lambda p: True)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert "ungültig seit 12.11.2026" in text and "Stillhaltefrist und Einwände" in text
    assert "abgeholfen am 12.11.2026" in text
    assert verify_chain().ok


def test_after_an_upheld_objection_an_office_can_reject(app, world, clock):
    a, _b, _c = _in_standstill_with_objection(world, clock)
    resolve_objection(a, world.ka2, "Abgeholfen.", "upheld")
    db.session.commit()
    sign_off(a, world.ka, "reject", "Nach erneuter Prüfung nicht mehr vorn.")
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "rejected"


def test_dismissed_objection_lets_the_award_go_ahead(app, world, clock):
    a, _b, _c = _in_standstill_with_objection(world, clock)
    resolve_objection(a, world.afw, "Zurückgewiesen: die Bewertung ist begründet.", "dismissed")
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "standstill"
    clock.set(berlin(2026, 11, 16, 0, 0))
    make_award(a, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "awarded"
    assert not db.session.scalars(select(SignOff).where(SignOff.voided_at.is_not(None))).all()


def test_upheld_objection_through_the_pages(app, world, clock):
    a, _b, _c = _in_standstill_with_objection(world, clock)
    ka, afw = app.test_client(), app.test_client()
    login(ka, "ka@x.test")
    login(afw, "afw@x.test")
    url = f"/calls/{world.call.id}/decision"
    page = ka.get(url).get_data(as_text=True)
    assert "Einwand offen" in page and 'name="outcome" value="upheld"' in page

    # no outcome chosen: a message, nothing changes
    page = ka.post(
        f"/proposals/{a.id}/objection", data={"reason": "geprüft", "resolve": "1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Bitte wählen Sie, ob der Einwand zurückgewiesen oder ihm abgeholfen wird." in page
    assert db.session.get(Proposal, a.id).state == "standstill"

    clock.set(berlin(2026, 11, 12, 14, 30))
    resp = ka.post(
        f"/proposals/{a.id}/objection",
        data={"reason": "Wirkung neu bewerten", "resolve": "1", "outcome": "upheld"},
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert "Dem Einwand ist abgeholfen: die Entscheidung ist wieder geöffnet" in page
    assert "Entscheidung am 12.11.2026, 14:30 Uhr wieder geöffnet (Einwand abgeholfen)" in page
    assert f'id="pick-{a.id}"' in page  # KA can sign again right here
    ranking = ka.get(f"/calls/{world.call.id}/ranking").get_data(as_text=True)
    assert "Entscheidung am 12.11.2026, 14:30 Uhr wieder geöffnet (Einwand abgeholfen)" in ranking
    detail = ka.get(f"/proposals/{a.id}").get_data(as_text=True)
    assert detail.count("ungültig seit 12.11.2026, 14:30 Uhr (Entscheidung wieder geöffnet)") == 2
    assert f'action="/proposals/{a.id}/sign-off"' in detail

    assert ka.post(url, data={"proposal": str(a.id), "decision": "approve"}).status_code == 302
    assert afw.post(url, data={"proposal": str(a.id), "decision": "approve"}).status_code == 302
    assert db.session.get(Proposal, a.id).state == "approved"
    page = ka.get(url).get_data(as_text=True)
    assert "Stillhaltefrist starten und nicht berücksichtigte Bieter informieren" in page
    assert "Frühere Stillhaltefrist" in page

"""The decision view: one office signs off several proposals at once, with the guarantees of single
sign-offs; each refusal is reported for its proposal and the others are still signed."""

from __future__ import annotations

from conftest import login
from rank_helpers import reviewed
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import SignOff
from foerdercall.awards.operations import sign_off, sign_off_many
from foerdercall.extensions import db
from foerdercall.proposals.models import Proposal
from foerdercall.reviews.operations import declare_conflict, sign_neutrality


def states(ps):
    db.session.expire_all()
    return [db.session.get(Proposal, p.id).state for p in ps]


def test_bulk_sign_off_over_http(app, world, clock):
    ps = reviewed(world, clock)
    sign_neutrality(world.call, world.afw)
    declare_conflict(ps[3], world.afw, True, "Nachbar")
    db.session.commit()
    ka, afw = app.test_client(), app.test_client()
    login(ka, "ka@x.test")
    login(afw, "afw@x.test")
    url = f"/calls/{world.call.id}/decision"

    page = ka.get(url).get_data(as_text=True)
    assert all(p.file_number in page for p in ps)
    assert page.count('name="proposal"') == 4

    resp = ka.post(
        url, data={"proposal": [str(p.id) for p in ps[:3]], "decision": "approve"}, follow_redirects=True
    )
    assert f"Gezeichnet: {ps[0].file_number}, {ps[1].file_number}, {ps[2].file_number}." in resp.get_data(
        as_text=True
    )
    assert states(ps) == ["reviewed"] * 4

    # AfWiFö: its own conflict on the fourth is refused for that one only; the others are approved
    resp = afw.post(
        url, data={"proposal": [str(p.id) for p in ps], "decision": "approve"}, follow_redirects=True
    )
    page = resp.get_data(as_text=True)
    assert (
        f"{ps[3].file_number} nicht gezeichnet: Sie haben einen Interessenkonflikt mit diesem Angebot."
        in page
    )
    assert states(ps) == ["approved", "approved", "approved", "reviewed"]
    assert db.session.scalars(select(SignOff.office).where(SignOff.proposal_id == ps[3].id)).all() == []
    approvals = db.session.scalars(select(AuditEvent.proposal_id).where(AuditEvent.action == "approve")).all()
    assert sorted(approvals) == sorted(p.id for p in ps[:3])

    # a second round: all already decided or signed -> every one reported, nothing changes
    resp = ka.post(
        url, data={"proposal": [str(p.id) for p in ps], "decision": "approve"}, follow_redirects=True
    )
    page = resp.get_data(as_text=True)
    for p in ps[:3]:
        assert (
            f"{p.file_number} nicht gezeichnet: Nur begutachtete Angebote können gezeichnet werden." in page
        )
    assert f"Gezeichnet: {ps[3].file_number}." in page  # KA could still sign the fourth
    assert states(ps) == ["approved", "approved", "approved", "reviewed"]
    assert sorted(db.session.scalars(select(SignOff.office).where(SignOff.proposal_id == ps[3].id))) == ["KA"]


def test_bulk_rejection_needs_a_reason_and_rejects_each(app, world, clock):
    ps = reviewed(world, clock, n=2)
    results = sign_off_many(ps, world.ka, "reject", "")
    assert [m for _pid, m in results] == ["Bitte begründen Sie die Ablehnung."] * 2
    db.session.commit()
    assert states(ps) == ["reviewed", "reviewed"]
    results = sign_off_many(ps, world.ka, "reject", "Kein Bezug zum Handlungsfeld")
    db.session.commit()
    assert [m for _pid, m in results] == [None, None]
    assert states(ps) == ["rejected", "rejected"]


def test_one_person_never_signs_for_both_offices_in_bulk(app, world, clock):
    ps = reviewed(world, clock, n=2)
    sign_off(ps[0], world.ka, "approve")
    db.session.commit()
    world.ka.office = "AfWiFoe"  # moved office: still may not sign the second time
    db.session.commit()
    results = sign_off_many(ps, world.ka, "approve")
    db.session.commit()
    assert results[0] == (ps[0].id, "Eine Person kann nicht für zwei Ämter zeichnen.")
    assert results[1] == (ps[1].id, None)
    assert states(ps) == ["reviewed", "reviewed"]

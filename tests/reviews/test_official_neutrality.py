"""Everyone who sees proposals signs the call's declaration of neutrality first (officials and advisors too, not
only reviewers), and officials declare a conflict with a proposal on a page of its own: from then on they
neither read it nor act on it, and both appear in the Vergabevermerk (issue 19)."""

from __future__ import annotations

import io

import pytest
from assign_helpers import opened, reviewed, submitted
from conftest import PASSWORD, login
from pypdf import PdfReader
from sqlalchemy import select

from foerdercall.accounts.operations import create_user
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.operations import sign_off
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.reviews.models import ConflictDeclaration
from foerdercall.reviews.operations import declare_conflict, sign_neutrality
from foerdercall.workflow.engine import fire


def new_official(email="kim@x.test", name="Kim Neu", office="KA"):
    user = create_user(email, name, PASSWORD, roles=("official",), office=office)
    db.session.commit()
    return user


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


def test_an_official_signs_the_declaration_before_seeing_any_proposal(app, world, clock):
    (p,) = submitted(world, 1, titles=["Geheimes Atelier"])
    opened(world, clock, [p])
    new_official()
    kim = app.test_client()
    login(kim, "kim@x.test")
    for url in (
        f"/proposals/{p.id}",
        f"/calls/{world.call.id}/proposals",
        f"/calls/{world.call.id}/ranking",
        f"/calls/{world.call.id}/decision",
        f"/calls/{world.call.id}/export/ranking.csv",
        f"/calls/{world.call.id}/vergabevermerk.pdf",
        f"/proposals/{p.id}/documents/vergabevermerk.pdf",
    ):
        resp = kim.get(url)
        page = text_of(resp) if resp.mimetype == "text/html" else ""
        assert resp.status_code == 403 and "Geheimes Atelier" not in page, url
        assert "Bevor Sie Angebote dieses Aufrufs sehen, unterzeichnen Sie einmal" in page, url
    # without the tick nothing is signed
    resp = kim.post(
        f"/calls/{world.call.id}/neutrality", data={"next": f"/proposals/{p.id}"}, follow_redirects=True
    )
    assert "Bitte bestätigen Sie die Erklärung durch Ankreuzen." in text_of(resp)
    assert "Geheimes Atelier" not in text_of(resp)
    resp = kim.post(
        f"/calls/{world.call.id}/neutrality",
        data={"confirm": "y", "next": f"/proposals/{p.id}"},
        follow_redirects=True,
    )
    assert resp.request.path == f"/proposals/{p.id}"  # back where the declaration was asked for
    assert "Neutralitätserklärung unterzeichnet." in text_of(resp) and "Geheimes Atelier" in text_of(resp)
    # a hostile next falls back to the page the form came from, or the reviewer's list
    resp = kim.post(f"/calls/{world.call.id}/neutrality", data={"confirm": "y", "next": "//evil.example/"})
    assert "evil.example" not in resp.headers["Location"]
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_neutrality")).all()
    assert "Kim Neu" in {e.actor.name for e in ev}


def test_an_advisor_signs_before_reading_a_draft_of_someone_who_asked_for_advice(app, world):
    from conftest import fill_draft

    from foerdercall.proposals.operations import start_draft

    create_user("berta@x.test", "Berta Beratung", PASSWORD, roles=("advisor",))
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Beratenes Vorhaben")
    p.advice_requested = True
    db.session.commit()
    berta = app.test_client()
    login(berta, "berta@x.test")
    resp = berta.get(f"/proposals/{p.id}")
    assert resp.status_code == 403 and "Beratenes Vorhaben" not in text_of(resp)
    resp = berta.post(
        f"/calls/{world.call.id}/neutrality",
        data={"confirm": "y", "next": f"/proposals/{p.id}"},
        follow_redirects=True,
    )
    assert resp.status_code == 200 and "Beratenes Vorhaben" in text_of(resp)


def test_a_conflicted_official_neither_reads_nor_acts_and_the_record_says_so(app, world, clock):
    a, b = reviewed(world, clock, n=2)
    ka = app.test_client()
    login(ka, "ka@x.test")
    assert "Interessenkonflikt erklären" in text_of(ka.get(f"/proposals/{a.id}"))
    page = text_of(ka.get(f"/proposals/{a.id}/conflict"))
    assert a.file_number in page and a.title in page and "Ada Applicant" in page
    # no reason: the page again with the message, nothing declared
    resp = ka.post(f"/proposals/{a.id}/conflict", data={"reason": "  "})
    assert resp.status_code == 422
    assert "Bitte nennen Sie den Grund des Interessenkonflikts." in text_of(resp)
    assert (
        db.session.scalar(select(ConflictDeclaration).where(ConflictDeclaration.user_id == world.ka.id))
        is None
    )
    resp = ka.post(
        f"/proposals/{a.id}/conflict",
        data={"reason": "Meine Schwester leitet das Atelier."},
        follow_redirects=True,
    )
    assert f"Ihr Interessenkonflikt mit {a.file_number} ist erklärt." in text_of(resp)
    row = text_of(resp).split("<tbody>", 1)[1].split(a.file_number, 1)[1].split("</tr>", 1)[0]
    assert "Interessenkonflikt – nicht angezeigt" in row and a.title not in row
    assert ka.get(f"/proposals/{a.id}").status_code == 404
    assert ka.get(f"/proposals/{a.id}/conflict").status_code == 404
    # nor may she act on it: sign it off, or any step of its workflow
    with pytest.raises(ActionRefused, match="Interessenkonflikt"):
        sign_off(a, world.ka, "approve")
    db.session.rollback()
    with pytest.raises(ActionRefused):
        fire(a, "start_standstill", world.ka)
    db.session.rollback()
    # the other proposal is hers as before
    assert b.title in text_of(ka.get(f"/proposals/{b.id}"))

    # both declarations in the Vergabevermerk of the call (read by another official)
    afw = app.test_client()
    login(afw, "afw@x.test")
    resp = afw.get(f"/calls/{world.call.id}/vergabevermerk.pdf")
    assert resp.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    text = " ".join(text.split())
    assert "Neutralitätserklärungen Person Funktion Zeit Karla KA KA 01.10.2026, 09:00 Uhr" in text
    assert "Carla Kontaktstelle Beratung (Kontaktstelle)" in text and "Rita Reviewer Gutachter/in" in text
    assert "Meine Schwester leitet das Atelier." in text


def test_a_conflict_recognised_later_replaces_no_conflict(app, world, clock):
    (p,) = submitted(world, 1)
    opened(world, clock, [p])
    sign_neutrality(world.call, world.rev1)
    declare_conflict(p, world.rev1, False)
    with pytest.raises(ActionRefused, match="bereits eine Erklärung"):
        declare_conflict(p, world.rev1, False)
    declare_conflict(p, world.rev1, True, "Später erkannt: frühere Zusammenarbeit")
    db.session.commit()
    decl = db.session.scalar(select(ConflictDeclaration).where(ConflictDeclaration.user_id == world.rev1.id))
    assert decl.has_conflict and decl.reason == "Später erkannt: frühere Zusammenarbeit"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "declare_conflict")).all()
    assert [e.data["has_conflict"] for e in events] == [False, True]
    with pytest.raises(ActionRefused, match="bereits eine Erklärung"):
        declare_conflict(p, world.rev1, True, "noch einmal")

"""EU publicity (issue 19): a call marked as co-funded by the EU (ERDF) shows the EU emblem with the funding
statement on its public page, in both languages, and on its documents; the award letter passes the duty on to
the contractor. A call without EU money shows neither."""

from __future__ import annotations

import io

from conftest import award_after_deadline, fill_draft, login, published_call
from pypdf import PdfReader

from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire

STATEMENT = "Kofinanziert von der Europäischen Union"


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(data)).pages).split())


def erdf_call(world):
    return published_call(world, code="EFRE27", title="Kreativorte EFRE 2027", eu_funded=True)


def test_the_public_page_of_an_eu_call_carries_the_emblem_and_statement(app, world):
    call = erdf_call(world)
    guest = app.test_client()
    page = guest.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'alt="Flagge der Europäischen Union"' in page and STATEMENT in page
    emblem = guest.get("/static/eu-emblem.svg")
    assert emblem.status_code == 200 and emblem.mimetype == "image/svg+xml"
    emblem.close()
    guest.post("/language", data={"lang": "en", "next": f"/calls/{call.id}"})
    page = guest.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Co-funded by the European Union" in page and 'alt="Flag of the European Union"' in page
    plain = guest.get(f"/calls/{world.call.id}").get_data(as_text=True)
    assert "eu-emblem.svg" not in plain and "European Union" not in plain


def test_its_documents_carry_the_statement_and_the_award_letter_passes_the_duty_on(app, world, clock):
    call = erdf_call(world)
    p = fill_draft(start_draft(call, world.applicant), world.applicant, title="Kreativort am Kanal")
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, call, p)
    db.session.commit()
    applicant = app.test_client()
    login(applicant, "app@x.test")
    receipt = applicant.get(f"/proposals/{p.id}/documents/receipt.pdf")
    assert receipt.status_code == 200 and pdf_text(receipt.data).startswith(STATEMENT)
    letter = pdf_text(applicant.get(f"/proposals/{p.id}/documents/award.pdf").data)
    assert letter.startswith(STATEMENT)
    assert "Als Auftragnehmer weisen Sie bei allen Veröffentlichungen, Veranstaltungen, Materialien" in letter
    assert "geben diese Pflicht an Ihre Unterauftragnehmer weiter" in letter
    ka = app.test_client()
    login(ka, "ka@x.test")
    record = pdf_text(ka.get(f"/calls/{call.id}/vergabevermerk.pdf").data)
    assert record.startswith(STATEMENT)


def test_documents_of_a_call_without_eu_money_say_nothing_of_it(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    db.session.commit()
    applicant = app.test_client()
    login(applicant, "app@x.test")
    for kind in ("receipt", "award"):
        text = pdf_text(applicant.get(f"/proposals/{p.id}/documents/{kind}.pdf").data)
        assert "Europäischen Union" not in text, kind

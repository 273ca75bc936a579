"""The PDF documents: what a person checks in each (read back with pypdf), their language, user text shown
literally, and who may download them."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from conftest import PDF, berlin, fill_draft, login, publish
from pypdf import PdfReader

from foerdercall.accounts import operations as account_ops
from foerdercall.awards.operations import make_award, sign_off
from foerdercall.awards.queries import award_of
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.extensions import db
from foerdercall.i18n import format_dt
from foerdercall.proposals.operations import start_draft
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire

HOSTILE = r"Klang <b>fett</b> \( {nb} **x** %(n)s"
DIGEST = hashlib.sha256(PDF).hexdigest()


def text_of(data: bytes) -> str:
    """The text of every page, whitespace normalised (line breaks of the layout become spaces)."""
    assert data[:5] == b"%PDF-", data[:100]
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def get_pdf(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="')
    if os.environ.get("DUMP_PDF_DIR"):  # to look at the documents: DUMP_PDF_DIR=/tmp/pdfs pytest ...
        name = resp.headers["Content-Disposition"].split('"')[1]
        Path(os.environ["DUMP_PDF_DIR"], name).write_bytes(resp.data)
    return text_of(resp.data)


def client_as(app, email):
    c = app.test_client()
    login(c, email)
    return c


def submitted(world, clock, user=None, title=HOSTILE, amount=12_345_00, at=None):
    user = user or world.applicant
    p = fill_draft(start_draft(world.call, user), user, amount=amount, title=title)
    if at is not None:
        clock.set(at)
    fire(p, "submit", user)
    db.session.commit()
    return p


def open_call(world, clock, call=None):
    call = call or world.call
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(call, "close", None)
    if call.mode == "procurement":
        request_opening(call, world.ka)
        confirm_opening(call, world.afw)
    db.session.commit()


def review(p, reviewer, values, world, tag):
    """Assign, declare no conflict and submit a review with one justification per criterion."""
    sign_neutrality(p.call, reviewer)
    r = assign_reviewer(p, reviewer, world.ka)
    return r, lambda: (
        declare_conflict(p, reviewer, False),
        save_review(
            r,
            reviewer,
            {c.id: (v, f"{tag}-{c.key} <i>\\(") for c, v in zip(p.call.criteria, values, strict=True)},
            submit=True,
        ),
    )


def reviewed(world, p, reviews):
    """p eligible, reviewed by the given (reviewer, scores, tag) triples."""
    fire(p, "declare_eligible", world.ka)
    pending = [review(p, reviewer, values, world, tag)[1] for reviewer, values, tag in reviews]
    fire(p, "start_review", world.ka)
    for finish in pending:
        finish()
    db.session.commit()
    return p


# --- receipt ---------------------------------------------------------------------------------------------


def test_receipt_shows_number_exact_time_hashes_and_user_text_literally(app, world, clock):
    p = submitted(world, clock, at=berlin(2026, 10, 31, 23, 59).replace(second=59))
    applicant = client_as(app, "app@x.test")
    resp = applicant.get(f"/proposals/{p.id}/documents/receipt.pdf")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="receipt-KW26-0001.pdf"'
    text = get_pdf(applicant, f"/proposals/{p.id}/documents/receipt.pdf")
    assert "Eingangsbestätigung" in text
    assert "Eingangsnummer (Aktenzeichen) KW26-0001" in text
    assert "31.10.2026, 23:59:59 Uhr" in text
    assert text.count(f"SHA-256: {DIGEST}") == 2  # both required attachments
    assert "offer.pdf" in text and "declarations.pdf" in text
    assert "12.345,00 €" in text
    assert HOSTILE in text  # HTML, PDF escapes, the page alias and placeholders: all as typed
    assert "Stadt Leipzig" in text and "Ada Applicant" in text
    # the same record gives the same file (nothing in it depends on the moment of download)
    assert applicant.get(f"/proposals/{p.id}/documents/receipt.pdf").data == resp.data


def test_receipt_in_english_for_an_english_applicant_whoever_downloads_it(app, world, clock):
    world.applicant.locale = "en"
    db.session.commit()
    p = submitted(world, clock, at=berlin(2026, 10, 31, 23, 59).replace(second=59))
    open_call(world, clock)
    for email in ("app@x.test", "ka@x.test"):
        text = get_pdf(client_as(app, email), f"/proposals/{p.id}/documents/receipt.pdf")
        assert "Receipt confirmation" in text and "Eingangsbestätigung" not in text
        assert "31 Oct 2026, 23:59:59" in text
        assert "€12,345.00" in text
        assert "Receipt number (file reference) KW26-0001" in text


def test_sealed_receipt_only_for_its_applicant_and_documents_only_once_they_exist(app, world, clock):
    p = submitted(world, clock)
    url = f"/proposals/{p.id}/documents/%s.pdf"
    applicant = client_as(app, "app@x.test")
    assert applicant.get(url % "receipt").status_code == 200
    for kind in ("clarification", "rejection", "award"):  # none of these exists yet
        assert applicant.get(url % kind).status_code == 404, kind
    assert applicant.get(url % "vergabevermerk").status_code == 403  # the city's record, not a letter
    assert applicant.get(url % "contract").status_code == 404
    # sealed: the city sees nothing of the submission before the opening, nor do others
    for email in ("ka@x.test", "afw@x.test", "app2@x.test", "rev1@x.test", "admin@x.test", "advisor@x.test"):
        c = client_as(app, email)
        for kind in ("receipt", "vergabevermerk"):
            resp = c.get(url % kind)
            assert resp.status_code == 404, (email, kind)
            assert b"Klang" not in resp.data
    anonymous = app.test_client().get(url % "receipt")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # the proposal page lists the applicant's documents
    page = applicant.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Dokumente" in page and url % "receipt" in page and "vergabevermerk" not in page

    open_call(world, clock)
    official = client_as(app, "ka@x.test")
    assert "KW26-0001" in get_pdf(official, url % "receipt")
    assert "Vergabevermerk" in get_pdf(official, url % "vergabevermerk")
    page = official.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert url % "receipt" in page and url % "vergabevermerk" in page


# --- request for missing documents -----------------------------------------------------------------------


def test_request_for_missing_documents_says_what_is_missing_and_by_when(app, world, clock):
    p = submitted(world, clock)
    open_call(world, clock)
    fire(p, "request_documents", world.ka, reason="Eigenerklärung <b>fehlt</b> \\(S. 2)")
    db.session.commit()
    due = p.clarifications[-1].due_at
    text = get_pdf(client_as(app, "app@x.test"), f"/proposals/{p.id}/documents/clarification.pdf")
    assert "Nachforderung von Unterlagen" in text
    assert "Eigenerklärung <b>fehlt</b> \\(S. 2)" in text
    assert f"Antwort bis {format_dt(due, 'de')}" in text
    assert format_dt(due, "de") == "16.11.2026, 23:59 Uhr"  # 14 days, Monday
    assert "KW26-0001" in text and "Karla KA" in text


# --- rejection with the instructions on legal remedies ---------------------------------------------------


def test_rejection_of_a_procurement_offer_with_reasons_and_remedies(app, world, clock):
    p = submitted(world, clock)
    open_call(world, clock)
    reviewed(world, p, [(world.rev1, [1, 1, 1, 1, 1, 1], "r1")])
    sign_off(p, world.afw, "reject", "Kosten <b>unangemessen</b> \\(")
    db.session.commit()
    assert p.state == "rejected"
    text = get_pdf(client_as(app, "app@x.test"), f"/proposals/{p.id}/documents/rejection.pdf")
    assert "Ablehnung Ihres Angebots" in text
    assert "Kosten <b>unangemessen</b> \\(" in text
    assert "Rechtsbehelfsbelehrung" in text
    # below the EU threshold: Saxony's review procedure, not the Vergabekammer's
    assert "§ 8 des Sächsischen Vergabegesetzes" in text and "Nachprüfungsbehörde" in text
    assert "nicht eröffnet" in text and "10 Kalendertagen" in text


def test_remedies_above_the_eu_threshold_name_the_vergabekammer(app, world, clock):
    world.call.estimated_value_cents = 300_000_00  # set before the deadline for the test's sake
    db.session.commit()
    p = submitted(world, clock)
    open_call(world, clock)
    fire(p, "declare_ineligible", world.ka, reason="Kein Bezug zu Leipzig")
    db.session.commit()
    text = get_pdf(client_as(app, "app@x.test"), f"/proposals/{p.id}/documents/rejection.pdf")
    assert "Ausschluss Ihres Angebots" in text and "Kein Bezug zu Leipzig" in text
    assert (
        "Vergabekammer des Freistaates Sachsen" in text and "Nachprüfungsverfahren (§§ 155 ff. GWB)" in text
    )
    assert "§ 160 Abs. 3 GWB" in text


def _grant_call(world):
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
    db.session.commit()
    return call


def test_grant_rejection_and_notice_in_english_carry_objection_and_action(app, world, clock):
    world.call = _grant_call(world)
    world.applicant.locale = "en"
    db.session.commit()
    p = submitted(world, clock, title="Grant <b>")
    q = submitted(world, clock, user=world.applicant2, title="Andere")
    open_call(world, clock)
    reviewed(world, p, [(world.rev1, [5, 5, 5, 5, 5, 5], "r1")])
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    make_award(p, world.ka)
    fire(q, "declare_ineligible", world.ka, reason="Außerhalb der Zielgruppe")
    db.session.commit()
    text = get_pdf(client_as(app, "app@x.test"), f"/proposals/{p.id}/documents/award.pdf")
    assert "Grant notice" in text
    assert "€12,345.00" in text and "Grant <b>" in text
    assert "objection (Widerspruch)" in text and "Verwaltungsgericht Leipzig" in text
    text_q = get_pdf(client_as(app, "app2@x.test"), f"/proposals/{q.id}/documents/rejection.pdf")
    assert "Widerspruch" in text_q and "Klage beim Verwaltungsgericht Leipzig" in text_q
    assert "Vergabekammer" not in text_q


# --- award letter ----------------------------------------------------------------------------------------


def test_award_letter_with_amount_acceptance_deadline_and_period(app, world, clock):
    p = submitted(world, clock)
    open_call(world, clock)
    reviewed(world, p, [(world.rev1, [4, 4, 4, 4, 4, 4], "r1")])
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    make_award(p, world.ka)
    db.session.commit()
    applicant = client_as(app, "app@x.test")
    text = get_pdf(applicant, f"/proposals/{p.id}/documents/award.pdf")
    award = award_of(p)
    assert "Zuschlagsschreiben" in text
    assert "Auftragssumme (netto) 12.345,00 €" in text
    assert f"Annahme bis {format_dt(award.accept_by, 'de')}" in text
    assert "Umsetzungszeitraum 12 Monate ab Annahme" in text
    assert "Rechtsbehelfsbelehrung" not in text  # a contract, not an administrative act
    clock.advance(days=1)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    text = get_pdf(applicant, f"/proposals/{p.id}/documents/award.pdf")
    assert "Umsetzungszeitraum 03.11.2026 – 03.11.2027" in text


# --- the award record (Vergabevermerk) -------------------------------------------------------------------


@pytest.fixture
def decided(app, world, clock):
    """p reviewed by rev1 and rev2 (every criterion justified), approved by both offices and awarded;
    q reviewed by rev1, rev2 declared a conflict with q."""
    p = submitted(world, clock, title="Klangwerkstatt <b>")
    q = submitted(world, clock, user=world.applicant2, title="Siebdruck", amount=5_000_00)
    open_call(world, clock)
    reviewed(world, p, [(world.rev1, [5, 4, 4, 3, 5, 4], "rita"), (world.rev2, [3, 2, 4, 5, 1, 0], "rolf")])
    sign_neutrality(world.call, world.rev2)
    declare_conflict(q, world.rev2, True, "Vorstand im Verein <b>")
    reviewed(world, q, [(world.rev1, [2, 2, 2, 2, 2, 2], "rq")])
    clock.advance(hours=1)
    sign_off(p, world.ka, "approve")
    clock.advance(minutes=7)
    sign_off(p, world.afw, "approve", "passt")
    make_award(p, world.ka)
    db.session.commit()
    return p, q


def test_vergabevermerk_of_a_proposal_has_every_score_justification_signoff_and_the_audit_trail(
    app, world, decided
):
    p, q = decided
    text = get_pdf(client_as(app, "afw@x.test"), f"/proposals/{p.id}/documents/vergabevermerk.pdf")
    assert "Vergabevermerk" in text and "Kreativwirtschaft 2026 (KW26)" in text
    for c in world.call.criteria:  # the criteria with their weights
        assert f"{c.weight} %" in text
    assert "Innovation und Neuheit des Ansatzes" in text
    for tag in ("rita", "rolf"):  # every justification, with the score beside it
        for c in world.call.criteria:
            assert f"{tag}-{c.key} <i>\\(" in text, (tag, c.key)
    assert "Rita Reviewer" in text and "Rolf Reviewer" in text
    # Rita: 5 4 4 3 5 4; Rolf: 3 2 4 5 1 0 → means 4, 3, 4, 4, 3, 2 → total by hand
    total = (20 * 4 + 20 * 3 + 20 * 4 + 15 * 4 + 10 * 3 + 15 * 2) / 5  # = 68.0
    assert f"Gesamtpunktzahl {total:.2f}".replace(".", ",") + " / 100" in text
    assert "Rang 1 von 2" in text
    for r, score, c in ((1, 5, "innovation"), (2, 0, "costs")):
        assert f"{score} {'rita' if r == 1 else 'rolf'}-{c}" in text
    # both sign-offs with names, offices and times
    assert "KA Karla KA Zustimmung 02.11.2026, 10:00 Uhr" in text
    assert "AfWiFö Wolfgang AfWiFö Zustimmung 02.11.2026, 10:07 Uhr passt" in text
    # conflict declarations and the audit trail
    assert "Erklärungen zu Interessenkonflikten" in text and "kein Konflikt" in text
    assert "Verlauf" in text and "Verbindlich einreichen" in text and "Zuschlag erteilen" in text
    assert "Klangwerkstatt <b>" in text and "12.345,00 €" in text
    # q's record names the conflict, q ranks second
    text_q = get_pdf(client_as(app, "ka@x.test"), f"/proposals/{q.id}/documents/vergabevermerk.pdf")
    assert (
        "Vorstand im Verein <b>" in text_q and "Rang 2 von 2" in text_q and "Rolf Reviewer Konflikt" in text_q
    )


def test_vergabevermerk_of_the_call_for_officials_only(app, world, decided):
    p, q = decided
    url = f"/calls/{world.call.id}/vergabevermerk.pdf"
    official = client_as(app, "ka@x.test")
    resp = official.get(url)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="vergabevermerk-KW26.pdf"'
    text = get_pdf(official, url)
    assert "Rangfolge" in text and "Öffnung der Angebote" in text
    assert "Karla KA" in text and "Wolfgang AfWiFö" in text  # opened by both
    assert "1 KW26-0001 Klangwerkstatt <b> 68,00" in text and "2 KW26-0002 Siebdruck 40,00" in text
    assert "rita-innovation" in text and "rq-costs" in text
    assert "Neutralitätserklärungen" in text and "Rita Reviewer" in text
    for email in ("app@x.test", "rev1@x.test", "admin@x.test"):
        assert client_as(app, email).get(url).status_code == 403, email
    assert app.test_client().get(url).status_code == 302
    # linked on the call page for officials only
    assert url in official.get(f"/calls/{world.call.id}").get_data(as_text=True)
    assert url not in client_as(app, "app@x.test").get(f"/calls/{world.call.id}").get_data(as_text=True)


def test_call_record_is_not_there_before_the_opening(app, world, clock):
    submitted(world, clock)
    url = f"/calls/{world.call.id}/vergabevermerk.pdf"
    official = client_as(app, "ka@x.test")
    assert official.get(url).status_code == 404
    assert url not in official.get(f"/calls/{world.call.id}").get_data(as_text=True)


def test_reviewers_get_no_documents_and_a_conflicted_official_none_of_that_proposal(app, world, decided):
    p, q = decided
    reviewer = client_as(app, "rev1@x.test")  # reads p as its assigned reviewer, gets no document
    for kind in ("receipt", "award", "vergabevermerk"):
        assert reviewer.get(f"/proposals/{p.id}/documents/{kind}.pdf").status_code == 403, kind
    assert "/documents/" not in reviewer.get(f"/proposals/{p.id}").get_data(as_text=True)
    other = client_as(app, "app2@x.test")
    assert other.get(f"/proposals/{p.id}/documents/award.pdf").status_code == 404
    assert other.get(f"/proposals/{q.id}/documents/receipt.pdf").status_code == 200  # their own
    # an official who declared a conflict with q gets nothing of q; the call record leaves q out
    ka2 = account_ops.create_user(
        "ka3@x.test", "Kai Konflikt", "correct horse battery", roles=("official",), office="KA"
    )
    sign_neutrality(world.call, ka2)
    declare_conflict(q, ka2, True, "befreundet")
    db.session.commit()
    c = client_as(app, "ka3@x.test")
    assert c.get(f"/proposals/{q.id}/documents/vergabevermerk.pdf").status_code == 404
    text = get_pdf(c, f"/calls/{world.call.id}/vergabevermerk.pdf")
    assert "Klangwerkstatt" in text and "Siebdruck" not in text and "rq-costs" not in text
    assert "KW26-0002 Interessenkonflikt – nicht angezeigt" in text


def test_exclusion_after_an_unanswered_request_names_the_missed_deadline(app, world, clock):
    p = submitted(world, clock)
    open_call(world, clock)
    fire(p, "request_documents", world.ka, reason="Kalkulation fehlt")
    db.session.commit()
    clock.set(berlin(2026, 11, 17, 0, 0))  # the day after the deadline of the request
    fire(p, "lapse_request", None)
    db.session.commit()
    applicant = client_as(app, "app@x.test")
    text = get_pdf(applicant, f"/proposals/{p.id}/documents/rejection.pdf")
    assert "Ausschluss Ihres Angebots" in text
    assert "Die Nachforderung wurde nicht fristgerecht beantwortet." in text
    assert "Datum 17.11.2026" in text
    # the request itself stays available as a document
    assert "Kalkulation fehlt" in get_pdf(applicant, f"/proposals/{p.id}/documents/clarification.pdf")

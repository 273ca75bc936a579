"""The whole life of a proposal through HTTP, every role in its own browser session (Flask test client)."""

from __future__ import annotations

import html
import io
import re
from urllib.parse import urlsplit

from conftest import PASSWORD, PDF, ROLES, berlin, field_rows, fill_draft, login
from sqlalchemy import select

from foerdercall.accounts.operations import create_user
from foerdercall.extensions import db


def client_for(app, key_or_email: str):
    c = app.test_client()
    email = ROLES[key_or_email][0] if key_or_email in ROLES else key_or_email
    r = c.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return c


def ok(resp, *texts):
    body = resp.get_data(as_text=True)
    assert resp.status_code in (200, 302), (resp.status_code, body[:800])
    for t in texts:
        assert t in body, (t, body[:3000])
    return body


def follow(client, resp):
    assert resp.status_code == 302, (resp.status_code, resp.get_data(as_text=True)[:1500])
    return client.get(resp.headers["Location"])


def test_whole_life_of_a_proposal(app, clock):
    from foerdercall.models import Call, OutboxMail, Proposal

    for key in ("ka", "ka2", "afw", "rev1", "rev2", "admin"):
        email, name, roles, office = ROLES[key]
        create_user(email, name, PASSWORD, roles=roles, office=office)
    db.session.commit()

    # An official (KA) sets up and publishes a call with the default criteria catalogue and a budget.
    ka = client_for(app, "ka")
    new_form = ok(ka.get("/calls/new"), "Innovation und Neuheit")
    criteria = {  # the rows of the default catalogue and milestone plan, as the form shows them
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input[^>]*name="((?:criteria|milestone_plan)-\d+-\w+)"[^>]*value="([^"]*)"', new_form
        )
    }
    assert len([k for k in criteria if k.endswith("-weight")]) == 6
    r = ka.post(
        "/calls/new",
        data={
            "code": "KW26",
            "title": "Kreativwirtschaft Leipzig 2026",
            "description": "Einzelmaßnahmen",
            **field_rows("networks", "marketing"),
            "deciding_offices": ["KA", "AfWiFoe"],
            "mode": "procurement",
            "legal_regime": "VOL/A",
            "procedure_type": "Öffentliche Ausschreibung",
            "procedure_reason": "unterhalb EU-Schwelle",
            "estimated_value": "60.000,00",
            "budget": "60.000,00",
            "max_amount": "25.000,00",
            "opens_at": "2026-10-01T00:00",
            "submission_deadline": "2026-10-31T23:59",
            "clarification_days": "14",
            "acceptance_days": "28",
            "implementation_months": "12",
            "scale_max": "5",
            "min_total": "50",
            **criteria,
        },
    )
    page = ok(follow(ka, r), "Der Aufruf ist als Entwurf angelegt")
    call = db.session.scalar(select(Call).where(Call.code == "KW26"))
    assert [c.weight for c in call.criteria] == [20, 20, 20, 15, 10, 15]
    assert "Veröffentlichen" in page
    assert (
        "Offen:" in page and "Datenschutzbeauftragten" in page
    )  # the checklist: the notice is not checked yet
    ok(follow(ka, ka.post(f"/calls/{call.id}/privacy-checked")), "als geprüft markiert")
    ok(follow(ka, ka.post(f"/calls/{call.id}/fire/publish")), "Veröffentlicht")

    # An applicant registers, drafts, attaches a PDF; the draft survives closing the browser.
    applicant = app.test_client()
    r = applicant.post(
        "/register",
        data={
            "name": "Ada Antragstellerin",
            "organisation": "Atelier Ada",
            "email": "ada@example.org",
            "password": PASSWORD,
            "password2": PASSWORD,
            "locale": "de",
            "privacy": "y",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    login(applicant, "ada@example.org")  # registering does not log in (it answers alike for known addresses)
    # she confirms her address with the link from the mail (she could draft without, not submit)
    verify = db.session.scalar(
        select(OutboxMail).where(
            OutboxMail.kind == "verify_email", OutboxMail.to_address == "ada@example.org"
        )
    )
    link = re.search(r"https?://\S+", verify.body).group(0)
    ok(applicant.get(urlsplit(link).path, follow_redirects=True), "bestätigt")
    r = applicant.post(f"/calls/{call.id}/apply")
    edit_url = r.headers["Location"]
    pid = int(re.search(r"/proposals/(\d+)/edit", edit_url).group(1))
    answers = {
        "title": "Netzwerk Plagwitz",
        "field_of_action": "networks",
        "summary": "Vernetzung",
        "description": "Konzept der Maßnahme",
        "work_plan": "Q1 bis Q4",
        "team": "Ada und Bo",
        "leipzig_relation": "Plagwitz",
        "requested_amount": "20.000,00",
        "action": "save",
    }
    r = applicant.post(
        edit_url,
        data={**answers, "kind": "offer", "file": (io.BytesIO(PDF), "angebot.pdf")},
        content_type="multipart/form-data",
    )
    ok(follow(applicant, r), "Entwurf gespeichert", "angebot.pdf")
    applicant = client_for(app, "ada@example.org")  # closed the browser, came back
    ok(applicant.get(edit_url), "Konzept der Maßnahme", "angebot.pdf")
    # submitting without the second required attachment is refused, nothing is lost
    r = applicant.post(edit_url, data={**answers, "action": "submit"})
    assert r.status_code == 422  # the page again, the gap at its question
    page = r.get_data(as_text=True)
    assert (
        "Eigenerklärungen (PDF): Bitte laden Sie diese Anlage hoch." in page
        and "Konzept der Maßnahme" in page
    )
    r = applicant.post(
        edit_url,
        data={
            **answers,
            "action": "submit",
            "kind": "declarations",
            "file": (io.BytesIO(PDF), "erklaerung.pdf"),
        },
        content_type="multipart/form-data",
    )
    ok(follow(applicant, r), "Ihr Angebot ist eingegangen. Aktenzeichen: KW26-0001")
    ok(applicant.get("/messages"), "Eingangsbestätigung KW26-0001")

    # Sealed: before the deadline the officials see nothing but a count.
    ok(ka.get(f"/calls/{call.id}/proposals"), "1 Angebote sind eingegangen")
    assert ka.get(f"/proposals/{pid}").status_code == 404

    # After the deadline the worker closes the call; two officials open the submissions together.
    clock.set(berlin(2026, 11, 1, 0, 0, 30))
    from worker.sweep import sweep

    assert sweep()["calls_closed"] == 1
    afw = client_for(app, "afw")
    ok(follow(ka, ka.post(f"/calls/{call.id}/opening")), "Eine zweite Person muss")
    ok(
        follow(afw, afw.post(f"/calls/{call.id}/opening")),
        "Öffnungsniederschrift",
        "KW26-0001",
        "Karla KA",
        "Wolfgang AfWiFö",
    )

    # Before they read any proposal of the call, each official signs its declaration of neutrality once.
    page = ka.get(f"/proposals/{pid}")
    assert page.status_code == 403 and "Netzwerk Plagwitz" not in page.get_data(as_text=True)
    assert "Neutralitätserklärung" in page.get_data(as_text=True)
    for official in (ka, afw):
        ok(
            follow(
                official,
                official.post(
                    f"/calls/{call.id}/neutrality", data={"confirm": "y", "next": f"/proposals/{pid}"}
                ),
            ),
            "Neutralitätserklärung unterzeichnet",
            "Netzwerk Plagwitz",
        )

    # The formal check asks for a missing document; the applicant answers.
    ok(
        follow(
            ka,
            ka.post(
                f"/proposals/{pid}/fire/request_documents", data={"reason": "Bitte Referenzen nachreichen."}
            ),
        ),
        "Nachforderung offen",
    )
    ok(applicant.get(f"/proposals/{pid}"), "Bitte Referenzen nachreichen.")
    r = applicant.post(
        f"/proposals/{pid}/answer",
        data={"answer": "Referenzen anbei.", "file": (io.BytesIO(PDF), "referenzen.pdf")},
        content_type="multipart/form-data",
    )
    ok(follow(applicant, r), "Ihre Antwort ist eingegangen", "referenzen.pdf")
    ok(follow(ka, ka.post(f"/proposals/{pid}/fire/declare_eligible")), "Formal geprüft")

    # Reviewers are assigned, declare no conflict and score every criterion with a justification.
    rev_ids = [
        db.session.scalar(
            select(db.text("id"))
            .select_from(db.text("users"))
            .where(db.text("email = :e"))
            .params(e=ROLES[k][0])
        )
        for k in ("rev1", "rev2")
    ]
    ka.post(f"/proposals/{pid}/assign", data={"reviewer": str(rev_ids[0]), "start": "1"})
    ok(follow(ka, ka.post(f"/proposals/{pid}/assign", data={"reviewer": str(rev_ids[1])})), "In Begutachtung")
    criteria_ids = [c.id for c in call.criteria]
    for key, base in (("rev1", 4), ("rev2", 3)):
        rev = client_for(app, key)
        ok(rev.get("/reviews"), "Neutralitätserklärung unterzeichnen")
        assert rev.get(f"/proposals/{pid}").status_code == 404  # not before neutrality + no conflict
        rev.post(f"/calls/{call.id}/neutrality", data={"confirm": "y"})
        review_id = int(
            re.search(r"/reviews/(\d+)/conflict", rev.get("/reviews").get_data(as_text=True)).group(1)
        )
        rev.post(f"/reviews/{review_id}/conflict", data={"has_conflict": "no"})
        ok(
            rev.get(f"/reviews/{review_id}"), "Ihre Bewertung", "Q1 bis Q4"
        )  # the proposal beside the criteria
        data = {"action": "submit"}
        for i, cid in enumerate(criteria_ids):
            data[f"score_{cid}"] = "na" if (key == "rev2" and i == 4) else str(base if i % 2 else 5)
            data[f"justification_{cid}"] = f"Begründung {i}"
        ok(follow(rev, rev.post(f"/reviews/{review_id}", data=data)), "Gutachten abgegeben")
    ok(ka.get(f"/proposals/{pid}"), "Begutachtet", "Gesamtpunktzahl")

    # One KA official and one AfWiFö official sign off; the award is made within the remaining budget.
    ok(
        follow(ka, ka.post(f"/proposals/{pid}/sign-off", data={"decision": "approve"})),
        "Zeichnung ist gespeichert",
    )
    ok(follow(afw, afw.post(f"/proposals/{pid}/sign-off", data={"decision": "approve"})), "Genehmigt")
    ok(follow(ka, ka.post(f"/proposals/{pid}/award", data={"amount": "20.000,00"})), "Zuschlag erteilt")
    db.session.expire_all()
    assert db.session.get(Call, call.id).remaining_cents == 40_000_00

    # The applicant accepts; milestones and the interim and final reports are submitted and accepted.
    ok(follow(applicant, applicant.post(f"/proposals/{pid}/fire/accept_award")), "In Umsetzung")
    from foerdercall.awards.models import Milestone, Report

    for m in db.session.scalars(select(Milestone).where(Milestone.proposal_id == pid)).all():
        ok(
            follow(
                applicant,
                applicant.post(
                    f"/proposals/{pid}/milestones/{m.id}/report", data={"text": f"{m.title} erreicht"}
                ),
            ),
            "Meilenstein berichtet",
        )
        ok(follow(ka, ka.post(f"/proposals/{pid}/milestones/{m.id}/accept")), "Meilenstein abgenommen")
    ok(
        follow(
            applicant,
            applicant.post(
                f"/proposals/{pid}/reports/interim",
                data={"narrative": "Halbzeit erreicht", "use_of_funds": "Honorare", "spent": "8.000,00"},
            ),
        ),
        "Bericht eingereicht",
    )
    interim = db.session.scalar(select(Report).where(Report.proposal_id == pid))
    ok(follow(ka, ka.post(f"/proposals/{pid}/reports/{interim.id}/review", data={"decision": "approve"})))
    ok(
        follow(ka, ka.post(f"/proposals/{pid}/payments", data={"amount": "10.000,00", "note": "1. Rate"})),
        "Zahlung erfasst",
    )
    ok(
        follow(
            applicant,
            applicant.post(
                f"/proposals/{pid}/reports/final",
                data={
                    "narrative": "Alles umgesetzt",
                    "use_of_funds": "Honorare, Miete",
                    "spent": "20.000,00",
                },
            ),
        ),
        "Abschlussbericht eingereicht",
    )
    page = ok(follow(ka, ka.post(f"/proposals/{pid}/fire/accept_final_report")), "Abgeschlossen")
    # after the completion, the last payment: no dead end, and the task list says it is due until it is made
    from foerdercall.accounts.models import User
    from foerdercall.tasks.lists import tasks_for

    ka_user = db.session.scalar(select(User).where(User.email == ROLES["ka"][0]))
    assert "payments" in {t.key for t in tasks_for(ka_user)}
    page = ok(
        follow(
            ka, ka.post(f"/proposals/{pid}/payments", data={"amount": "10.000,00", "note": "Schlussrate"})
        ),
        "Zahlung erfasst",
        "Schlussrate",
    )
    db.session.expire_all()
    assert "payments" not in {t.key for t in tasks_for(ka_user)}

    # Every step is in the history with who, office, when and why.
    for step in (
        "Verbindlich einreichen",
        "Unterlagen nachfordern",
        "Bitte Referenzen nachreichen.",
        "Nachforderung beantworten",
        "Formal zulässig",
        "Gutachten abgegeben",
        "Zeichnung: Zustimmung",
        "Gemeinsam genehmigt",
        "Zuschlag erteilen",
        "Zuschlag annehmen",
        "Meilenstein abgenommen",
        "Zwischenbericht abgenommen",
        "Zahlung erfasst",
        "Abschlussbericht einreichen",
        "Abschlussbericht abnehmen",
        "Wolfgang AfWiFö",
        "AfWiFö",
        "Ada Antragstellerin",
        "System",
    ):
        assert step in page, step
    p = db.session.get(Proposal, pid)
    assert p.state == "completed"

    # Every mail the process sent is in the app's outbox, once.
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
    kinds = [m.kind for m in mails if m.proposal_id == pid]
    for kind in (
        "receipt",
        "clarification",
        "review_assigned",
        "award",
        "award_accepted",
        "final_report_submitted",
        "completed",
    ):
        assert kind in kinds, (kind, kinds)
    assert len({m.dedup_key for m in mails}) == len(mails)
    outbox = ok(ka.get("/outbox"), "Eingangsbestätigung KW26-0001", "Zuschlag für KW26-0001")
    assert "ada@example.org" in outbox
    assert all(m.status == "sent" for m in mails)


def test_submitting_twice_gives_one_submission_and_no_error(app, world):
    """A double click, a retried request or a second tab: the second submit finds the work done."""
    from sqlalchemy import func

    from foerdercall.audit.models import AuditEvent
    from foerdercall.mail.models import OutboxMail
    from foerdercall.proposals.operations import start_draft

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, world.applicant.email)
    login(second, world.applicant.email)
    assert first.post(f"/proposals/{p.id}/fire/submit").status_code == 302
    again = second.post(f"/proposals/{p.id}/fire/submit", follow_redirects=True)
    assert again.status_code == 200 and "nicht möglich" not in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(p), p.id).state == "submitted"
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "submit")) == 1
    assert db.session.scalar(select(func.count()).where(OutboxMail.kind == "receipt")) == 1
    # a different action on the submitted proposal is still refused with the message
    refused = first.post(
        f"/proposals/{p.id}/fire/answer_request", data={"reason": "x"}, follow_redirects=True
    )
    assert "nicht möglich" in refused.get_data(as_text=True)

"""Nobody loses typed text to an expired token (issue 5, continued): the answer to a clarification request, the
milestone reports and the interim and final reports are kept like the proposal and review forms and offered
again, in the same form, to their owner alone, who sends them (nothing is sent by itself); the worker's sweep
deletes what expired."""

from __future__ import annotations

import datetime as dt
import html
import re

from conftest import PASSWORD, award_after_deadline, berlin, fill_draft
from robustness.test_parking import drop_session, login, parked_count, token
from sqlalchemy import select

from foerdercall.awards.models import Milestone, Report
from foerdercall.extensions import db
from foerdercall.parking import operations as parking
from foerdercall.parking.models import ParkedPost
from foerdercall.policy import may
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire

ANSWER = "Die Referenzen folgen: Projekt A in Lindenau, Projekt B in Connewitz. " * 40
NARRATIVE = "Halbzeit: drei Workshops in Plagwitz, zwei Ausstellungen. " * 60


def submitted(world):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    return p


def in_clarification(world, clock) -> int:
    """A submitted proposal, opened after the deadline, with an open request for missing documents."""
    from foerdercall.calls.operations import confirm_opening, request_opening

    p = submitted(world)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "request_documents", world.ka, reason="Bitte Referenzen nachreichen.")
    db.session.commit()
    clock.advance(hours=1)
    return p.id


def in_implementation(world, clock) -> int:
    p = submitted(world)
    award_after_deadline(world, clock, world.call, p)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    clock.advance(hours=1)
    return p.id


def proposal(pid: int) -> Proposal:
    db.session.expire_all()
    return db.session.get(Proposal, pid)


def textarea(page: str, name: str) -> str | None:
    """The text a textarea of the parked page shows (its first newline is the markup's)."""
    m = re.search(rf'<textarea id="parked-\d+-{name}" name="{name}"[^>]*>\n(.*?)</textarea>', page, re.S)
    return html.unescape(m.group(1)) if m else None


def flash_after(client, resp) -> str:
    return client.get(resp.headers["Location"]).get_data(as_text=True)


def test_the_answer_to_a_request_is_kept_and_sent_again_only_by_its_owner(app, world, clock):
    pid = in_clarification(world, clock)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "app@x.test")
    csrf = token(client, f"/proposals/{pid}")
    drop_session(client)  # the session ends while the applicant writes the answer

    resp = client.post(f"/proposals/{pid}/answer", data={"csrf_token": csrf, "answer": ANSWER})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert "Nach der Anmeldung können Sie sie prüfen und noch einmal absenden" in flash_after(client, resp)
    assert proposal(pid).state == "clarification" and parked_count() == 1

    resp = client.post(
        resp.headers["Location"],
        data={"email": "app@x.test", "password": PASSWORD, "csrf_token": token(client, "/login")},
    )
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/parked")
    page = client.get("/parked").get_data(as_text=True)
    # the whole text, in the same form again (editable, copyable), next to the request it answers
    assert textarea(page, "answer") == ANSWER
    assert f'action="/proposals/{pid}/answer"' in page and "Bitte Referenzen nachreichen." in page
    assert "Antwort senden" in page and "In den Entwurf übernehmen" not in page
    assert proposal(pid).state == "clarification"  # shown, not sent

    # the draft take-over does not apply to a one-shot form: nothing is sent without the form's own button
    row_id = db.session.scalar(select(ParkedPost.id))
    resp = client.post(f"/parked/{row_id}/apply", data={"csrf_token": token(client, "/parked")})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/parked")
    assert proposal(pid).state == "clarification" and parked_count() == 1

    # the applicant sends the form of the parked page: the answer is in, the parked text no longer offered
    resp = client.post(
        f"/proposals/{pid}/answer",
        data={"csrf_token": token(client, "/parked"), "answer": textarea(page, "answer")},
    )
    assert "Ihre Antwort ist eingegangen" in flash_after(client, resp)
    p = proposal(pid)
    assert p.state == "submitted" and p.clarifications[-1].answer.strip() == ANSWER.strip()
    assert client.get("/parked").status_code == 302


def test_a_parked_answer_is_only_for_its_owner_in_that_browser(app, world, clock):
    pid = in_clarification(world, clock)
    app.config["WTF_CSRF_ENABLED"] = True
    browser = app.test_client()  # not logged in: an old browser that names no origin
    # a post another site makes the browser send is not even kept
    browser.post(
        f"/proposals/{pid}/answer",
        data={"answer": "Untergeschoben"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert parked_count() == 0
    browser.post(f"/proposals/{pid}/answer", data={"answer": "Untergeschoben"})
    assert parked_count() == 1
    row_id = db.session.scalar(select(ParkedPost.id))

    login(browser, "app2@x.test")  # someone else in that browser sees nothing of it
    assert browser.get("/parked").status_code == 302
    assert (
        browser.post(f"/parked/{row_id}/apply", data={"csrf_token": token(browser, "/calls")}).status_code
        == 404
    )
    browser.post("/logout", data={"csrf_token": token(browser, "/calls")})
    other = app.test_client()  # the owner in another browser neither
    login(other, "app@x.test")
    assert other.get("/parked").status_code == 302
    # the owner in that browser is shown it, and nothing was sent
    login(browser, "app@x.test")
    assert textarea(browser.get("/parked").get_data(as_text=True), "answer") == "Untergeschoben"
    assert proposal(pid).state == "clarification"


def test_an_answer_parked_before_a_later_request_is_not_offered_for_it(app, world, clock):
    pid = in_clarification(world, clock)
    p = proposal(pid)
    old = parking.park(
        "k" * 64, world.applicant.id, "proposals.answer", pid, {"answer": "Alte Antwort"}, False
    )
    db.session.commit()
    assert may(world.applicant, "parking.take_over", old) and not may(
        world.applicant2, "parking.take_over", old
    )
    clock.advance(minutes=5)
    fire(p, "answer_request", world.applicant, reason="Hier die Antwort")
    fire(p, "request_documents", world.ka, reason="Noch etwas, bitte.")
    db.session.commit()
    assert not may(world.applicant, "parking.take_over", old)


def test_milestone_and_interim_report_are_kept_when_the_token_is_refused(app, world, clock):
    pid = in_implementation(world, clock)
    ms = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == pid).order_by(Milestone.position)
    ).first()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "app@x.test")

    resp = client.post(
        f"/proposals/{pid}/milestones/{ms.id}/report",
        data={"csrf_token": "abgelaufen", "text": "Auftakt mit 40 Gästen erreicht."},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/parked"
    assert "Sie können sie hier prüfen und noch einmal absenden" in flash_after(client, resp)
    resp = client.post(
        f"/proposals/{pid}/reports/interim",
        data={
            "csrf_token": "abgelaufen",
            "narrative": NARRATIVE,
            "use_of_funds": "Honorare",
            "spent": "8.000,00",
        },
    )
    assert resp.headers["Location"] == "/parked"
    db.session.expire_all()
    assert db.session.get(Milestone, ms.id).reported_at is None
    assert db.session.scalar(select(Report).where(Report.proposal_id == pid)) is None

    page = client.get("/parked").get_data(as_text=True)
    assert textarea(page, "text") == "Auftakt mit 40 Gästen erreicht."
    assert textarea(page, "narrative") == NARRATIVE and textarea(page, "use_of_funds") == "Honorare"
    assert 'name="spent" value="8.000,00"' in page and "Zwischenbericht" in page
    assert f'action="/proposals/{pid}/reports/interim"' in page
    assert f'action="/proposals/{pid}/milestones/{ms.id}/report"' in page

    # sent from the parked page: reported, and each entry leaves the list once its text is in
    csrf = token(client, "/parked")
    resp = client.post(
        f"/proposals/{pid}/milestones/{ms.id}/report",
        data={"csrf_token": csrf, "text": textarea(page, "text")},
    )
    assert "Meilenstein berichtet" in flash_after(client, resp)
    page = client.get("/parked").get_data(as_text=True)
    assert textarea(page, "text") is None and textarea(page, "narrative") == NARRATIVE
    resp = client.post(
        f"/proposals/{pid}/reports/interim",
        data={
            "csrf_token": token(client, "/parked"),
            "narrative": NARRATIVE,
            "use_of_funds": "Honorare",
            "spent": "8.000,00",
        },
    )
    assert "Bericht eingereicht" in flash_after(client, resp)
    report = db.session.scalar(select(Report).where(Report.proposal_id == pid))
    assert (report.kind, report.spent_cents) == ("interim", 8_000_00)
    assert client.get("/parked").status_code == 302


def test_a_correction_of_a_reported_milestone_is_kept_until_the_milestone_is_accepted(app, world, clock):
    """A milestone report may be corrected until an official accepts it: text typed for that is offered too,
    and no longer once the milestone is accepted."""
    from foerdercall.awards.operations import accept_milestone, report_milestone

    pid = in_implementation(world, clock)
    ms = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == pid).order_by(Milestone.position)
    ).first()
    report_milestone(ms, world.applicant, "Erster Stand.")
    db.session.commit()
    clock.advance(minutes=5)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "app@x.test")
    resp = client.post(
        f"/proposals/{pid}/milestones/{ms.id}/report",
        data={"csrf_token": "abgelaufen", "text": "Berichtigt: 40 Gäste, nicht 30."},
    )
    assert resp.headers["Location"] == "/parked"
    assert textarea(client.get("/parked").get_data(as_text=True), "text") == "Berichtigt: 40 Gäste, nicht 30."
    accept_milestone(db.session.get(Milestone, ms.id), world.ka)
    db.session.commit()
    assert client.get("/parked").status_code == 302  # accepted: nothing to correct any more


def test_a_report_of_an_unknown_kind_or_without_text_is_not_kept(app, world, clock):
    pid = in_implementation(world, clock)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "app@x.test")
    client.post(f"/proposals/{pid}/reports/sonstiges", data={"csrf_token": "x", "narrative": NARRATIVE})
    client.post(f"/proposals/{pid}/reports/final", data={"csrf_token": "x", "narrative": " ", "spent": ""})
    assert parked_count() == 0
    client.post(
        f"/proposals/{pid}/reports/final", data={"csrf_token": "x", "narrative": "Etwas", "spent": ""}
    )
    assert parked_count() == 1


def test_the_sweep_deletes_expired_parked_posts_and_keeps_fresh_ones(app, world, clock):
    from worker.sweep import sweep

    pid = start_draft(world.call, world.applicant).id
    old = parking.park("a" * 64, None, "proposals.edit", pid, {"description": "alt"}, False)
    clock.advance(hours=20)
    fresh = parking.park("b" * 64, None, "proposals.edit", pid, {"description": "neu"}, False)
    db.session.commit()
    old_id, fresh_id = old.id, fresh.id

    sweep(clock() + dt.timedelta(hours=3))  # 23 hours after the first: nothing has expired
    assert parked_count() == 2
    sweep(clock() + dt.timedelta(hours=4, seconds=1))  # the first is past its day
    db.session.expire_all()
    assert db.session.scalars(select(ParkedPost.id)).all() == [fresh_id]
    assert db.session.get(ParkedPost, old_id) is None


def test_expired_parked_posts_go_in_batches(app, world, clock):
    from worker.sweep import sweep_parked_posts

    pid = start_draft(world.call, world.applicant).id
    for n in range(7):
        parking.park(f"{n}" * 64, None, "proposals.edit", pid, {"description": f"Text {n}"}, False)
    clock.advance(hours=1)
    parking.park("f" * 64, None, "proposals.edit", pid, {"description": "frisch"}, False)
    db.session.commit()
    assert sweep_parked_posts(clock() + parking.KEEP - dt.timedelta(minutes=30), batch=3) == 7
    assert parked_count() == 1
    assert sweep_parked_posts(clock() + parking.KEEP - dt.timedelta(minutes=30), batch=3) == 0


def reviewed(world, clock) -> int:
    """A proposal opened, declared eligible and reviewed: waiting for both offices' sign-offs."""
    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality

    p = submitted(world)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(p, "declare_eligible", world.ka)
    sign_neutrality(world.call, world.rev1)
    review = assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, world.rev1, False)
    save_review(review, world.rev1, {c.id: (1, "schwach") for c in world.call.criteria}, submit=True)
    db.session.commit()
    assert p.state == "reviewed"
    clock.advance(hours=1)
    return p.id


REJECTION = (
    "Das Konzept bleibt unbestimmt: kein Zeitplan, keine Partner, kein Bezug zu einem Stadtteil. " * 20
)


def test_a_sign_off_reason_is_kept_for_that_official_and_sent_only_by_them(app, world, clock):
    from foerdercall.awards.models import SignOff

    pid = reviewed(world, clock)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "afw@x.test")
    resp = client.post(
        f"/proposals/{pid}/sign-off",
        data={"csrf_token": "abgelaufen", "decision": "reject", "reason": REJECTION},
    )
    assert resp.headers["Location"] == "/parked"
    assert proposal(pid).state == "reviewed" and db.session.scalar(select(SignOff.id)) is None
    page = client.get("/parked").get_data(as_text=True)
    assert textarea(page, "reason") == REJECTION
    assert '<option value="reject" selected>' in page and f'action="/proposals/{pid}/sign-off"' in page

    # another official in that browser (the text was parked while afw was logged in) sees nothing of it
    client.post("/logout", data={"csrf_token": token(client, "/calls")})
    login(client, "ka@x.test")
    assert client.get("/parked").status_code == 302
    client.post("/logout", data={"csrf_token": token(client, "/calls")})

    login(client, "afw@x.test")
    page = client.get("/parked").get_data(as_text=True)
    resp = client.post(
        f"/proposals/{pid}/sign-off",
        data={
            "csrf_token": token(client, "/parked"),
            "decision": "reject",
            "reason": textarea(page, "reason"),
        },
    )
    assert resp.status_code == 302
    assert proposal(pid).state == "rejected"
    assert db.session.scalar(select(SignOff.reason)).strip() == REJECTION.strip()
    assert client.get("/parked").status_code == 302  # signed: no longer offered


def test_the_request_for_documents_is_kept_when_the_session_ended(app, world, clock):
    from foerdercall.calls.operations import confirm_opening, request_opening

    p = submitted(world)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    db.session.commit()
    pid = p.id
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "ka@x.test")
    csrf = token(client, f"/proposals/{pid}")
    drop_session(client)
    message = "Bitte reichen Sie Referenzen und den Finanzplan nach. " * 10
    resp = client.post(
        f"/proposals/{pid}/fire/request_documents", data={"csrf_token": csrf, "reason": message}
    )
    assert "/login" in resp.headers["Location"]
    # a step without a reason (nothing typed) is not kept; nor a step that is not fired from this form
    client.post(f"/proposals/{pid}/fire/declare_eligible", data={"csrf_token": csrf})
    client.post(f"/proposals/{pid}/fire/answer_request", data={"csrf_token": csrf, "reason": "x"})
    assert parked_count() == 1

    login(client, "ka@x.test")
    page = client.get("/parked").get_data(as_text=True)
    assert textarea(page, "reason") == message
    assert f'action="/proposals/{pid}/fire/request_documents"' in page and "Unterlagen nachfordern" in page
    assert proposal(pid).state == "submitted"
    resp = client.post(
        f"/proposals/{pid}/fire/request_documents",
        data={"csrf_token": token(client, "/parked"), "reason": textarea(page, "reason")},
    )
    p = proposal(pid)
    assert p.state == "clarification" and p.clarifications[-1].message.strip() == message.strip()
    assert client.get("/parked").status_code == 302

"""Nobody loses typed text to an expired session or a refused form token: the post's text is kept for the
browser that sent it and, after the login, offered to the owner of the draft, who takes it over (or not).
A post another site makes a browser send is never applied by itself."""

from __future__ import annotations

import re

from conftest import PASSWORD
from flask import g
from sqlalchemy import func, select

from foerdercall.extensions import db
from foerdercall.parking.models import ParkedPost
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft

LONG = "Unser Konzept, lange getippt.\n" + "Absatz über Plagwitz. " * 200


def token(client, url: str) -> str:
    # the tests keep one app context across requests: Flask-WTF's per-request cache of the token must not
    # outlive a session that was cleared (at the login) or lost
    g.pop("csrf_token", None)
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)


def login(client, email: str):
    resp = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token(client, "/login")}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    return resp


def drop_session(client):
    """The browser loses its session cookie (it expired, or the browser was closed)."""
    client.delete_cookie("session", domain="foerdercall.test")


def draft_of(world):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    return p.id


def proposal(pid: int) -> Proposal:
    db.session.expire_all()
    return db.session.get(Proposal, pid)


def parked_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ParkedPost))


def edit_post(pid: int, csrf: str, **fields):
    return {
        "csrf_token": csrf,
        "title": "Netzwerk Plagwitz",
        "summary": "Kurz",
        "description": LONG,
        "work_plan": "",
        "team": "",
        "leipzig_relation": "",
        "field_of_action": "networks",
        "requested_amount": "",
        "action": "save",
        **fields,
    }


def test_an_expired_session_keeps_the_text_and_offers_it_after_the_login(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    pid = draft_of(world)
    client = app.test_client()
    login(client, "app@x.test")
    csrf = token(client, f"/proposals/{pid}/edit")
    drop_session(client)  # the session ends while the person types

    resp = client.post(f"/proposals/{pid}/edit", data=edit_post(pid, csrf))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Ihre Sitzung war abgelaufen. Ihre Eingaben wurden aufbewahrt" in page
    assert proposal(pid).description == ""  # nothing applied without the owner

    csrf = token(client, "/login")
    resp = client.post(
        resp.headers["Location"], data={"email": "app@x.test", "password": PASSWORD, "csrf_token": csrf}
    )
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/parked"), resp.get_data(
        as_text=True
    )
    page = client.get("/parked").get_data(as_text=True)
    assert "Ihre nicht gespeicherten Eingaben vom" in page and "wurden aufbewahrt" in page
    assert "Absatz über Plagwitz." in page
    assert proposal(pid).description == ""

    row = db.session.scalar(select(ParkedPost))
    # the take-over is a post with the form's token like every other
    assert client.post(f"/parked/{row.id}/apply", data={}).status_code == 400
    resp = client.post(f"/parked/{row.id}/apply", data={"csrf_token": token(client, "/parked")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/proposals/{pid}/edit")
    p = proposal(pid)
    assert p.description == LONG.replace("\n", "\r\n") or p.description == LONG
    assert p.title == "Netzwerk Plagwitz"
    assert parked_count() == 0
    assert "übernommen und gespeichert" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_a_refused_token_keeps_the_text_and_files_are_named(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    pid = draft_of(world)
    client = app.test_client()
    login(client, "app@x.test")
    import io

    resp = client.post(
        f"/proposals/{pid}/edit",
        content_type="multipart/form-data",
        data={**edit_post(pid, "abgelaufen"), "file": (io.BytesIO(b"%PDF-1.4"), "plan.pdf")},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/parked"
    page = client.get("/parked").get_data(as_text=True)
    assert "Das Formular war abgelaufen. Ihre Eingaben wurden aufbewahrt" in page
    assert "Hochgeladene Dateien konnten nicht aufbewahrt werden" in page
    assert proposal(pid).description == ""
    row = db.session.scalar(select(ParkedPost))
    # discarding removes the text and changes nothing
    resp = client.post(f"/parked/{row.id}/discard", data={"csrf_token": token(client, "/parked")})
    assert resp.status_code == 302
    assert parked_count() == 0 and proposal(pid).description == ""


def test_autosave_after_the_session_ended_keeps_one_copy_the_newest(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    pid = draft_of(world)
    client = app.test_client()
    login(client, "app@x.test")
    csrf = token(client, f"/proposals/{pid}/edit")
    drop_session(client)
    for n in range(3):
        client.post(f"/proposals/{pid}/edit", data=edit_post(pid, csrf, description=f"Fassung {n}"))
    assert parked_count() == 1
    assert db.session.scalar(select(ParkedPost)).fields["description"] == "Fassung 2"


def test_a_cross_site_post_is_never_applied_without_the_owner(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    pid = draft_of(world)
    victim = app.test_client()  # the applicant's browser, not logged in at the moment
    # a post from another site (the browser names it) is not even kept
    resp = victim.post(
        f"/proposals/{pid}/edit",
        data=edit_post(pid, "", description="Untergeschoben"),
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert resp.status_code in (302, 400)
    assert parked_count() == 0
    # an old browser that names no origin: kept for that browser, but only offered
    victim.post(f"/proposals/{pid}/edit", data=edit_post(pid, "", description="Untergeschoben"))
    assert parked_count() == 1
    row_id = db.session.scalar(select(ParkedPost.id))

    # someone else logging in in that browser sees nothing of it and cannot apply it
    login(victim, "app2@x.test")
    assert victim.get("/parked").status_code == 302
    assert (
        victim.post(f"/parked/{row_id}/apply", data={"csrf_token": token(victim, "/calls")}).status_code
        == 404
    )
    victim.post("/logout", data={"csrf_token": token(victim, "/calls")})
    # the owner logging in from another browser does not get it either
    other = app.test_client()
    login(other, "app@x.test")
    assert (
        other.post(f"/parked/{row_id}/apply", data={"csrf_token": token(other, "/calls")}).status_code == 404
    )
    assert proposal(pid).description == ""
    # the owner in that browser is shown the text and decides; without the button nothing changes
    resp = login(victim, "app@x.test")
    assert resp.headers["Location"].startswith("/parked")
    page = victim.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Untergeschoben" in page and "In den Entwurf übernehmen" in page
    assert proposal(pid).description == ""
    # a submitted proposal no longer takes parked text
    db.session.get(Proposal, pid).state = "withdrawn"
    db.session.commit()
    assert victim.get("/parked").status_code == 302
    assert (
        victim.post(f"/parked/{row_id}/apply", data={"csrf_token": token(victim, "/calls")}).status_code
        == 404
    )


def test_the_review_form_keeps_its_justifications(app, world, clock):
    from reviews.test_scoring import in_review, ready

    from foerdercall.reviews.models import Review

    p, (review, _other) = in_review(world, clock)
    ready(p, world.rev1)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, "rev1@x.test")
    csrf = token(client, f"/reviews/{review.id}")
    drop_session(client)
    c = p.call.criteria[0]
    resp = client.post(
        f"/reviews/{review.id}",
        data={
            "csrf_token": csrf,
            f"score_{c.id}": "4",
            f"justification_{c.id}": "Sehr gut begründet, lange Zeilen.",
            "action": "save",
        },
    )
    assert "/login" in resp.headers["Location"]
    resp = client.post(
        resp.headers["Location"],
        data={"email": "rev1@x.test", "password": PASSWORD, "csrf_token": token(client, "/login")},
    )
    page = client.get("/parked").get_data(as_text=True)
    assert "Sehr gut begründet, lange Zeilen." in page
    row = db.session.scalar(select(ParkedPost))
    resp = client.post(f"/parked/{row.id}/apply", data={"csrf_token": token(client, "/parked")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/reviews/{review.id}")
    db.session.expire_all()
    score = {s.criterion_id: s for s in db.session.get(Review, review.id).scores}[c.id]
    assert (score.score, score.justification) == (4, "Sehr gut begründet, lange Zeilen.")

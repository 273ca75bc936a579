"""Server-side login sessions (issue 17, hole 6): the cookie carries a random token whose hash is a row of
`login_sessions`; a request is logged in only while that row is live. Logout, a password reset, a change of the
two-factor login, an admin, a removed role, a deleted account and the lifetime end sessions; a copied cookie then
gets the login page."""

from __future__ import annotations

import re

import pytest
from account_helpers import audit_actions, link_in, mails, totp_code, turn_on_two_factor
from conftest import PASSWORD, login
from sqlalchemy import event, select

from foerdercall.extensions import db

NEW = "ein ganz neues Passwort"


def _logged_in(client) -> bool:
    r = client.get("/account")
    assert r.status_code in (200, 302), r.status_code
    return r.status_code == 200


def _cookie(client) -> str:
    cookie = client.get_cookie("session", domain="foerdercall.test")
    assert cookie is not None
    return cookie.value


def _copy(app, client):
    """A second browser holding a copy of the first one's session cookie (stolen, or kept from before)."""
    copy = app.test_client()
    copy.set_cookie("session", _cookie(client), domain="foerdercall.test")
    return copy


def _browser(app, email, *, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", address="10.0.0.1"):
    client = app.test_client()
    r = client.post(
        "/login",
        data={"email": email, "password": PASSWORD},
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


def test_a_copied_cookie_gets_the_login_page_after_logout(app, world):
    client = app.test_client()
    login(client, "app@x.test")
    copy = _copy(app, client)
    assert _logged_in(copy)  # the copy is the same session while it lasts
    client.post("/logout")
    r = copy.get("/account")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert copy.get("/account/data").status_code == 302
    # logging in again makes a new session: the old cookie stays dead
    login(client, "app@x.test")
    assert not _logged_in(copy) and _logged_in(client)


def test_a_session_from_before_a_password_reset_ends_with_it(app, world):
    """Every session of the account ends, not only the browser that reset the password."""
    before = _browser(app, "app@x.test")
    other_person = _browser(app, "app2@x.test")
    resetting = app.test_client()
    resetting.post("/password/forgot", data={"email": "app@x.test"})
    path = link_in(mails("password_reset", "app@x.test")[0])
    assert resetting.post(path, data={"password": NEW, "password2": NEW}).status_code == 302
    assert not _logged_in(before)
    assert _logged_in(other_person)
    r = app.test_client().post("/login", data={"email": "app@x.test", "password": NEW})
    assert r.status_code == 302


def test_an_admin_ends_a_persons_sessions(app, world):
    first, second = _browser(app, "rev1@x.test"), _browser(app, "rev1@x.test", address="10.0.0.2")
    bystander = _browser(app, "rev2@x.test")
    admin = _browser(app, "admin@x.test")
    page = admin.get(f"/admin/users/{world.rev1.id}").get_data(as_text=True)
    assert "Offene Sitzungen: 2" in page and "Alle Sitzungen beenden" in page
    # a confirmation first: without it nothing ends
    r = admin.post(f"/admin/users/{world.rev1.id}/sessions/end", data={}, follow_redirects=True)
    assert "Bitte bestätigen Sie" in r.get_data(as_text=True)
    assert _logged_in(first) and _logged_in(second)
    r = admin.post(f"/admin/users/{world.rev1.id}/sessions/end", data={"confirm": "y"}, follow_redirects=True)
    assert "2 Sitzungen von Rita Reviewer wurden beendet" in r.get_data(as_text=True)
    assert not _logged_in(first) and not _logged_in(second)
    assert _logged_in(bystander) and _logged_in(admin)
    [event_] = audit_actions("end_sessions")
    assert event_.object_id == world.rev1.id and event_.actor_id == world.admin.id
    assert event_.data == {"reason": "admin", "ended": 2}
    assert "Offene Sitzungen: 0" in admin.get(f"/admin/users/{world.rev1.id}").get_data(as_text=True)


def test_a_person_sees_their_sessions_and_ends_the_others(app, world):
    here = _browser(
        app, "app@x.test", agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0", address="10.0.0.1"
    )
    there = _browser(app, "app@x.test", agent="Mozilla/5.0 (iPhone) Safari/604.1", address="192.0.2.44")
    page = here.get("/account").get_data(as_text=True)
    assert "Offene Sitzungen" in page and "192.0.2.44" in page and "iPhone" in page
    assert "diese Sitzung" in page and "01.10.2026, 09:00 Uhr" in page
    r = here.post("/account/sessions/end-others", data={}, follow_redirects=True)
    assert "1 andere Sitzung wurde beendet" in r.get_data(as_text=True)
    assert _logged_in(here) and not _logged_in(there)
    assert "192.0.2.44" not in here.get("/account").get_data(as_text=True)
    assert [e.data for e in audit_actions("end_sessions")] == [{"reason": "others", "ended": 1}]


def test_turning_two_factor_on_or_off_ends_the_other_sessions(app, world, clock):
    other = _browser(app, "ka@x.test")
    secret, _codes = turn_on_two_factor(app)  # in a browser of its own
    assert not _logged_in(other)
    clock.advance(minutes=1)
    this, that = app.test_client(), app.test_client()
    for client in (this, that):
        assert client.post("/login", data={"email": "ka@x.test", "password": PASSWORD}).status_code == 302
        assert client.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302
        clock.advance(seconds=30)
    assert this.post("/account/two-factor/disable", data={"password": PASSWORD}).status_code == 302
    assert _logged_in(this) and not _logged_in(that)


def test_an_admins_reset_of_the_two_factor_login_ends_every_session(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    person = app.test_client()
    person.post("/login", data={"email": "ka@x.test", "password": PASSWORD})
    assert person.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302
    admin = _browser(app, "admin@x.test")
    assert admin.post(f"/admin/users/{world.ka.id}/two-factor/reset", data={}).status_code == 302
    assert not _logged_in(person)


def test_removing_a_role_ends_the_persons_sessions_adding_one_does_not(app, world):
    reviewer = _browser(app, "rev1@x.test")
    admin = _browser(app, "admin@x.test")
    admin.post(f"/admin/users/{world.rev1.id}", data={"roles": ["reviewer", "advisor"], "office": ""})
    assert _logged_in(reviewer)
    admin.post(f"/admin/users/{world.rev1.id}", data={"roles": ["advisor"], "office": ""})
    assert not _logged_in(reviewer)
    assert [e.data["reason"] for e in audit_actions("end_sessions")] == ["roles_changed"]


def test_a_deleted_account_has_no_session_left(app, world):
    other = _browser(app, "app@x.test")
    client = _browser(app, "app@x.test")
    r = client.post("/account/delete", data={"confirm": "y", "password": PASSWORD})
    assert r.status_code == 302
    assert not _logged_in(other) and not _logged_in(client)


def test_an_inactive_account_is_logged_out_even_with_a_live_session(app, world):
    """The class, not only the deletion: whatever makes an account inactive, its cookie opens nothing."""
    client = _browser(app, "app@x.test")
    world.applicant.active = False
    db.session.commit()
    assert not _logged_in(client)


def test_a_session_ends_after_its_lifetime(app, world, clock):
    from foerdercall.config import Config

    assert Config.SESSION_LIFETIME_HOURS == 12
    app.config["SESSION_LIFETIME_HOURS"] = 12
    client = _browser(app, "app@x.test")
    clock.advance(hours=11, minutes=59)
    assert _logged_in(client)
    clock.advance(minutes=2)
    r = client.get("/account")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    login(client, "app@x.test")  # a new session with its own lifetime
    assert _logged_in(client)


def test_text_typed_into_an_expired_session_is_kept(app, world, clock):
    """The parked-text feature (foerdercall/parking) across a session that ended by its lifetime: the cookie
    (with its form token) is still there, the session row is not live any more."""
    from foerdercall.parking.models import ParkedPost
    from foerdercall.proposals.operations import start_draft

    app.config["SESSION_LIFETIME_HOURS"] = 12
    app.config["WTF_CSRF_ENABLED"] = True
    pid = start_draft(world.call, world.applicant).id
    db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    assert (
        client.post(
            "/login", data={"email": "app@x.test", "password": PASSWORD, "csrf_token": csrf}
        ).status_code
        == 302
    )
    from flask import g

    g.pop("csrf_token", None)
    page = client.get(f"/proposals/{pid}/edit").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    clock.advance(hours=13)
    text = "Ein langer Text, über Stunden getippt. " * 50
    r = client.post(
        f"/proposals/{pid}/edit",
        data={
            "csrf_token": csrf,
            "title": "Netzwerk",
            "summary": "",
            "description": text,
            "work_plan": "",
            "team": "",
            "leipzig_relation": "",
            "field_of_action": "networks",
            "requested_amount": "",
            "action": "save",
        },
    )
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    db.session.expire_all()
    [row] = db.session.scalars(select(ParkedPost)).all()
    assert row.fields["description"] == text and row.user_id is None


def test_the_user_loader_is_one_statement_and_writes_nothing(app, world):
    """Each request loads the person with their roles through the live session row: one SELECT; a logged-in
    request writes nothing to the database (the deadline-surge benchmark counts on both)."""
    from flask import current_app

    from foerdercall.extensions import login_manager

    client = _browser(app, "admin@x.test")
    with client.session_transaction() as sess:
        token = sess["_user_id"]
    assert not token.isdigit() and len(token) >= 40  # a random token, not the account's id
    seen: list[str] = []

    def add(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    db.session.commit()
    db.session.expunge_all()  # nothing of the account in the session's identity map
    with app.test_request_context():
        event.listen(db.engine, "before_cursor_execute", add)
        try:
            user = login_manager._user_callback(token)
            assert user.email == "admin@x.test" and user.roles == {"admin"}
            assert user.get_id() == token
        finally:
            event.remove(db.engine, "before_cursor_execute", add)
        assert current_app
    seen = [
        s for s in seen if not s.startswith("BEGIN")
    ]  # SQLite's BEGIN IMMEDIATE: no statement of the loader
    assert len(seen) == 1 and "login_sessions" in seen[0] and "role_grants" in seen[0], seen
    seen.clear()
    db.session.commit()
    event.listen(db.engine, "before_cursor_execute", add)
    try:
        assert client.get("/admin/users").status_code == 200
        assert client.get("/account").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", add)
    writes = [s for s in seen if re.match(r"(INSERT|UPDATE|DELETE)\b", s)]
    assert writes == []


def test_a_cookie_with_an_accounts_id_opens_nothing(app, world):
    """Cookies from before the server-side sessions (the id of the account, signed with the key) and Flask-Login's
    remember-me cookie (the app never sets one; one made with the key is not read, even with a live token)."""
    from flask_login.utils import encode_cookie

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(world.admin.id)
        sess["_fresh"] = True
    r = client.get("/admin/users")
    assert r.status_code == 302 and "/login" in r.headers["Location"]

    r = app.test_client().post("/login", data={"email": "admin@x.test", "password": PASSWORD})
    assert not [c for c in r.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    admin = _browser(app, "admin@x.test")
    with admin.session_transaction() as sess:
        token = sess["_user_id"]
    for value in (str(world.admin.id), token):
        forged = app.test_client()
        with app.test_request_context():
            forged.set_cookie("remember_token", encode_cookie(value), domain="foerdercall.test")
        r = forged.get("/admin/users")
        assert r.status_code == 302 and "/login" in r.headers["Location"], value
    assert _logged_in(admin)  # the session itself is live: only the remember-me cookie was refused


@pytest.mark.parametrize("ended", [True, False])
def test_the_sweep_deletes_old_session_rows_in_batches(app, world, clock, ended):
    from foerdercall.accounts.models import LoginSession
    from worker.sweep import sweep, sweep_login_sessions

    app.config["SESSION_LIFETIME_HOURS"] = 12
    clients = [_browser(app, "app@x.test") for _i in range(3)]
    if ended:
        for client in clients:
            client.post("/logout")
    live = _browser(app, "app2@x.test")
    clock.advance(days=29)
    assert sweep()["login_sessions_deleted"] == 0
    clock.advance(days=2)
    _browser(app, "app2@x.test")  # a new, live one stays
    assert sweep_login_sessions(batch=2) == 4  # three old ones of app@ and the expired one of app2@
    db.session.expire_all()
    assert len(db.session.scalars(select(LoginSession)).all()) == 1
    assert not _logged_in(live)

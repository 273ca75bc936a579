"""Password reset ("Passwort vergessen?"): a signed link by mail that expires and works once; no hint
whether an account exists."""

from __future__ import annotations

from account_helpers import audit_actions, link_in, mails, register
from conftest import PASSWORD, login, untimed

from foerdercall.extensions import db

RESET = "password_reset"
NEW = "ein ganz neues Passwort"


def _forgot(client, email):
    return client.post("/password/forgot", data={"email": email})


def test_the_login_page_offers_the_reset(app, world):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Passwort vergessen?" in page and "/password/forgot" in page


def test_known_and_unknown_addresses_get_the_same_page(app, world):
    client = app.test_client()
    known = _forgot(client, "APP@x.test ")  # as typed: case and spaces do not matter
    unknown = _forgot(client, "nobody@x.test")
    assert known.status_code == unknown.status_code == 200
    assert untimed(known.get_data()) == untimed(unknown.get_data())
    assert "Wenn es zu dieser Adresse ein Konto gibt" in known.get_data(as_text=True)
    [mail] = mails(RESET, "app@x.test")
    assert mail.subject == "Passwort zurücksetzen" and "60 Minuten" in mail.body
    assert mails(RESET, "nobody@x.test") == []
    assert [e.object_id for e in audit_actions("request_password_reset")] == [world.applicant.id]


def test_the_link_sets_a_new_password_and_works_once(app, world, clock):
    client = app.test_client()
    _forgot(client, "app@x.test")
    path = link_in(mails(RESET, "app@x.test")[0])
    form = client.get(path)
    assert form.status_code == 200 and "Neues Passwort festlegen" in form.get_data(as_text=True)
    assert form.headers["Cache-Control"] == "no-store"
    # the two entries must match; nothing changes
    r = client.post(path, data={"password": NEW, "password2": NEW + "x"})
    assert r.status_code == 422 and "stimmen nicht überein" in r.get_data(as_text=True)
    r = client.post(path, data={"password": NEW, "password2": NEW})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert [e.object_id for e in audit_actions("reset_password")] == [world.applicant.id]

    # the old password is gone, the new one works
    assert (
        app.test_client().post("/login", data={"email": "app@x.test", "password": PASSWORD}).status_code
        == 422
    )
    assert app.test_client().post("/login", data={"email": "app@x.test", "password": NEW}).status_code == 302
    # used once: the link is dead, for showing and for posting
    again = client.get(path)
    assert again.status_code == 400 and "schon benutzt" in again.get_data(as_text=True)
    other = "noch ein Passwort!"
    assert client.post(path, data={"password": other, "password2": other}).status_code == 400
    assert app.test_client().post("/login", data={"email": "app@x.test", "password": NEW}).status_code == 302


def test_the_link_expires_after_an_hour(app, world, clock):
    client = app.test_client()
    _forgot(client, "app@x.test")
    path = link_in(mails(RESET, "app@x.test")[0])
    clock.advance(minutes=59)
    assert client.get(path).status_code == 200
    clock.advance(minutes=1, seconds=1)
    assert client.get(path).status_code == 400
    assert client.post(path, data={"password": NEW, "password2": NEW}).status_code == 400
    assert (
        app.test_client().post("/login", data={"email": "app@x.test", "password": PASSWORD}).status_code
        == 302
    )


def test_the_lifetime_is_configurable_and_every_request_gets_its_own_link(app, world, clock):
    app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] = 600
    client = app.test_client()
    _forgot(client, "app@x.test")
    _forgot(client, "app@x.test")  # the same minute: one mail (no mail bombing)
    clock.advance(minutes=2)
    _forgot(client, "app@x.test")
    first, second = mails(RESET, "app@x.test")
    assert "10 Minuten" in second.body
    # either link works until one of them is used: then both are dead (bound to the password)
    clock.advance(minutes=9)
    assert client.get(link_in(first)).status_code == 400  # 11 minutes old
    assert client.post(link_in(second), data={"password": NEW, "password2": NEW}).status_code == 302
    assert client.get(link_in(second)).status_code == 400


def test_a_reset_proves_the_address_of_an_unverified_account(app, world):
    from foerdercall.accounts.operations import find_user

    register(app)
    client = app.test_client()
    _forgot(client, "ada@example.org")
    client.post(link_in(mails(RESET, "ada@example.org")[0]), data={"password": NEW, "password2": NEW})
    db.session.expire_all()
    assert find_user("ada@example.org").email_verified


def test_officials_cannot_read_someone_elses_reset_link(app, world):
    """The outbox shows officials every mail; a reset link read there would take over the account."""
    _forgot(app.test_client(), "admin@x.test")
    mail = mails(RESET, "admin@x.test")[0]
    official = app.test_client()
    login(official, "ka@x.test")
    resp = official.get(f"/messages/{mail.id}")
    assert resp.status_code == 404 and link_in(mail) not in resp.get_data(as_text=True)
    assert link_in(mail) not in official.get("/outbox").get_data(as_text=True)


def test_links_use_the_configured_public_address(app, world):
    """Behind a proxy PUBLIC_URL fixes the links' host: a forged Host header cannot redirect a reset link."""
    app.config["PUBLIC_URL"] = "https://foerdercall.leipzig.example/"
    app.test_client().post("/password/forgot", data={"email": "app@x.test"}, headers={"Host": "evil.example"})
    [mail] = mails(RESET, "app@x.test")
    assert "https://foerdercall.leipzig.example/password/reset/" in mail.body and "evil" not in mail.body

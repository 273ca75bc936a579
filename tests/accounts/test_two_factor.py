"""Officials and admins turn on TOTP two-factor login for themselves; recovery codes work once."""

from __future__ import annotations

import html
import re

import pyotp
from account_helpers import audit_actions, totp_code, turn_on_two_factor
from conftest import PASSWORD, login

from foerdercall.extensions import db


def _password_step(client, email="ka@x.test"):
    r = client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/two-factor")
    return r


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_set_up_shows_the_secret_and_needs_a_right_code(app, world):
    client = app.test_client()
    login(client, "ka@x.test")
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7]+)</code>', page).group(1)
    uri = html.unescape(re.search(r'href="(otpauth://[^"]+)"', page).group(1))
    assert pyotp.parse_uri(uri).secret == secret and "ka%40x.test" in uri
    assert '<div class="qr" role="img" aria-label="QR-Code' in page and "<svg" in page  # the URI as a QR code
    # the same secret until it is confirmed (a reload does not change what the app was given)
    assert secret in client.get("/account/two-factor").get_data(as_text=True)
    r = client.post(
        "/account/two-factor", data={"code": "000000" if totp_code(secret) != "000000" else "111111"}
    )
    assert r.status_code == 422 and "Der Code stimmt nicht" in r.get_data(as_text=True)
    db.session.expire_all()
    assert not world.ka.two_factor_enabled
    r = client.post(
        "/account/two-factor", data={"code": totp_code(secret, -1)}
    )  # the previous 30 s still count
    body = r.get_data(as_text=True)
    assert (
        r.status_code == 200
        and "Wiederherstellungscodes" in body
        and r.headers["Cache-Control"] == "no-store"
    )
    assert len(re.findall(r"<li><code>", body)) == 10
    db.session.expire_all()
    assert world.ka.two_factor_enabled
    assert [e.object_id for e in audit_actions("enable_two_factor")] == [world.ka.id]
    assert "Eingeschaltet seit" in client.get("/account").get_data(as_text=True)


def test_applicants_and_reviewers_have_no_two_factor_page(app, world):
    for email in ("app@x.test", "rev1@x.test"):
        client = app.test_client()
        login(client, email)
        assert client.get("/account/two-factor").status_code == 403
        assert "Zwei-Faktor" not in client.get("/account").get_data(as_text=True)
    client = app.test_client()
    login(client, "admin@x.test")
    assert client.get("/account/two-factor").status_code == 200


def test_login_asks_for_the_code_after_the_password(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    client = app.test_client()
    _password_step(client)
    assert not _logged_in(client)  # the password alone does not log in
    page = client.get("/login/two-factor")
    assert page.status_code == 200 and "Authenticator-App" in page.get_data(as_text=True)
    r = client.post(
        "/login/two-factor", data={"code": "12345" + ("6" if totp_code(secret)[-1] != "6" else "7")}
    )
    assert r.status_code == 422 and "Der Code stimmt nicht" in r.get_data(as_text=True)
    assert not _logged_in(client)
    r = client.post("/login/two-factor", data={"code": totp_code(secret)})
    assert r.status_code == 302 and _logged_in(client)

    # the same code does not work a second time (replay), the next one does
    other = app.test_client()
    _password_step(other)
    assert other.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 422
    clock.advance(seconds=30)
    assert other.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302


def test_the_code_step_expires(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    client = app.test_client()
    _password_step(client)
    clock.advance(minutes=6)
    r = client.post("/login/two-factor", data={"code": totp_code(secret)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert not _logged_in(client)


def test_a_recovery_code_works_once(app, world, clock):
    _secret, codes = turn_on_two_factor(app)
    assert len(set(codes)) == 10
    client = app.test_client()
    _password_step(client)
    r = client.post("/login/two-factor", data={"code": codes[3].upper().replace("-", " ")})
    assert r.status_code == 302 and _logged_in(client)
    [event] = audit_actions("use_recovery_code")
    assert event.data["remaining"] == 9
    other = app.test_client()
    _password_step(other)
    assert other.post("/login/two-factor", data={"code": codes[3]}).status_code == 422
    assert other.post("/login/two-factor", data={"code": codes[4]}).status_code == 302


def test_wrong_codes_are_throttled_like_passwords(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    client = app.test_client()
    _password_step(client)
    for _i in range(5):
        assert client.post("/login/two-factor", data={"code": "abcde-fghij"}).status_code == 422
    r = client.post("/login/two-factor", data={"code": totp_code(secret)})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900
    assert not _logged_in(client)
    # the right password again does not reset the count of wrong codes
    assert (
        app.test_client().post("/login", data={"email": "ka@x.test", "password": PASSWORD}).status_code == 429
    )


def test_turn_off_with_the_password(app, world, clock):
    from foerdercall.accounts.models import RecoveryCode

    secret, codes = turn_on_two_factor(app)
    stored = {rc.code_hash for rc in db.session.scalars(db.select(RecoveryCode))}
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes}  # kept hashed
    clock.advance(minutes=1)
    client = app.test_client()
    _password_step(client)
    assert client.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "ist eingeschaltet" in page and "Unbenutzte Wiederherstellungscodes: 10" in page
    r = client.post(
        "/account/two-factor/disable", data={"password": "a wrong password"}, follow_redirects=True
    )
    assert "Das Passwort ist falsch" in r.get_data(as_text=True)
    db.session.expire_all()
    assert world.ka.two_factor_enabled
    r = client.post("/account/two-factor/disable", data={"password": PASSWORD})
    assert r.status_code == 302
    db.session.expire_all()
    assert not world.ka.two_factor_enabled and world.ka.totp_secret is None
    assert db.session.scalars(db.select(RecoveryCode)).all() == []
    assert [e.object_id for e in audit_actions("disable_two_factor")] == [world.ka.id]
    login(app.test_client(), "ka@x.test")  # one step again


def test_the_same_code_sent_twice_at_once_logs_in_once(pg_app, clock):
    """Two requests with one code at the same moment (PostgreSQL, row lock): one login, one refusal."""
    import threading

    from foerdercall.accounts.operations import create_user, enable_two_factor, new_totp_secret

    user = create_user("ka@x.test", "Karla KA", PASSWORD, roles=("official",), office="KA")
    secret = new_totp_secret()
    enable_two_factor(user, secret, totp_code(secret))
    db.session.commit()
    clock.advance(seconds=30)
    clients = [pg_app.test_client() for _i in range(2)]
    for client in clients:
        _password_step(client)
    code, barrier, statuses = totp_code(secret), threading.Barrier(2), []

    def post(client):
        barrier.wait()
        statuses.append(client.post("/login/two-factor", data={"code": code}).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [302, 422]

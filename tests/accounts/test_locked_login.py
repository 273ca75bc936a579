"""A login locked by someone else's wrong guesses (issue 17, hole 9): the owner still gets in, from another
address, with password and second factor in one step, or through an unlock link mailed to the account's
address. An attacker with the right password but without the code or the link stays locked, and nobody learns
from the answer whether a password alone was right."""

from __future__ import annotations

from account_helpers import audit_actions, link_in, mails, totp_code, turn_on_two_factor
from conftest import PASSWORD

from foerdercall.extensions import db

WRONG = "not the password"
ATTACKER, OWNER = "203.0.113.66", "10.1.2.3"


def _login(client, email, password, address=OWNER, **extra):
    return client.post(
        "/login", data={"email": email, "password": password, **extra}, environ_base={"REMOTE_ADDR": address}
    )


def _lock(app, email):
    """Five wrong guesses from the attacker's address: the account is locked for everyone."""
    for _i in range(5):
        assert _login(app.test_client(), email, WRONG, ATTACKER).status_code == 422
    r = _login(app.test_client(), email, PASSWORD, OWNER)
    assert r.status_code == 429
    return r


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_the_locked_page_offers_the_code_and_the_unlock_link(app, world):
    page = _lock(app, "app@x.test").get_data(as_text=True)
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in page
    assert "Entsperr-Link per E-Mail senden" in page
    assert 'name="code"' in page  # the same for every account: the page does not tell who has a second factor
    assert _lock(app, "nobody@x.test").get_data(as_text=True).replace("nobody@x.test", "app@x.test") == page


def test_the_owner_gets_in_with_password_and_code_in_one_step(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    _lock(app, "ka@x.test")
    owner = app.test_client()
    r = _login(owner, "ka@x.test", PASSWORD, code=totp_code(secret))
    assert r.status_code == 302 and "/login" not in r.headers["Location"]
    assert _logged_in(owner)
    [event] = audit_actions("login_while_locked")
    assert event.object_id == world.ka.id and event.data == {"via": "code", "address": OWNER}
    # the attacker's failures are cleared with the owner's login
    assert _login(app.test_client(), "ka@x.test", PASSWORD).status_code == 302


def test_one_answer_whatever_was_wrong(app, world, clock):
    """Right password with a wrong code, wrong password with the right code, both wrong, no code: the same page,
    so a guessed password is not confirmed by the lock page."""
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    _lock(app, "ka@x.test")
    code = totp_code(secret)
    answers = [
        _login(app.test_client(), "ka@x.test", password, ATTACKER, **extra)
        for password, extra in (
            (PASSWORD, {"code": _wrong(code)}),
            (WRONG, {"code": code}),
            (WRONG, {"code": _wrong(code)}),
            (PASSWORD, {}),
        )
    ]
    assert {r.status_code for r in answers} == {429}
    assert len({r.get_data() for r in answers}) == 1
    assert not _logged_in(app.test_client())


def test_the_right_password_without_code_or_link_stays_locked(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    _lock(app, "ka@x.test")
    attacker = app.test_client()
    for extra in ({}, {"code": ""}, {"code": "123456"}, {"code": "abcde-fghij"}):
        assert _login(attacker, "ka@x.test", PASSWORD, ATTACKER, **extra).status_code == 429
    # nor from a fresh address, nor does the two-factor step open while locked
    assert _login(attacker, "ka@x.test", PASSWORD, "198.51.100.9").status_code == 429
    assert attacker.get("/login/two-factor").status_code == 302
    assert not _logged_in(attacker)


def test_guessing_codes_while_locked_is_bounded(app, world, clock):
    """The one-step path has a bound of its own per account (four times the lock's), spread over addresses:
    past it even password and the right code wait for the window (the mailed link still works)."""
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    _lock(app, "ka@x.test")
    for i in range(15):  # 5 + 15 = 20 failures in the window, from many addresses
        assert (
            _login(
                app.test_client(), "ka@x.test", PASSWORD, f"198.51.100.{i}", code=_wrong(totp_code(secret))
            ).status_code
            == 429
        )
    r = _login(app.test_client(), "ka@x.test", PASSWORD, code=totp_code(secret))
    assert r.status_code == 429


def test_the_owner_without_two_factor_gets_in_through_the_mailed_link(app, world, clock):
    _lock(app, "app@x.test")
    owner = app.test_client()
    r = owner.post("/login/unlock", data={"email": "App@x.test"}, environ_base={"REMOTE_ADDR": OWNER})
    assert r.status_code == 302
    answer = owner.get(r.headers["Location"]).get_data(as_text=True)
    assert "Wenn das Konto gesperrt ist, haben wir einen Entsperr-Link" in answer
    [mail] = mails("login_unlock", "app@x.test")
    assert "15 Minuten" in mail.body
    path = link_in(mail)
    # a second click sends no second mail; an unknown address gets the same answer and no mail
    owner.post("/login/unlock", data={"email": "app@x.test"})
    unknown = app.test_client().post("/login/unlock", data={"email": "nobody@x.test"})
    assert unknown.status_code == 302 and unknown.headers["Location"] == r.headers["Location"]
    assert len(mails("login_unlock", "app@x.test")) == 1 and mails("login_unlock", "nobody@x.test") == []

    page = owner.get(path)  # showing the page (a mail scanner's GET) uses nothing up
    assert page.status_code == 200 and "Anmeldung entsperren" in page.get_data(as_text=True)
    assert owner.post(path, data={}).status_code == 302
    # this browser logs in despite the lock: a wrong password is still wrong (and counted for the address)
    assert _login(owner, "app@x.test", WRONG).status_code == 422
    r = _login(owner, "app@x.test", PASSWORD)
    assert r.status_code == 302 and _logged_in(owner)
    assert [e.data["via"] for e in audit_actions("login_while_locked")] == ["link"]

    # the link works once, and only for the browser that used it
    again = app.test_client()
    assert again.get(path).status_code == 400
    assert again.post(path, data={}).status_code == 400


def test_the_link_does_not_help_an_attacker_with_the_password(app, world):
    _lock(app, "app@x.test")
    app.test_client().post("/login/unlock", data={"email": "app@x.test"})
    path = link_in(mails("login_unlock", "app@x.test")[0])
    owner = app.test_client()
    owner.post(path, data={})
    # another browser (the attacker, who knows the password) is still locked out
    assert _login(app.test_client(), "app@x.test", PASSWORD, ATTACKER).status_code == 429
    # the unlocked browser logs in to that account only
    assert _login(owner, "app2@x.test", WRONG).status_code == 422


def test_the_link_lets_a_two_factor_account_reach_its_code_step(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    clock.advance(minutes=1)
    _lock(app, "ka@x.test")
    owner = app.test_client()
    owner.post("/login/unlock", data={"email": "ka@x.test"})
    owner.post(link_in(mails("login_unlock", "ka@x.test")[0]), data={})
    r = _login(owner, "ka@x.test", PASSWORD)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/two-factor")
    assert owner.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302
    assert _logged_in(owner)


def test_the_link_stays_under_the_address_throttle_and_expires(app, world, clock):
    _lock(app, "app@x.test")
    owner = app.test_client()
    owner.post("/login/unlock", data={"email": "app@x.test"})
    path = link_in(mails("login_unlock", "app@x.test")[0])
    clock.advance(minutes=16)
    assert owner.post(path, data={}).status_code == 400  # short-lived
    # a new lock, a new link; the address's own limit still holds for the unlocked browser
    _lock(app, "app@x.test")
    owner.post("/login/unlock", data={"email": "app@x.test"})
    [_old, mail] = mails("login_unlock", "app@x.test")
    owner.post(link_in(mail), data={})
    for i in range(20):
        _login(app.test_client(), f"guess{i}@x.test", WRONG, OWNER)
    assert _login(owner, "app@x.test", PASSWORD).status_code == 429


def test_no_link_for_an_account_that_is_not_locked(app, world):
    """Nobody can make the app mail anybody: the link goes out only while the account is locked."""
    r = app.test_client().post("/login/unlock", data={"email": "app@x.test"})
    assert r.status_code == 302
    assert mails("login_unlock", "app@x.test") == []
    db.session.expire_all()

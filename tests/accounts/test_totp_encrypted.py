"""TOTP secrets are encrypted at rest (issue 5): a copy of the database does not hold them in clear, logins with
a code work as before, secrets stored plain before the change still work and are encrypted at the next login,
and a key that no longer fits is a clear message (contact the admin, or use a recovery code), never a 500."""

from __future__ import annotations

import base64
import logging
import os

import pyotp
import pytest
from account_helpers import audit_actions, totp_code, turn_on_two_factor
from conftest import PASSWORD, login, migrated_app
from sqlalchemy import text

from foerdercall.accounts import secrets as totp_crypt
from foerdercall.accounts.operations import create_user, reset_two_factor
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db

UNREADABLE = "Die Zwei-Faktor-Anmeldung kann derzeit nicht geprüft werden"


def _raw(user_id: int) -> str | None:
    """The column as a copy of the database holds it (SQL, not the model)."""
    db.session.expire_all()
    return db.session.execute(
        text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}
    ).scalar_one()


def _password_step(client, email="ka@x.test"):
    r = client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/two-factor")


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_the_database_never_holds_the_secret_in_clear(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    stored = _raw(world.ka.id)
    assert stored.startswith("v1:") and secret not in stored
    assert secret.encode() not in base64.urlsafe_b64decode(stored[3:])  # not merely encoded either
    secret2, _codes = turn_on_two_factor(app, "admin@x.test")
    assert _raw(world.admin.id).startswith("v1:")

    # the login with a code from the authenticator works as before, and leaves the column encrypted
    clock.advance(minutes=1)
    client = app.test_client()
    _password_step(client)
    assert not _logged_in(client)
    assert client.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302
    assert _logged_in(client)
    assert _raw(world.ka.id) == stored
    # Karla's stored value does not work for Anna's account (bound to its user), nor Anna's code for Karla
    db.session.execute(
        text("UPDATE users SET totp_secret = :v WHERE id = :id"), {"v": stored, "id": world.admin.id}
    )
    db.session.commit()
    other = app.test_client()
    _password_step(other, "admin@x.test")
    r = other.post("/login/two-factor", data={"code": totp_code(secret)}, follow_redirects=True)
    assert r.status_code == 200 and UNREADABLE in r.get_data(as_text=True) and not _logged_in(other)
    assert secret2 != secret


def test_the_key_comes_from_its_own_setting_or_from_secret_key(app, world):
    plain = pyotp.random_base32()
    own = base64.urlsafe_b64encode(os.urandom(32)).decode()
    sealed = totp_crypt.encrypt(plain, 7, {"SECRET_KEY": "k", "TOTP_ENCRYPTION_KEY": own})
    assert totp_crypt.decrypt(sealed, 7, {"SECRET_KEY": "other", "TOTP_ENCRYPTION_KEY": own}) == plain
    with pytest.raises(totp_crypt.SecretUnreadable):
        totp_crypt.decrypt(sealed, 7, {"SECRET_KEY": "k"})
    derived = totp_crypt.encrypt(plain, 7, {"SECRET_KEY": "k"})
    assert totp_crypt.decrypt(derived, 7, {"SECRET_KEY": "k", "TOTP_ENCRYPTION_KEY": ""}) == plain
    with pytest.raises(totp_crypt.SecretUnreadable):
        totp_crypt.decrypt(derived, 7, {"SECRET_KEY": "another"})
    with pytest.raises(totp_crypt.SecretUnreadable):
        totp_crypt.decrypt(derived, 8, {"SECRET_KEY": "k"})  # another account's value
    # the derived key is not the session key: HKDF with info "foerdercall totp"
    assert totp_crypt.key_from_config({"SECRET_KEY": "k"}) not in (b"k", b"k".ljust(32, b"\0"))
    assert totp_crypt.decrypt(plain, 7, {"SECRET_KEY": "k"}) == plain  # legacy: no prefix, read as is


def test_a_secret_stored_plain_before_the_change_works_and_is_encrypted_at_the_next_login(app, world, clock):
    secret, _codes = turn_on_two_factor(app)
    db.session.execute(
        text("UPDATE users SET totp_secret = :v WHERE id = :id"), {"v": secret, "id": world.ka.id}
    )
    db.session.commit()  # as the column held it before issue 5
    clock.advance(minutes=1)
    client = app.test_client()
    _password_step(client)
    assert client.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302
    assert _logged_in(client)
    stored = _raw(world.ka.id)
    assert stored.startswith("v1:") and secret not in stored
    assert totp_crypt.decrypt(stored, world.ka.id, app.config) == secret
    # and the rewritten value keeps working
    clock.advance(seconds=30)
    other = app.test_client()
    _password_step(other)
    assert other.post("/login/two-factor", data={"code": totp_code(secret)}).status_code == 302


def test_a_wrong_key_is_a_clear_message_and_the_admin_resets_two_factor(app, world, clock, caplog):
    secret, codes = turn_on_two_factor(app)
    app.config["TOTP_ENCRYPTION_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()  # the key changed
    clock.advance(minutes=1)
    client = app.test_client()
    _password_step(client)
    with caplog.at_level(logging.ERROR, logger="foerdercall.accounts.operations"):
        r = client.post("/login/two-factor", data={"code": totp_code(secret)})
    assert r.status_code == 302  # no 500: back with a message
    page = client.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert UNREADABLE in page and "wenden Sie sich an die Administration" in page
    assert "Der Code stimmt nicht" not in page
    assert not _logged_in(client)
    assert any(
        "cannot be decrypted" in rec.getMessage() and str(world.ka.id) in rec.getMessage()
        for rec in caplog.records
        if rec.levelno == logging.ERROR
    )
    # the recovery codes do not depend on the key: the person still gets in
    assert client.post("/login/two-factor", data={"code": codes[0]}).status_code == 302
    assert _logged_in(client)

    # only an admin resets another person's two-factor login (on the person's roles page); then the password
    # alone logs in
    with pytest.raises(ActionRefused):
        reset_two_factor(world.ka, world.ka2)
    official = app.test_client()
    login(official, "ka2@x.test")
    assert official.post(f"/admin/users/{world.ka.id}/two-factor/reset").status_code == 403
    admin = app.test_client()
    login(admin, "admin@x.test")
    page = admin.get(f"/admin/users/{world.ka.id}").get_data(as_text=True)
    assert "Zwei-Faktor-Anmeldung zurücksetzen" in page
    r = admin.post(f"/admin/users/{world.ka.id}/two-factor/reset", follow_redirects=True)
    assert r.status_code == 200 and "ist ausgeschaltet" in r.get_data(as_text=True)
    assert _raw(world.ka.id) is None and not world.ka.two_factor_enabled
    assert [(e.object_id, e.actor_id) for e in audit_actions("reset_two_factor")] == [
        (world.ka.id, world.admin.id)
    ]
    login(app.test_client(), "ka@x.test")
    with pytest.raises(ActionRefused):
        reset_two_factor(world.ka, world.admin)  # nothing left to reset


# --- the migration 1c2d3e4f5a6b --------------------------------------------------------------------------


def test_the_migration_encrypts_plain_secrets_and_keeps_every_row(fresh_database, tmp_path, clock):
    from flask_migrate import downgrade, upgrade

    from foerdercall.accounts.operations import enable_two_factor, new_totp_secret

    app = migrated_app(fresh_database, tmp_path)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        user = create_user("ka@x.test", "Karla KA", PASSWORD, roles=("official",), office="KA")
        secret = new_totp_secret()
        enable_two_factor(user, secret, totp_code(secret))
        db.session.commit()
        uid = user.id
        counts = {
            t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("users", "role_grants", "recovery_codes")
        }
        assert counts == {"users": 1, "role_grants": 1, "recovery_codes": 10}
        db.session.remove()

        downgrade(directory=directory, revision="0b1c2d3e4f5a")  # back to plain text in String(64)
        assert _raw(uid) == secret
        db.session.remove()
        upgrade(directory=directory)  # encrypts what it finds plain, keeps every row around it
        stored = _raw(uid)
        assert stored.startswith("v1:") and totp_crypt.decrypt(stored, uid, app.config) == secret
        assert {
            t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in counts
        } == counts
        db.session.remove()
        db.engine.dispose()

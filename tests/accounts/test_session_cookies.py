"""Session cookies: HttpOnly and SameSite=Lax always, Secure unless the embedded default or tests."""

from __future__ import annotations

import pytest
from conftest import PASSWORD

from foerdercall import create_app
from foerdercall.extensions import db


def _login_cookie(app, base_url="http://foerdercall.test") -> str:
    r = app.test_client().post(
        "/login", data={"email": "app@x.test", "password": PASSWORD}, base_url=base_url
    )
    assert r.status_code == 302
    [cookie] = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_the_test_app_sends_httponly_lax_cookies(app, world):
    cookie = _login_cookie(app)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax" and app.config["REMEMBER_COOKIE_HTTPONLY"]


@pytest.mark.sqlite_only
def test_a_configured_database_means_https_only_cookies(app, world, tmp_path, monkeypatch):
    """The real stack (DATABASE_URL set, not testing): Secure cookies; SESSION_COOKIE_SECURE=false turns
    them off (a plain-HTTP benchmark); the embedded default (no database configured) keeps them off."""
    config = {
        "SECRET_KEY": "k",
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "foerdercall.test",
        "UPLOAD_DIR": str(tmp_path / "u"),
        "OUTBOX_DIR": str(tmp_path / "o"),
        "PUBLIC_URL": "https://foerdercall.test",
    }
    real = create_app(config)
    plain = create_app({**config, "SESSION_COOKIE_SECURE": False})
    monkeypatch.setenv("FOERDERCALL_INSTANCE", str(tmp_path / "instance"))
    embedded = create_app({**config, "SQLALCHEMY_DATABASE_URI": ""})
    try:
        assert real.config["SESSION_COOKIE_SECURE"] and real.config["REMEMBER_COOKIE_SECURE"]
        cookie = _login_cookie(real, base_url="https://foerdercall.test")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert not plain.config["SESSION_COOKIE_SECURE"] and not plain.config["REMEMBER_COOKIE_SECURE"]
        assert not embedded.config["SESSION_COOKIE_SECURE"]
    finally:
        for other in (real, plain, embedded):
            with other.app_context():
                db.engine.dispose()

"""The second factor made mandatory per role (issue 17, REQUIRE_TWO_FACTOR_ROLES): a person with such a role and
no second factor is sent to the set-up page after the password and can do nothing else until it is set up."""

from __future__ import annotations

import re
from pathlib import Path

from account_helpers import totp_code
from conftest import PASSWORD, login

from foerdercall.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def _required(app, roles="official,admin"):
    app.config["REQUIRE_TWO_FACTOR_ROLES"] = roles


def _goes_to_set_up(resp) -> bool:
    return resp.status_code == 302 and resp.headers["Location"].endswith("/account/two-factor")


def test_the_setting_is_empty_by_default_and_required_in_production():
    from foerdercall.config import Config

    assert Config.REQUIRE_TWO_FACTOR_ROLES == ""
    assert "REQUIRE_TWO_FACTOR_ROLES=official,admin" in (ROOT / "docs" / "production.md").read_text()


def test_an_official_without_a_second_factor_can_only_set_it_up(app, world, clock):
    _required(app)
    client = app.test_client()
    r = login(client, "ka@x.test")
    for url in (
        "/calls",
        "/account",
        f"/calls/{world.call.id}",
        "/proposals/mine",
        "/account/data",
        "/parked",
        "/accessibility",
        "/login",
    ):
        assert _goes_to_set_up(client.get(url)), url
    assert _goes_to_set_up(client.get(r.headers["Location"]))
    assert _goes_to_set_up(client.post(f"/calls/{world.call.id}/fire/close", data={}))
    page = client.get("/account/two-factor")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Für Ihre Rolle ist die Zwei-Faktor-Anmeldung vorgeschrieben" in body
    # what stays open: the language switch, static files, logout
    assert client.post("/language", data={"lang": "en", "next": "/calls"}).status_code == 302
    static = client.get("/static/style.css")
    assert static.status_code == 200
    static.close()
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7]+)</code>', body).group(1)
    assert client.post("/account/two-factor", data={"code": totp_code(secret)}).status_code == 200
    assert client.get("/calls").status_code == 200  # set up: everything as before
    assert client.get("/account").status_code == 200
    assert client.post("/logout").status_code == 302


def test_logout_stays_open(app, world):
    _required(app)
    client = app.test_client()
    login(client, "admin@x.test")
    assert _goes_to_set_up(client.get("/admin/users"))
    r = client.post("/logout")
    assert r.status_code == 302 and not _goes_to_set_up(r)
    assert client.get("/calls").status_code == 200  # logged out: the public pages


def test_other_roles_are_not_asked(app, world):
    _required(app)
    for email in ("app@x.test", "rev1@x.test", "advisor@x.test"):
        client = app.test_client()
        login(client, email)
        resp = client.get("/account")  # their page, not the set-up of the second factor
        assert resp.status_code == 200 and "<h1>Konto</h1>" in resp.get_data(as_text=True), email
    anonymous = app.test_client()
    assert anonymous.get("/calls").status_code == 200


def test_a_required_second_factor_cannot_be_turned_off(app, world, clock):
    _required(app)
    client = app.test_client()
    login(client, "ka@x.test")
    body = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7]+)</code>', body).group(1)
    client.post("/account/two-factor", data={"code": totp_code(secret)})
    r = client.post("/account/two-factor/disable", data={"password": PASSWORD}, follow_redirects=True)
    assert "Für Ihre Rolle ist die Zwei-Faktor-Anmeldung vorgeschrieben" in r.get_data(as_text=True)
    db.session.expire_all()
    assert world.ka.two_factor_enabled


def test_any_role_can_be_required(app, world):
    """A role that does not have the set-up page otherwise (reviewers) gets it when it is required."""
    _required(app, "reviewer")
    client = app.test_client()
    login(client, "rev1@x.test")
    assert _goes_to_set_up(client.get("/reviews"))
    assert client.get("/account/two-factor").status_code == 200
    official = app.test_client()
    login(official, "ka@x.test")
    assert official.get("/calls").status_code == 200


def test_the_production_configuration_requires_the_second_factor_of_officials_and_admins():
    """deploy/gunicorn.conf.py (the web processes of production) sets REQUIRE_TWO_FACTOR_ROLES unless the
    environment says otherwise."""
    import os
    import pathlib
    import runpy

    saved = dict(os.environ)  # the file sets its defaults into the environment: this process's is restored
    try:
        os.environ.pop("REQUIRE_TWO_FACTOR_ROLES", None)
        runpy.run_path(str(pathlib.Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"))
        assert os.environ["REQUIRE_TWO_FACTOR_ROLES"] == "official,admin"
    finally:
        os.environ.clear()
        os.environ.update(saved)

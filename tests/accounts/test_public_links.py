"""Every absolute link the app writes for use outside the page (mails, calendar files) starts with the configured
public address PUBLIC_URL, never with the request's Host: a forged Host header must not carry a reset token to
another site. Outside the embedded default the app does not start without PUBLIC_URL, and requests for a host
that is not this service's are refused with a 400 page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from account_helpers import mails
from conftest import PASSWORD, _pushed, make_app
from flask import has_request_context
from sqlalchemy import select

from foerdercall import create_app
from foerdercall.accounts import operations as account_ops
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "https://foerdercall.leipzig.example/foerderung"
DEFAULT = "http://127.0.0.1:5000"  # the embedded default (the address `foerdercall demo --serve` serves)
EVIL = {"Host": "evil.example"}
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)


@pytest.fixture(params=["", PUBLIC], ids=["default", "configured"])
def app(backend, request, tmp_path):
    """The app as in production: no SERVER_NAME (that would hide the request's Host), any Host accepted (as in
    the embedded default), PUBLIC_URL unset (the default) or configured with a path prefix."""
    yield from _pushed(make_app(backend, request, tmp_path, SERVER_NAME=None, PUBLIC_URL=request.param))


def base_of(app) -> str:
    return (app.config["PUBLIC_URL"] or DEFAULT).rstrip("/")


def assert_public(text: str, base: str) -> list[str]:
    """Every absolute link in the text starts with the public address (and there is at least one)."""
    urls = URL.findall(text)
    assert urls, text
    for url in urls:
        assert url.startswith(base + "/"), (url, base)
    assert "evil" not in text
    return urls


def all_mails() -> list[OutboxMail]:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def test_a_reset_asked_for_with_a_forged_host_links_to_the_public_address(app, world):
    app.test_client().post("/password/forgot", data={"email": "app@x.test"}, headers=EVIL)
    [mail] = mails("password_reset", "app@x.test")
    [url] = assert_public(mail.body, base_of(app))
    assert "/password/reset/" in url


def test_every_mail_with_a_link_links_to_the_public_address(app, world, clock):
    client = app.test_client()
    new = {
        "name": "Ada",
        "organisation": "Atelier Ada",
        "email": "ada@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
        "locale": "de",
        "privacy": "y",
    }
    assert client.post("/register", data=new, headers=EVIL).status_code == 302  # verify_email
    account_ops.create_user("bea@example.org", "Bea", PASSWORD)
    db.session.commit()
    assert client.post("/register", data={**new, "email": "bea@example.org"}, headers=EVIL).status_code == 302
    client.post("/login", data={"email": "ada@example.org", "password": PASSWORD}, headers=EVIL)
    clock.advance(minutes=1)  # a new minute: the link is sent again
    assert client.post("/account/verify", headers=EVIL).status_code == 302
    client.post("/password/forgot", data={"email": "ka@x.test"}, headers=EVIL)
    kinds = set()
    for mail in all_mails():
        if URL.search(mail.body):
            assert_public(mail.body, base_of(app))
            kinds.add(mail.kind)
    assert kinds >= {"verify_email", "account_exists", "password_reset"}
    assert len(mails("verify_email", "ada@example.org")) == 2


def test_calendar_files_link_to_the_public_address(app, world):
    from foerdercall.proposals.operations import start_draft

    p = start_draft(world.call, world.applicant)
    db.session.commit()
    for email, url in (
        ("ka@x.test", f"/calls/{world.call.id}/deadlines.ics"),
        ("app@x.test", f"/proposals/{p.id}/deadlines.ics"),
    ):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD}, base_url="http://evil.example")
        resp = client.get(url, base_url="http://evil.example")
        assert resp.status_code == 200
        text = resp.get_data(as_text=True).replace("\r\n ", "")  # unfold the long lines
        assert_public(text, base_of(app))


def test_a_mail_built_without_a_request_links_to_the_public_address(app, world):
    """The worker (and the command line) build mails with no request at all."""
    assert not has_request_context()
    account_ops.request_password_reset("app@x.test")
    account_ops.register_applicant("ka@x.test", "Karla", PASSWORD)  # account_exists
    ada = account_ops.create_user("ada@example.org", "Ada", PASSWORD, roles=("applicant",), verified=False)
    account_ops.send_verification(ada)
    db.session.commit()
    assert {m.kind for m in all_mails()} >= {"password_reset", "account_exists", "verify_email"}
    for mail in all_mails():
        assert_public(mail.body, base_of(app))


def test_no_link_is_built_from_the_request_anywhere():
    """The class: absolute links are built in one place (foerdercall/urls.py) from PUBLIC_URL."""
    pattern = re.compile(r"_external|host_url|url_root|request\.host|request\.url\b|\.base_url")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "foerdercall").rglob("*.py"))
        if path.name != "urls.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    found += [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "templates").rglob("*"))
        if path.is_file()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


# --- starting: PUBLIC_URL is required outside the embedded default --------------------------------------------


def _real(tmp_path, **config) -> dict:
    """A configured database, not under TESTING: the production case."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
        "SECRET_KEY": "t",
        "UPLOAD_DIR": str(tmp_path / "u"),
        "PUBLIC_URL": "",
        "TRUSTED_HOSTS": None,
        **config,
    }


def test_the_app_does_not_start_without_public_url_outside_the_embedded_default(tmp_path):
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(_real(tmp_path))
    for bad in (
        "foerdercall.leipzig.example",
        "ftp://foerdercall.leipzig.example",
        "https://",
        "https://foerdercall.leipzig.example/?a=1",
        "https://foerdercall.leipzig.example/#top",
        "https://user@foerdercall.leipzig.example",
        "https://foerdercall.leipzig.example\n/x",
        "https://foerdercall.leipzig.example:99999",
        "https://foerdercall.leipzig.example\\@evil.example",
    ):
        with pytest.raises(RuntimeError, match="PUBLIC_URL"):
            create_app(_real(tmp_path, PUBLIC_URL=bad))
    app = create_app(_real(tmp_path, PUBLIC_URL=PUBLIC + "/"))
    assert app.config["PUBLIC_URL"] == PUBLIC
    assert app.config["TRUSTED_HOSTS"] == ["foerdercall.leipzig.example", "localhost", "127.0.0.1", "::1"]
    own = create_app(_real(tmp_path, PUBLIC_URL=PUBLIC, TRUSTED_HOSTS=" a.example, .b.example ,"))
    assert own.config["TRUSTED_HOSTS"] == ["a.example", ".b.example"]


def test_the_embedded_default_links_to_the_address_it_serves(tmp_path, monkeypatch):
    monkeypatch.setenv("FOERDERCALL_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "", "PUBLIC_URL": "", "TRUSTED_HOSTS": None})
    assert app.config["PUBLIC_URL"] == DEFAULT and app.config["TRUSTED_HOSTS"] is None
    from foerdercall.cli import serve_public_url

    serve_public_url(app, "127.0.0.1", 8123)  # `foerdercall demo --serve --port 8123`
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:8123"
    serve_public_url(app, "::1", 8124)
    assert app.config["PUBLIC_URL"] == "http://[::1]:8124"
    configured = create_app({"SQLALCHEMY_DATABASE_URI": "", "PUBLIC_URL": "http://laptop.example:5000"})
    serve_public_url(configured, "0.0.0.0", 8123)  # a configured address stays
    assert configured.config["PUBLIC_URL"] == "http://laptop.example:5000"


def test_the_worker_and_beat_do_not_start_without_public_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "TRUSTED_HOSTS")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}",
        BROKER_URL="redis://127.0.0.1:1/0",
        SECRET_KEY="t",
        FOERDERCALL_INSTANCE=str(tmp_path / "instance"),
    )
    for command in ("worker", "beat"):
        done = subprocess.run(
            [sys.executable, "-c", "from foerdercall.cli import main; main()", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert done.returncode != 0 and "PUBLIC_URL" in done.stderr, done.stderr[-2000:]


# --- requests for another host ----------------------------------------------------------------------------------


@pytest.fixture
def real_app(sqlite_template, tmp_path):
    path = tmp_path / "fc.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app(
        _real(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
            PUBLIC_URL=PUBLIC,
            OUTBOX_DIR=str(tmp_path / "outbox"),
        )
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_request_for_an_untrusted_host_is_a_400_page(real_app):
    client = real_app.test_client()
    for method, url in (
        ("GET", "/calls"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/password/forgot"),
        ("GET", "/nowhere"),
        ("GET", "/health"),
    ):
        for host in ("evil.example", "foerdercall.leipzig.example.evil.example", "127.0.0.2"):
            resp = client.open(url, method=method, headers={"Host": host}, data={"email": "a@x.test"})
            assert resp.status_code == 400, (url, host, resp.status_code)
            page = resp.get_data(as_text=True)
            assert "Diese Adresse gehört nicht zu foerdercall" in page and "evil" not in page
            assert PUBLIC + "/" in page  # where the service is
    for host in ("foerdercall.leipzig.example", "localhost:8000", "127.0.0.1:8000"):
        assert client.get("/health", headers={"Host": host}).status_code == 200, host
    assert client.get("/calls", base_url="https://foerdercall.leipzig.example").status_code == 200

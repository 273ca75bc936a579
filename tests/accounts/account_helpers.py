"""Shared steps of the account-security tests: the mails of a kind, the link in a mail, registration."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
from conftest import PASSWORD, login
from sqlalchemy import select

from foerdercall import timeutil
from foerdercall.extensions import db


def totp_code(secret, offset=0):
    """The authenticator's code for now (offset: steps before or after)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(timeutil.now()) + offset)


def turn_on_two_factor(app, email="ka@x.test"):
    """Set up through the pages; returns (secret, recovery codes)."""
    client = app.test_client()
    login(client, email)
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7]+)</code>', page).group(1)
    r = client.post("/account/two-factor", data={"code": totp_code(secret)})
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", r.get_data(as_text=True))
    return secret, codes


def mails(kind: str, to: str) -> list:
    from foerdercall.mail.models import OutboxMail

    db.session.expire_all()
    return db.session.scalars(
        select(OutboxMail).where(OutboxMail.kind == kind, OutboxMail.to_address == to).order_by(OutboxMail.id)
    ).all()


def link_in(mail) -> str:
    """The absolute link of a mail, as the path the test client requests."""
    url = re.search(r"https?://\S+", mail.body).group(0)
    assert url.startswith("http://foerdercall.test/"), url  # absolute, on the configured host
    return urlsplit(url).path


def register(app, email="ada@example.org", name="Ada Antragstellerin", locale="de"):
    """Register through the form, then log in (registering does not: it answers alike for known addresses)."""
    client = app.test_client()
    r = client.post(
        "/register",
        data={
            "name": name,
            "organisation": "Atelier Ada",
            "email": email,
            "password": PASSWORD,
            "password2": PASSWORD,
            "locale": locale,
            "privacy": "y",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/login"), r.get_data(as_text=True)[:500]
    r = client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


def audit_actions(action: str) -> list:
    from foerdercall.audit.models import AuditEvent

    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()

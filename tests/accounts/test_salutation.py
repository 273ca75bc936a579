"""Mails greet a person as they chose: "Guten Tag Frau Weber," with a form of address, else a neutral greeting
with the full name, never "Sehr geehrte/r"."""

from __future__ import annotations

import pathlib

from conftest import login
from sqlalchemy import select

from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "templates"


def test_no_template_greets_with_a_slash():
    for path in sorted((TEMPLATES / "mail").glob("*.txt")) + sorted((TEMPLATES / "documents").glob("*.txt")):
        assert "geehrte/r" not in path.read_text(), path.name


def test_a_chosen_form_of_address_opens_every_mail(app, world):
    client = app.test_client()
    resp = client.post(
        "/register",
        data={
            "salutation": "frau",
            "name": "Erika Weber",
            "email": "erika@example.org",
            "password": "correct horse battery",
            "password2": "correct horse battery",
            "locale": "de",
            "privacy": "y",
        },
    )
    assert resp.status_code == 302
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.to_address == "erika@example.org"))
    assert "Guten Tag Frau Weber," in mail.body

    login(client, "app@x.test")  # Ada Applicant chose none: a neutral greeting with her name
    assert "Guten Tag Ada Applicant," in client.get("/account").get_data(as_text=True)
    resp = client.post("/account/salutation", data={"salutation": "herr"}, follow_redirects=True)
    assert "So sprechen wir Sie an: „Guten Tag Herr Applicant,“" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert world.applicant.greeting("en") == "Dear Mr Applicant,"
    resp = client.post("/account/salutation", data={"salutation": "Exzellenz"}, follow_redirects=True)
    assert "Keine gültige Auswahl." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert world.applicant.salutation == "herr"

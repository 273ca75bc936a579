"""Hostile input at the registration: control characters (a NUL cannot be stored in PostgreSQL) are dropped
from the name and the organisation, never a 500; a name of nothing but control characters is refused."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD
from sqlalchemy import func, select

from foerdercall.accounts.models import User
from foerdercall.accounts.operations import create_user
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db


def _post(client, **over):
    data = {
        "name": "Ada Antragstellerin",
        "organisation": "Atelier Ada",
        "email": "ada@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
        "locale": "de",
        "privacy": "y",
    }
    data.update(over)
    return client.post("/register", data=data)


def test_control_characters_in_name_and_organisation_are_dropped(app):
    r = _post(app.test_client(), name="Ada\x00 Antrag\x07stellerin", organisation="Atelier\x00 Ada")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    user = db.session.scalar(select(User).where(User.email == "ada@example.org"))
    assert (user.name, user.organisation) == ("Ada Antragstellerin", "Atelier Ada")


def test_a_name_of_control_characters_only_is_refused(app):
    r = _post(app.test_client(), name="\x00\x00")
    assert r.status_code == 422  # cleaned on the way in, the name is empty: the form says so at the field
    name_field = re.search(r'<input[^>]*id="name"[^>]*>', r.get_data(as_text=True)).group(0)
    assert 'aria-invalid="true"' in name_field
    assert (
        db.session.scalar(select(func.count()).select_from(User).where(User.email == "ada@example.org")) == 0
    )
    # the service refuses it too, for callers other than the form (command line, demo)
    with pytest.raises(ActionRefused, match="Bitte geben Sie Ihren Namen an"):
        create_user("ada@example.org", "\x00\x07 ", PASSWORD)

"""The mail template forms fuzzed (tests/test_fuzz_forms.py): never a 500, a refused form changes no row."""
from __future__ import annotations

import pytest
from conftest import login
from hypothesis import given
from test_fuzz_forms import FUZZ, fields, post

from foerdercall.extensions import db
from foerdercall.mailtemplates.operations import create_template

FORM_FIELDS = ("kind", "lang", "state", "field_of_action", "subject", "body")


@pytest.mark.sqlite_only
@FUZZ
@given(data=fields(*FORM_FIELDS))
def test_the_new_template_form(app, world, data):
    client = app.test_client()
    login(client, world.ka.email)
    post(client, f"/calls/{world.call.id}/mail-templates/new", data)


@pytest.mark.sqlite_only
@FUZZ
@given(data=fields("subject", "body", "version", "confirm"))
def test_the_edit_activate_and_delete_forms(app, world, data):
    client = app.test_client()
    login(client, world.ka.email)
    t = create_template(world.call, world.ka, kind="award", lang="de", subject="Zuschlag {Aktenzeichen}",
                        body="{Betrag} bis {Frist}") if not hasattr(world, "tpl") else world.tpl
    world.tpl = t
    db.session.commit()
    base = f"/calls/{world.call.id}/mail-templates/{t.id}"
    post(client, base, data)
    post(client, base + "/activate", data)
    post(client, base + "/deactivate", data)

"""Input no form expects, for every view alike: control characters in any field or query argument (a NUL
cannot be stored in PostgreSQL) and ids larger than the database holds. Never a 500; what is stored is clean."""

from __future__ import annotations

import pytest
from conftest import login

from foerdercall.extensions import db
from foerdercall.models import Proposal
from foerdercall.proposals.operations import start_draft


def test_control_characters_in_a_draft_are_dropped_and_the_rest_is_saved(app, world):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    resp = client.post(
        f"/proposals/{p.id}/edit",
        data={
            "title": "Netz\x00werk\x07 Plagwitz",
            "summary": "Zeile 1\nZeile\x1b[31m 2\tEnde",
            "action": "save",
        },
        follow_redirects=True,
    )
    assert resp.status_code == 200 and "Entwurf gespeichert" in resp.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Proposal, p.id)
    assert saved.title == "Netzwerk Plagwitz"
    assert saved.summary == "Zeile 1\nZeile[31m 2\tEnde"  # line breaks and tabs are text, escapes are not


def test_control_characters_in_query_arguments_and_the_login(app, world):
    client = app.test_client()
    assert client.get("/calls?page=\x00").status_code == 200
    resp = client.post("/login", data={"email": "app@x.test\x00", "password": "falsch\x00"})
    assert resp.status_code == 422 and "E-Mail-Adresse oder Passwort ist falsch" in resp.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/proposals/{huge}"),
        ("GET", "/calls/{huge}"),
        ("GET", "/calls/{huge}/ranking"),
        ("POST", "/proposals/{huge}/objection"),
        ("GET", "/proposals/{p}/attachments/{huge}"),
    ],
)
def test_an_id_larger_than_the_database_holds_is_not_found(app, world, method, path):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "ka@x.test" if "objection" in path or "ranking" in path else "app@x.test")
    resp = client.open(path.format(huge=2**70, p=p.id), method=method, data={})
    assert resp.status_code == 404
    assert "Diese Seite gibt es nicht" in resp.get_data(as_text=True)

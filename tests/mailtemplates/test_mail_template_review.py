"""Hostile input found in review: a version that str.isdigit() takes but int() refuses must be a message,
not a 500, and must activate nothing."""

from __future__ import annotations

import pytest
from conftest import login
from sqlalchemy import select

from foerdercall.extensions import db
from foerdercall.mailtemplates.models import MailTemplate
from foerdercall.mailtemplates.operations import create_template


@pytest.mark.parametrize("version", ["²", "9" * 5000, "-1", " 1"])
def test_activate_with_a_strange_version_is_refused_with_a_message(app, world, version):
    t = create_template(
        world.call, world.ka, kind="receipt", lang="de", subject="Betreff {Aktenzeichen}", body="Text"
    )
    db.session.commit()
    client = app.test_client()
    login(client, "ka@x.test")
    base = f"/calls/{world.call.id}/mail-templates/{t.id}"
    resp = client.post(base + "/activate", data={"version": version})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(base + "/preview")
    page = client.get(base + "/preview").get_data(as_text=True)
    assert "Der Text wurde seit dieser Vorschau geändert" in page
    db.session.rollback()
    assert db.session.scalar(select(MailTemplate.active).where(MailTemplate.id == t.id)) is False


def test_two_officials_editing_at_once_the_later_save_does_not_silently_overwrite(app, world):
    t = create_template(
        world.call, world.ka, kind="receipt", lang="de", subject="Betreff {Aktenzeichen}", body="Erster Text"
    )
    db.session.commit()
    ka, ka2 = app.test_client(), app.test_client()
    login(ka, "ka@x.test")
    login(ka2, "ka2@x.test")
    url = f"/calls/{world.call.id}/mail-templates/{t.id}"
    assert 'name="version" type="hidden" value="1"' in ka.get(url).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in ka2.get(url).get_data(as_text=True)

    assert (
        ka2.post(
            url, data={"subject": "Betreff {Aktenzeichen}", "body": "Text von Konrad", "version": "1"}
        ).status_code
        == 302
    )
    resp = ka.post(url, data={"subject": "Betreff {Aktenzeichen}", "body": "Text von Karla", "version": "1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "inzwischen geändert" in page
    assert "Text von Karla" in page  # her text is still in the form, not lost
    assert 'name="version" type="hidden" value="2"' in page  # saving again replaces the version she was shown
    db.session.rollback()
    assert db.session.scalar(select(MailTemplate.body).where(MailTemplate.id == t.id)) == "Text von Konrad"

    assert (
        ka.post(
            url, data={"subject": "Betreff {Aktenzeichen}", "body": "Text von Karla", "version": "2"}
        ).status_code
        == 302
    )
    db.session.rollback()
    assert db.session.scalar(select(MailTemplate.body).where(MailTemplate.id == t.id)) == "Text von Karla"


def test_two_officials_creating_the_same_rule_at_once_get_one_template_and_a_message(pg_app, clock):
    from test_races_pg import job, make_call, make_users, race

    from foerdercall.accounts.models import User
    from foerdercall.calls.models import Call

    u = make_users()
    call = make_call(u)

    def create(c, actor):
        return create_template(
            c,
            actor,
            kind="receipt",
            lang="de",
            subject="Betreff {Aktenzeichen}",
            body=f"Text von {actor.name}",
        )

    outcomes = race(
        pg_app, job(create, (Call, call.id), (User, u.ka.id)), job(create, (Call, call.id), (User, u.ka2.id))
    )
    assert sorted(o.kind for o in outcomes) == ["ok", "refused"]
    assert "gibt es schon eine Vorlage" in next(o.message for o in outcomes if o.kind == "refused")
    assert len(db.session.scalars(select(MailTemplate)).all()) == 1

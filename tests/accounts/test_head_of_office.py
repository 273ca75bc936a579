"""The admin marks the head of an office (Amtsleitung): they receive the escalations of sign-offs that wait."""

from __future__ import annotations

from conftest import login
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.extensions import db


def post_roles(client, user, **data):
    return client.post(f"/admin/users/{user.id}", data=data, follow_redirects=True)


def test_the_admin_makes_an_official_head_of_office(app, world):
    client = app.test_client()
    login(client, world.admin.email)
    resp = post_roles(client, world.ka2, roles="official", office="KA", head_of_office="y")
    assert resp.status_code == 200
    db.session.expire_all()
    assert world.ka2.head_of_office is True
    assert "Konrad KA" in resp.get_data(as_text=True) and "(Amtsleitung)" in resp.get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "set_roles")).one()
    assert event.data["after"] == [["official"], "KA", True]
    # the form shows the flag as set
    assert "checked" in client.get(f"/admin/users/{world.ka2.id}").get_data(as_text=True)
    # and takes it away again
    post_roles(client, world.ka2, roles="official", office="KA")
    db.session.expire_all()
    assert world.ka2.head_of_office is False


def test_only_an_official_with_an_office_can_be_head_of_office(app, world):
    client = app.test_client()
    login(client, world.admin.email)
    resp = post_roles(client, world.rev1, roles="reviewer", office="", head_of_office="y")
    assert "Eine Amtsleitung braucht die Rolle" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert world.rev1.head_of_office is False and world.rev1.roles == {"reviewer"}

"""PostgreSQL stops for a moment while people use the app: their requests get a clear 503 with Retry-After
(never a 500), nothing is half-stored, and the app serves again as soon as the database is back, without a
restart. The server that stops is the test's own (tests/private_services.py)."""

from __future__ import annotations

import pytest
from conftest import _config, _migrate, _pushed, fill_draft, login
from sqlalchemy import select

from foerdercall import create_app
from foerdercall.extensions import db
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft


@pytest.fixture
def app(private_pg, tmp_path):
    application = create_app(_config(tmp_path, private_pg.new_database()))
    _migrate(application)
    yield from _pushed(application)


def test_requests_while_postgresql_is_down_get_503_and_the_app_recovers(app, world, private_pg):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    pid = p.id
    client = app.test_client()
    login(client, world.applicant.email)
    assert client.get(f"/proposals/{pid}/edit").status_code == 200
    db.session.remove()

    private_pg.stop()
    try:
        page = client.get(f"/proposals/{pid}/edit")
        assert page.status_code == 503 and page.headers["Retry-After"]
        assert "Datenbank ist kurz nicht erreichbar" in page.get_data(as_text=True)
        posted = client.post(f"/proposals/{pid}/fire/submit")
        assert posted.status_code == 503 and posted.headers["Retry-After"]
    finally:
        private_pg.start()

    # back: the same app (no restart) serves again, and the submission that got a 503 did not happen
    assert client.get(f"/proposals/{pid}").status_code == 200
    assert db.session.scalar(select(Proposal.state).where(Proposal.id == pid)) == "draft"
    assert client.post(f"/proposals/{pid}/fire/submit").status_code == 302
    assert db.session.scalar(select(Proposal.state).where(Proposal.id == pid)) == "submitted"

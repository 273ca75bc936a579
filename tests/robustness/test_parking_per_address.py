"""Anonymous parked posts are bounded per client address (issue 17, hole 4): one client cannot fill the global
cap of parked posts. Past the bound the post is refused, never silently: the answer (429) shows the typed text
to copy, and the text parked before stays. A logged-in person's post does not count against the bound, and a
post refused by the global cap is shown back too."""

from __future__ import annotations

from sqlalchemy import func, select

from foerdercall.extensions import db
from foerdercall.parking import operations as parking
from foerdercall.parking.models import ParkedPost
from foerdercall.proposals.operations import start_draft

TEXT = "Unser Konzept, lange getippt: Absatz über Plagwitz."


def _draft(world) -> int:
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    return p.id


def _post(app, pid: int, address: str, n: int = 0):
    """A post to the proposal form from a browser without a session (its own, no cookie yet)."""
    client = app.test_client()
    return client.post(
        f"/proposals/{pid}/edit",
        environ_base={"REMOTE_ADDR": address},
        data={"title": "Netzwerk", "description": f"{TEXT} {n}", "action": "save"},
    )


def _count(**where) -> int:
    db.session.expire_all()
    q = select(func.count()).select_from(ParkedPost)
    for k, v in where.items():
        q = q.where(getattr(ParkedPost, k) == v)
    return db.session.scalar(q)


def test_one_address_cannot_park_more_than_its_bound(app, world):
    app.config["PARK_MAX_PER_ADDRESS"] = 3
    pid = _draft(world)
    for n in range(3):
        resp = _post(app, pid, "203.0.113.7", n)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert _count() == 3

    refused = _post(app, pid, "203.0.113.7", 3)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "konnten nicht aufbewahrt werden" in page
    assert f"{TEXT} 3" in page  # the text is shown back to copy: not lost silently
    assert _count() == 3  # and what was parked before stays

    assert _post(app, pid, "198.51.100.9", 4).status_code == 302  # another address is not affected
    assert _count() == 4


def test_an_ipv6_client_is_bounded_by_its_64_prefix(app, world):
    app.config["PARK_MAX_PER_ADDRESS"] = 2
    pid = _draft(world)
    assert _post(app, pid, "2001:db8:1:2::1", 0).status_code == 302
    assert _post(app, pid, "2001:db8:1:2:ffff::9", 1).status_code == 302
    assert _post(app, pid, "2001:db8:1:2:abcd::5", 2).status_code == 429
    assert _post(app, pid, "2001:db8:1:3::1", 3).status_code == 302


def test_a_logged_in_persons_post_is_kept_past_the_anonymous_bound(app, world):
    app.config["PARK_MAX_PER_ADDRESS"] = 1
    pid = _draft(world)
    assert _post(app, pid, "127.0.0.1", 0).status_code == 302
    assert _post(app, pid, "127.0.0.1", 1).status_code == 429
    client = app.test_client()
    client.post("/login", data={"email": "app@x.test", "password": "correct horse battery"})
    app.config["WTF_CSRF_ENABLED"] = True  # the token is refused: the logged-in owner's text is parked
    resp = client.post(
        f"/proposals/{pid}/edit", data={"csrf_token": "alt", "description": f"{TEXT} eigen", "action": "save"}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/parked"
    assert _count(user_id=world.applicant.id) == 1
    assert _count() == 2


def test_a_post_refused_by_the_global_cap_is_shown_back(app, world, monkeypatch):
    monkeypatch.setattr(parking, "MAX_ROWS", 2)
    pid = _draft(world)
    assert _post(app, pid, "203.0.113.1", 0).status_code == 302
    assert _post(app, pid, "203.0.113.2", 1).status_code == 302
    refused = _post(app, pid, "203.0.113.3", 2)
    assert refused.status_code == 429 and f"{TEXT} 2" in refused.get_data(as_text=True)
    assert _count() == 2

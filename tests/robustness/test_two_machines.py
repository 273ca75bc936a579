"""A city outgrows one box: two web processes (as on two machines) with instance folders of their own, in front of
one PostgreSQL, sharing only the upload folder and the configuration. A session begun on one is valid on the
other, a file one machine stored is served by the other, failed logins count across both, and neither keeps a
key of its own (docs/production.md, "More machines")."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from gunistack import Gunicorn, drop_database, get, login_form, make_database, request
from sqlalchemy import create_engine, select, text

from foerdercall import create_app
from foerdercall.accounts.models import User
from foerdercall.demo import load_demo
from foerdercall.extensions import db
from foerdercall.mail.delivery import close_claimant
from foerdercall.proposals.models import Attachment, Proposal

PASSWORD = "foerdercall-demo"
APPLICANT = "applicant@foerdercall.example"


@pytest.fixture
def machines(tmp_path):
    url = make_database()
    shared = tmp_path / "shared-uploads"  # an NFS mount or the like in production
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "two-machines",
            "PUBLIC_URL": "http://127.0.0.1",
            "UPLOAD_DIR": str(shared),
        }
    )
    with app.app_context():
        load_demo(PASSWORD)  # its proposals' files land in the shared folder
        db.session.remove()
        close_claimant(app)  # the demo's mails were sent here: the claimant's connection goes too
        db.engine.dispose()
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            servers.append(
                Gunicorn(
                    tmp_path / name,
                    url,
                    SECRET_KEY="two-machines",
                    UPLOAD_DIR=str(shared),
                    WEB_WORKERS="2",
                    METRICS_TOKEN="scrape",
                    PROMETHEUS_MULTIPROC_DIR=str(tmp_path / name / "metrics"),
                ).start()
            )
        yield url, servers
    finally:
        for server in servers:
            server.stop()
        drop_database(url)


def login(port: int, email: str, password: str):
    cookie, token = login_form(port)
    body = urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    answer = request(port, "POST", "/login", body=body, headers=headers)
    return answer, (answer.headers.get("set-cookie") or cookie).split(";", 1)[0]


def test_two_machines_share_sessions_files_and_the_login_throttle(machines, tmp_path):
    url, (a, b) = machines
    answer, session = login(a.port, APPLICANT, PASSWORD)
    assert answer.status == 302
    mine = get(b.port, "/messages", headers={"Cookie": session})  # the session, on the other machine
    assert mine.status == 200 and "Ihre Nachrichten" in mine.body
    assert get(b.port, "/messages").status == 302  # without it: to the login

    engine = create_engine(url)
    with engine.connect() as conn:
        pid, aid = conn.execute(
            select(Proposal.id, Attachment.id)
            .join(Attachment, Attachment.proposal_id == Proposal.id)
            .join(User, User.id == Proposal.applicant_id)
            .where(User.email == APPLICANT)
            .limit(1)
        ).one()
    pdf = get(b.port, f"/proposals/{pid}/attachments/{aid}", headers={"Cookie": session})
    assert pdf.status == 200 and pdf.body.startswith("%PDF")  # stored by another process, served by this one

    for port in (a.port, b.port, a.port, b.port):  # failed logins on both machines count together
        assert login(port, "officer@foerdercall.example", "falsch")[0].status == 422
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM login_failures")) == 4
    engine.dispose()
    for name in ("a", "b"):  # no machine made a key of its own: the configuration carries it
        assert not (tmp_path / name / "instance" / "secret_key").exists()
    # each machine's /metrics adds up its worker processes' counts (gunicorn, prometheus_client's folder)
    for _ in range(6):
        get(a.port, "/health")
    scraped = get(a.port, "/metrics", headers={"Authorization": "Bearer scrape"})
    assert scraped.status == 200
    health = next(
        line
        for line in scraped.body.splitlines()
        if line.startswith('foerdercall_http_requests_total{method="GET",route="/health",status="200"}')
    )
    assert float(health.rsplit(" ", 1)[1]) >= 6
    assert 'foerdercall_mails{status="pending"}' in scraped.body

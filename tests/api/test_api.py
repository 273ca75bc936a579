"""The JSON API (issue 15): tokens made and revoked by an admin, stored hashed, audited when used; reads through
the same rules as the pages (the permission matrix, extended to the API); cursor pages; the finance system's
payments (a resend is harmless) and a survey tool's values; every error a problem document, never a page."""

from __future__ import annotations

import pathlib
import sys
from decimal import Decimal

import pytest
from conftest import PASSWORD, login
from sqlalchemy import func, select

from foerdercall.accounts.operations import create_user
from foerdercall.api.models import ApiToken
from foerdercall.api.operations import create_token
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Payment
from foerdercall.extensions import db
from foerdercall.outcomes.models import IndicatorValue
from foerdercall.policy.reading import can_view_proposal
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import save_draft
from foerdercall.text import token_digest
from foerdercall.workflow.engine import fire

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "workflows"))

from test_transitions import advance, new_draft, open_submissions  # noqa: E402

ALL = ["read", "payments:write", "indicators:write"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token_of(world, who: str, scopes=("read",)) -> str:
    _token, secret = create_token(world.admin, getattr(world, who), f"Test {who}", list(scopes))
    db.session.commit()
    return secret


@pytest.fixture
def measure(app, world, clock):
    """One measure in implementation (with targets), one proposal still a draft of the second applicant."""
    p = new_draft(world)
    save_draft(
        p, world.applicant, {"answers": {**p.answers, "place": "ot51", "targets": {"participants": 100}}}
    )
    other = new_draft(world, applicant=world.applicant2, title="Entwurf der Zweiten")
    db.session.commit()
    return advance(world, clock, p, "in_implementation"), other


def test_an_admin_makes_a_token_shown_once_stored_hashed_and_revokes_it(app, world, measure):
    admin = app.test_client()
    login(admin, world.admin.email)
    resp = admin.post(
        "/admin/api-tokens",
        data={"name": "Finanzverfahren", "email": "ka@x.test", "scopes": ["read", "payments:write"]},
    )
    assert resp.status_code == 201
    page = resp.get_data(as_text=True)
    secret = page.split('<code id="secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("fc_") and len(secret) > 40
    token = db.session.scalar(select(ApiToken))
    assert token.digest == token_digest(secret) and secret not in str(token.__dict__)
    assert secret not in admin.get("/admin/api-tokens").get_data(as_text=True)  # shown once
    assert (
        admin.post(
            "/admin/api-tokens", data={"name": "X", "email": "nobody@x.test", "scopes": ["read"]}
        ).status_code
        == 422
    )

    client = app.test_client()
    assert client.get("/api/v1/proposals", headers=bearer(secret)).status_code == 200
    uses = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "api_request"))
    assert uses == 1

    assert admin.post(f"/admin/api-tokens/{token.id}/revoke").status_code == 302
    resp = client.get("/api/v1/proposals", headers=bearer(secret))
    assert resp.status_code == 401 and resp.headers["Content-Type"] == "application/problem+json"
    assert resp.get_json()["title"] == "Unauthorized"

    other = app.test_client()
    login(other, world.ka.email)
    assert other.get("/admin/api-tokens").status_code == 403  # admins only


def test_the_api_reads_through_the_rules_of_the_pages(app, world, measure):
    """The permission matrix for the API: for each role, a proposal is readable through the API exactly when
    its page is (and the rulebook says so), and the list holds exactly those."""
    p, draft = measure
    roles = ("applicant", "applicant2", "ka", "afw", "rev1", "advisor", "admin")
    secrets = {who: token_of(world, who) for who in roles}
    for who in roles:
        user = getattr(world, who)
        api = app.test_client()
        page = app.test_client()
        login(page, user.email)
        listed = {
            item["id"]
            for item in api.get("/api/v1/proposals", headers=bearer(secrets[who])).get_json()["items"]
        }
        for q in (p, draft):
            q = db.session.get(Proposal, q.id)
            allowed = can_view_proposal(user, q)
            api_status = api.get(f"/api/v1/proposals/{q.id}", headers=bearer(secrets[who])).status_code
            page_status = page.get(f"/proposals/{q.id}").status_code
            assert (api_status == 200) == allowed == (page_status == 200), (
                who,
                q.title,
                api_status,
                page_status,
            )
            assert (q.id in listed) == allowed, (who, q.title)
    # the payments: the applicant and the officials who handle the measure; not its reviewer (the rulebook's
    # proposal.read_payments)
    payments = {
        who: app.test_client().get(f"/api/v1/proposals/{p.id}", headers=bearer(secrets[who])).get_json()
        for who in ("applicant", "ka", "rev1")
    }
    assert payments["applicant"]["award"]["payments"] == [] and payments["ka"]["award"]["payments"] == []
    assert payments["rev1"]["award"]["payments"] is None
    # nothing but the public data without a token
    guest = app.test_client()
    assert guest.get(f"/api/v1/proposals/{p.id}").status_code == 401
    assert guest.get("/api/v1/calls").status_code == 200 and guest.get("/api/v1/register").status_code == 200
    # reviews: the officials' assessment, not the applicant's
    assert guest.get(f"/api/v1/proposals/{p.id}/reviews", headers=bearer(secrets["ka"])).status_code == 200
    assert (
        guest.get(f"/api/v1/proposals/{p.id}/reviews", headers=bearer(secrets["applicant"])).status_code
        == 403
    )


def test_lists_come_in_cursor_pages_and_wrong_parameters_are_problems(app, world, clock):
    for n in range(5):
        person = create_user(f"a{n}@x.test", f"Antrag {n}", PASSWORD, roles=("applicant",))
        fire(new_draft(world, applicant=person, title=f"Angebot {n}"), "submit", person)
    db.session.commit()
    open_submissions(world, clock)
    db.session.commit()
    secret = token_of(world, "ka")
    client = app.test_client()
    seen, cursor = [], None
    while True:
        resp = client.get(
            "/api/v1/proposals",
            query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=bearer(secret),
        )
        data = resp.get_json()
        seen += [i["id"] for i in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen)
    for query in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"cursor": "%%%"},
        {"cursor": "-1"},
        {"call_id": "-1"},
    ):
        resp = client.get("/api/v1/proposals", query_string=query, headers=bearer(secret))
        assert resp.status_code == 400 and resp.headers["Content-Type"] == "application/problem+json", query
    resp = client.post("/api/v1/proposals", headers=bearer(secret))
    assert resp.status_code == 405 and resp.get_json()["status"] == 405


def test_the_finance_system_books_a_payment_once_however_often_it_sends_it(app, world, measure):
    p, _draft = measure
    secret = token_of(world, "ka", ALL)
    client = app.test_client()
    booking = {"amount_cents": 2_000_00, "reference": "HH-2026-00017", "note": "Abschlag 1"}
    first = client.post(f"/api/v1/proposals/{p.id}/payments", json=booking, headers=bearer(secret))
    assert first.status_code == 201, first.get_json()
    again = client.post(f"/api/v1/proposals/{p.id}/payments", json=booking, headers=bearer(secret))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    other = client.post(
        f"/api/v1/proposals/{p.id}/payments",
        json={**booking, "amount_cents": 3_000_00},
        headers=bearer(secret),
    )
    assert other.status_code == 422 and "anderen Betrag" in other.get_json()["detail"]
    too_much = client.post(
        f"/api/v1/proposals/{p.id}/payments", json={"amount_cents": 10**11}, headers=bearer(secret)
    )
    assert too_much.status_code == 422 and too_much.get_json()["detail"].startswith(
        "Die Zahlung überschreitet die Auftragssumme (noch offen: "
    )
    wrong = client.post(
        f"/api/v1/proposals/{p.id}/payments", json={"amount_cents": "12,50"}, headers=bearer(secret)
    )
    assert wrong.status_code == 422 and "amount_cents" in wrong.get_json()["errors"]
    assert (
        client.post(
            f"/api/v1/proposals/{p.id}/payments", data="nicht json", headers=bearer(secret)
        ).status_code
        == 400
    )
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    # a token without the scope, and a person the rules do not allow
    reader = token_of(world, "ka")
    uses = select(func.count(AuditEvent.id)).where(AuditEvent.action == "api_request")
    before = db.session.scalar(uses)
    resp = client.post(f"/api/v1/proposals/{p.id}/payments", json=booking, headers=bearer(reader))
    assert resp.status_code == 403
    assert db.session.scalar(uses) == before + 1  # a refused use is audited too
    applicant = token_of(world, "applicant", ALL)
    resp = client.post(
        f"/api/v1/proposals/{p.id}/payments", json={**booking, "reference": "X"}, headers=bearer(applicant)
    )
    assert resp.status_code == 422 and db.session.scalar(select(func.count(Payment.id))) == 1
    audit = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.in_(("record_payment", "api_request")))
    )
    assert sorted(audit).count("record_payment") == 1


def test_a_survey_tool_reports_values_each_wrong_one_named(app, world, measure):
    p, _draft = measure
    secret = token_of(world, "afw", ["read", "indicators:write"])
    client = app.test_client()
    resp = client.post(
        f"/api/v1/proposals/{p.id}/indicator-values",
        json={"values": {"participants": -1, "visitors": 5, "jobs": "1,5"}},
        headers=bearer(secret),
    )
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {
        "participants": "Bitte eine Zahl ab 0.",
        "visitors": "Diesen Indikator hat der Aufruf nicht: visitors.",
        "jobs": "A number: a JSON number or a string like 12.5.",  # never read as 15
    }
    assert db.session.scalar(select(func.count(IndicatorValue.id))) == 0
    resp = client.post(
        f"/api/v1/proposals/{p.id}/indicator-values",
        json={"values": {"participants": 42, "jobs": 1.5}, "comments": {"participants": "Umfrage Mai"}},
        headers=bearer(secret),
    )
    assert resp.status_code == 201
    data = client.get(f"/api/v1/proposals/{p.id}/indicators", headers=bearer(secret)).get_json()
    assert {"key": "participants", "unit": "Personen", "planned": "100", "achieved": "42"} in data[
        "planned_and_achieved"
    ]
    assert {v["source"] for v in data["values"]} == {"api"}
    assert db.session.scalar(
        select(IndicatorValue.value).where(IndicatorValue.indicator == "jobs")
    ) == Decimal("1.5")

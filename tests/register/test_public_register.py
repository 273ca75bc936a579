"""The public register of awarded measures: page, CSV and JSON show what was awarded and how far it got,
and nothing of what was not awarded (or not yet accepted); private persons are not named."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import berlin, fill_draft
from sqlalchemy import select

from foerdercall.awards.models import Milestone
from foerdercall.awards.operations import accept_milestone, make_award, report_milestone, sign_off
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire

ORG_TITLE = "Klangwerkstatt Plagwitz"
PRIVATE_TITLE = '=HYPERLINK("http://x") Siebdruck <b>'
NOT_ACCEPTED = "Noch nicht angenommen 4Z"
REJECTED = "Abgelehnt Lindenau 8K"
DRAFT = "Nur ein Entwurf 2P"


def _review(world, p, value):
    sign_neutrality(p.call, world.rev1)
    r = assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, world.rev1, False)
    save_review(r, world.rev1, {c.id: (value, "ok") for c in p.call.criteria}, submit=True)


@pytest.fixture
def register_world(app, world, clock):
    """Two measures in implementation (one of an organisation, one of a private person), one awarded but
    not accepted, one rejected, one draft."""
    from foerdercall.accounts import operations as account_ops

    world.applicant.organisation = "Kollektiv Plagwitz e. V."
    third = account_ops.create_user(
        "app3@x.test", "Clara Privat", "correct horse battery", roles=("applicant",)
    )
    fourth = account_ops.create_user(
        "app4@x.test", "Dora Dritte", "correct horse battery", roles=("applicant",)
    )
    db.session.commit()
    specs = [
        (world.applicant, ORG_TITLE, 12_345_00),
        (world.applicant2, PRIVATE_TITLE, 8_000_00),
        (third, NOT_ACCEPTED, 5_000_00),
        (fourth, REJECTED, 5_000_00),
    ]
    ps = []
    for user, title, amount in specs:
        p = fill_draft(start_draft(world.call, user), user, amount=amount, title=title)
        fire(p, "submit", user)
        ps.append(p)
    fill_draft(start_draft(world.call, third), third, title=DRAFT)
    db.session.commit()
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    for p in ps:
        fire(p, "declare_eligible", world.ka)
        _review(world, p, 4)
        if p.title == REJECTED:
            sign_off(p, world.ka, "reject", "Zu teuer")
            continue
        sign_off(p, world.ka, "approve")
        sign_off(p, world.afw, "approve")
        make_award(p, world.ka)
    clock.set(berlin(2026, 11, 5, 10, 0))
    fire(ps[0], "accept_award", world.applicant)
    fire(ps[1], "accept_award", world.applicant2)
    db.session.commit()
    ms = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == ps[0].id).order_by(Milestone.position)
    ).all()
    clock.set(berlin(2026, 11, 20, 10, 0))
    report_milestone(ms[0], world.applicant, "Kick-off erledigt")
    accept_milestone(ms[0], world.ka)
    ms2 = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == ps[1].id).order_by(Milestone.position)
    ).all()
    report_milestone(ms2[0], world.applicant2, "Gestartet")
    db.session.commit()
    clock.set(berlin(2026, 12, 10, 10, 0))  # after the first milestones' due date (5.12.)
    return ps


def test_register_page_lists_awarded_measures_with_milestones(app, register_world):
    page = app.test_client().get("/public-register", headers={"Accept-Language": "de"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ORG_TITLE in html and "Kollektiv Plagwitz e. V." in html and "12.345,00\xa0€" in html
    assert "=HYPERLINK(&#34;http://x&#34;) Siebdruck &lt;b&gt;" in html and "8.000,00\xa0€" in html
    assert "Privatperson (nicht veröffentlicht)" in html
    assert "Kreativwirtschaft 2026" in html and "Netzwerke" in html
    assert "05.11.2026 – 05.11.2027" in html  # implementation period from the acceptance
    assert "Meilensteine: 1 von 2 abgenommen" in html
    assert "Projektstart / Kick-off – fällig 05.12.2026: <strong>abgenommen</strong>" in html
    assert "berichtet, Abnahme offen" in html
    # nothing unawarded, no person's name
    for leak in (
        NOT_ACCEPTED,
        REJECTED,
        DRAFT,
        "Ada Applicant",
        "Bruno Applicant",
        "Clara Privat",
        "Zu teuer",
    ):
        assert leak not in html, leak


def test_register_open_data_csv_and_json(app, register_world):
    client = app.test_client()
    resp = client.get("/public-register.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    data = json.loads(resp.data)["measures"]
    assert [m["title"] for m in data] == [ORG_TITLE, PRIVATE_TITLE]
    org, private = data
    assert org["recipient"] == "Kollektiv Plagwitz e. V." and private["recipient"] is None
    assert (org["amount_cents"], org["amount_eur"]) == (12_345_00, "12345.00")
    assert org["call_code"] == "KW26" and org["field_of_action"] == "networks"
    assert (org["implementation_start"], org["implementation_end"]) == ("2026-11-05", "2027-11-05")
    assert [(m["title"], m["due"], m["status"]) for m in org["milestones"]] == [
        ("Projektstart / Kick-off", "2026-12-05", "accepted"),
        ("Halbzeit: Zwischenstand / Mid-term", "2027-05-05", "planned"),
    ]
    assert [m["status"] for m in private["milestones"]] == ["reported", "planned"]
    for leak in (NOT_ACCEPTED, REJECTED, DRAFT, "Bruno Applicant", "Ada Applicant"):
        assert leak.encode() not in resp.data

    resp = client.get("/public-register.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["title"] for r in rows] == [ORG_TITLE, "'" + PRIVATE_TITLE]  # no formula in a spreadsheet
    assert rows[0]["amount_eur"] == "12345.00" and rows[0]["recipient"] == "Kollektiv Plagwitz e. V."
    assert (rows[0]["milestones_total"], rows[0]["milestones_accepted"]) == ("2", "1")
    assert rows[1]["recipient"] == "" and rows[1]["milestones_reported"] == "1"
    for leak in (NOT_ACCEPTED, REJECTED, DRAFT, "Bruno Applicant"):
        assert leak.encode() not in resp.data


def test_overdue_milestones_and_the_filter_by_call(app, world, clock, register_world):
    p = register_world[1]
    ms = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == register_world[0].id).order_by(Milestone.position)
    ).all()
    clock.set(berlin(2027, 6, 1, 10, 0))  # past the mid-term milestone (5.5.2027), not reported
    data = json.loads(app.test_client().get(f"/public-register.json?call={world.call.id}").data)["measures"]
    assert [m["status"] for m in data[0]["milestones"]] == ["accepted", "overdue"]
    assert ms[1].reported_at is None and p.state == "in_implementation"
    assert app.test_client().get("/public-register?call=9999").status_code == 404
    assert app.test_client().get("/public-register.csv?call=abc").status_code == 404


def test_empty_register_and_english(app, world):
    client = app.test_client()
    html = client.get("/public-register", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Register of awarded measures" in html and "No awarded measures yet." in html
    assert json.loads(client.get("/public-register.json").data) == {"measures": []}


@pytest.mark.parametrize(
    "raw", ["²", "٣", "99999999999", str(2**31), "2147483648", "-1", "1.0", "0x1", " 1", "", "a"]
)
@pytest.mark.parametrize("page", ["/public-register", "/public-register.csv", "/public-register.json"])
def test_a_hand_made_call_filter_is_a_404_or_ignored_never_a_500(app, world, page, raw):
    """?call=² passed str.isdigit() and broke int(); an id past PostgreSQL's integer broke the query."""
    resp = app.test_client().get(page, query_string={"call": raw})
    assert resp.status_code == (200 if raw == "" else 404), resp.status_code
    if resp.status_code == 404 and page == "/public-register":
        assert "Diese Seite gibt es nicht" in resp.get_data(as_text=True)

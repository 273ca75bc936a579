"""Offices are data: admins keep them, a call names the offices that decide it, and the sign-off rule holds for
any set of offices."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PASSWORD, fill_draft, login, review_after_deadline
from sqlalchemy import select

from foerdercall.accounts.operations import create_user
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.operations import sign_off
from foerdercall.calls.operations import correct_call, create_call
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.offices.models import Office
from foerdercall.offices.operations import save_office
from foerdercall.privacy.notice import default_privacy_notice
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire
from workflows import ProposalState

ROOT = Path(__file__).resolve().parents[2]


def _youth_office(world, **kw) -> Office:
    office = save_office(
        world.admin,
        None,
        key="JA",
        short_name="JA",
        name="Amt für Jugend und Familie",
        address="Stadt Leipzig, Amt für Jugend und Familie, 04092 Leipzig",
        **kw,
    )
    db.session.commit()
    return office


def _reviewed(world, clock) -> Proposal:
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    review_after_deadline(world, clock, world.call, p)
    db.session.commit()
    return p


def test_an_admin_keeps_the_offices_on_their_pages(app, world):
    client = app.test_client()
    login(client, world.admin.email)
    new = {
        "key": "JA",
        "short_name": "JA",
        "name": "Amt für Jugend und Familie",
        "head_name": "Dr. Erika Muster",
        "email": "jugendamt@leipzig.example",
        "address": "Naumburger Straße 26, 04229 Leipzig",
    }
    r = client.post("/admin/offices/new", data=new)
    assert r.status_code == 302
    page = client.get("/admin/offices").get_data(as_text=True)
    assert "Amt für Jugend und Familie" in page and "Dr. Erika Muster" in page
    office = db.session.scalar(select(Office).where(Office.key == "JA"))
    assert not office.decides_by_default
    assert (
        db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "offices"))
        == "create_office"
    )

    # the same key again: refused on the form, with what was typed kept
    r = client.post("/admin/offices/new", data={**new, "short_name": "JuFa", "name": "Zweites Jugendamt"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Das Kürzel „JA“ ist bereits vergeben." in page and 'value="Zweites Jugendamt"' in page
    # a short name another office has, and an address that is none: refused, named
    r = client.post("/admin/offices/new", data={**new, "key": "JB", "short_name": "KA"})
    assert "Die Kurzbezeichnung „KA“ hat bereits ein anderes Amt." in r.get_data(as_text=True)
    r = client.post("/admin/offices/new", data={**new, "key": "JB", "email": "kein-mail"})
    assert r.status_code == 422 and 'value="kein-mail"' in r.get_data(as_text=True)
    # several problems: all at once
    page = client.post("/admin/offices/new", data={**new, "short_name": "KA", "email": "kein-mail"}).get_data(
        as_text=True
    )
    assert "Das Kürzel „JA“ ist bereits vergeben." in page
    assert "Die Kurzbezeichnung „KA“ hat bereits ein anderes Amt." in page
    assert "Ungültige E-Mail-Adresse." in page
    assert db.session.scalar(select(Office.id).where(Office.key == "JB")) is None

    # changed: the pages show the new short name; the key stays
    r = client.post(
        f"/admin/offices/{office.id}", data={**new, "short_name": "JuFa", "decides_by_default": "y"}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert (office.key, office.short_name, office.decides_by_default) == ("JA", "JuFa", True)
    # the roles page offers it, and a new call is decided by it too from now on
    assert "JuFa – Amt für Jugend und Familie" in client.get(f"/admin/users/{world.ka.id}").get_data(
        as_text=True
    )
    login(client, world.ka.email)
    form = client.get("/calls/new").get_data(as_text=True)
    assert re.search(
        r'<input checked id="deciding_offices-\d" name="deciding_offices"[^>]* value="JA">', form
    )


def test_only_admins_keep_offices(app, world):
    with pytest.raises(ActionRefused, match="Nur die Verwaltung der Konten pflegt die Ämter."):
        save_office(world.ka, None, key="JA", short_name="JA", name="Jugendamt")
    client = app.test_client()
    login(client, world.ka.email)
    assert client.get("/admin/offices").status_code == 403


def test_a_call_of_three_offices_needs_a_sign_off_from_each(app, world, clock):
    _youth_office(world)
    ja = create_user("ja@x.test", "Jana Jugendamt", PASSWORD, roles=("official",), office="JA")
    correct_call(
        world.call, world.ka, "Das Jugendamt entscheidet mit.", deciding_offices=["KA", "AfWiFoe", "JA"]
    )
    db.session.commit()
    p = _reviewed(world, clock)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    db.session.commit()
    assert db.session.get(Proposal, p.id).state == ProposalState.REVIEWED  # the third office is missing
    with pytest.raises(ActionRefused, match="Ihr Amt hat bereits gezeichnet"):
        sign_off(p, world.ka2, "approve")
    db.session.rollback()
    sign_off(db.session.get(Proposal, p.id), ja, "approve")
    db.session.commit()
    assert db.session.get(Proposal, p.id).state == ProposalState.APPROVED


def test_a_call_of_one_office_is_decided_by_its_sign_off_alone(app, world, clock):
    correct_call(world.call, world.ka, "Nur das Kulturamt entscheidet.", deciding_offices=["KA"])
    db.session.commit()
    p = _reviewed(world, clock)
    with pytest.raises(
        ActionRefused, match=r"Nur Mitarbeitende der entscheidenden Ämter dieses Aufrufs \(KA\)"
    ):
        sign_off(p, world.afw, "approve")
    db.session.rollback()
    sign_off(db.session.get(Proposal, p.id), world.ka, "approve")
    db.session.commit()
    assert db.session.get(Proposal, p.id).state == ProposalState.APPROVED


def test_a_call_needs_a_deciding_office_that_exists(app, world):
    with pytest.raises(ActionRefused, match="Bitte wählen Sie mindestens ein entscheidendes Amt."):
        correct_call(world.call, world.ka, "ohne Amt", deciding_offices=[])
    db.session.rollback()
    with pytest.raises(ActionRefused, match="Unbekanntes Amt: XY."):
        correct_call(world.call, world.ka, "ein Amt, das es nicht gibt", deciding_offices=["XY"])
    db.session.rollback()
    assert db.session.get(type(world.call), world.call.id).deciding_offices == ["KA", "AfWiFoe"]


def _new_call(world, code: str, **kw):
    return create_call(
        world.ka,
        code=code,
        title=f"Jugendkultur {code}",
        fields_of_action=["networks"],
        budget_cents=10_000_00,
        max_amount_cents=5_000_00,
        opens_at=world.call.opens_at,
        submission_deadline=world.call.submission_deadline,
        **kw,
    )


def test_a_new_call_is_decided_by_the_offices_that_decide_by_default(app, world):
    _youth_office(world, decides_by_default=True)
    call = _new_call(world, "JK27", deciding_offices=["JA", "KA"])
    assert call.deciding_offices == ["JA", "KA"]
    notice = default_privacy_notice(call)
    assert (
        "Verantwortlich: Stadt Leipzig, Amt für Jugend und Familie und Kulturamt (Stadt Leipzig, Amt für Jugend "
        "und Familie, 04092 Leipzig; Martin-Luther-Ring 4–6, 04109 Leipzig)" in notice
    )
    assert "Wirtschaftsförderung" not in notice
    assert _new_call(world, "JK28").deciding_offices == ["KA", "AfWiFoe", "JA"]


# What may name an office: the migration that created the first two, the demo data, and tests.
OFFICE_NAMES = re.compile(r"AfWiF|Kulturamt|Wirtschaftsförderung|Jugendamt|[\"']KA[\"']|official:KA")


def test_no_office_is_named_in_code():
    found = []
    for folder in ("foerdercall", "forms", "worker", "workflows", "templates"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".html", ".txt", ".js") or path.name == "demo.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if OFFICE_NAMES.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []

"""Open data in the field's standards (issue 15): an OCDS release package of a procurement call and a 360Giving grant
package of a grant call, each valid against the standard's schema (kept here, from the standards' repositories:
OCDS 1.1, 360Giving 1.4), and without the name of a private person."""

from __future__ import annotations

import json
import pathlib
import sys
from decimal import Decimal

import pytest
from conftest import berlin, fill_draft
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012
from sqlalchemy import select

from foerdercall.awards.models import Award, Milestone
from foerdercall.awards.operations import accept_milestone, record_payment, report_milestone
from foerdercall.calls.operations import create_call
from foerdercall.extensions import db
from foerdercall.proposals.operations import save_draft, start_draft
from foerdercall.workflow.engine import fire

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "workflows"))

from test_transitions import advance, new_draft  # noqa: E402

SCHEMAS = pathlib.Path(__file__).with_name("schemas")


def _load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def ocds_errors(package: dict) -> list[str]:
    release = _load("ocds-1.1.5-release-schema.json")
    registry = Registry().with_resource(release["id"], Resource(release, DRAFT4))
    validator = Draft4Validator(
        _load("ocds-1.1.5-release-package-schema.json"), registry=registry, format_checker=FormatChecker()
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(package)]


def giving_errors(package: dict) -> list[str]:
    grant = _load("360-giving-schema.json")
    url = "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json"
    registry = Registry().with_resource(url, Resource(grant, DRAFT202012))
    validator = Draft202012Validator(
        _load("360-giving-package-schema.json"), registry=registry, format_checker=FormatChecker()
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(package)]


def test_a_procurement_call_is_an_ocds_release_package(app, world, clock):
    p = new_draft(world)
    save_draft(p, world.applicant, {"answers": {**p.answers, "place": "ot51"}})
    db.session.commit()
    p = advance(world, clock, p, "in_implementation")
    award = db.session.scalar(select(Award))
    first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
    report_milestone(first, world.applicant, "Auftakt erledigt")
    accept_milestone(first, world.ka)
    record_payment(p, world.ka, 2_500_00, reference="HH-1")
    db.session.commit()

    resp = app.test_client().get(f"/calls/{world.call.id}/open-data/ocds.json")
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "*"
    package = resp.get_json()
    assert ocds_errors(package) == []
    assert ocds_errors({"version": "1.1", "releases": [{"ocid": 1}]})  # the validator does refuse
    (release,) = package["releases"]
    assert release["ocid"].endswith("-KW26") and set(release["tag"]) == {
        "tender",
        "award",
        "contract",
        "implementation",
    }
    (contract,) = release["contracts"]
    assert contract["value"] == {"amount": award.amount_cents / 100, "currency": "EUR"}
    assert contract["implementation"]["milestones"][0]["status"] == "met"
    assert contract["implementation"]["transactions"][0]["value"] == {"amount": 2500.0, "currency": "EUR"}
    # the world's applicant has no organisation: a private person, never named
    assert world.applicant.name not in json.dumps(package, ensure_ascii=False)
    assert release["awards"][0]["suppliers"][0]["name"] == "Privatperson (nicht veröffentlicht)"
    assert app.test_client().get(f"/calls/{world.call.id}/open-data/360giving.json").status_code == 404


@pytest.fixture
def grant_call(app, world, clock):
    call = create_call(
        world.ka,
        code="JG27",
        title="Jugendkultur 2027",
        description="Zuwendungen",
        mode="grant",
        fields_of_action=["networks"],
        budget_cents=40_000_00,
        max_amount_cents=20_000_00,
        estimated_value_cents=40_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 10, 31, 23, 59),
        reviewers_per_proposal=1,
    )
    from conftest import publish

    publish(call, world.ka)
    db.session.commit()
    return call


def test_a_grant_call_is_a_360giving_package(app, world, clock, grant_call):
    from conftest import PASSWORD, award_after_deadline

    from foerdercall.accounts.operations import create_user

    org = create_user("verein@x.test", "Vera Verein", PASSWORD, organisation="Kulturverein Connewitz e. V.")
    p = fill_draft(start_draft(grant_call, org), org, title="Sommerbühne Connewitz")
    save_draft(p, org, {"answers": {**p.answers, "place": "ot41", "targets": {"participants": 300}}})
    fire(p, "submit", org)
    award_after_deadline(world, clock, grant_call, p)
    fire(p, "accept_award", org)
    record_payment(p, world.ka, 5_000_00)
    db.session.commit()

    package = app.test_client().get(f"/calls/{grant_call.id}/open-data/360giving.json").get_json()
    assert giving_errors(package) == []
    assert giving_errors({"grants": [{**package["grants"][0], "amountAwarded": "viel"}]})  # it does refuse
    (grant,) = package["grants"]
    assert grant["recipientOrganization"] == [
        {"id": f"applicant-{org.id}", "name": "Kulturverein Connewitz e. V."}
    ]
    assert (
        grant["amountDisbursed"] == 5000.0 and grant["beneficiaryLocation"][0]["name"] == "Leipzig, Connewitz"
    )
    assert "Vera Verein" not in json.dumps(package, ensure_ascii=False)
    assert app.test_client().get(f"/calls/{grant_call.id}/open-data/ocds.json").status_code == 404
    assert Decimal(str(grant["amountAwarded"])) > 0

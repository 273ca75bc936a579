"""What a measure achieved (issue 15): the targets in the proposal, the values in the reports, checked by an
official, and the progress the pages show. A value that is wrong is an error at its field; the report's text is
kept and nothing is stored."""

from __future__ import annotations

import io
import pathlib
import sys
from decimal import Decimal

import pytest
from conftest import PDF, login
from sqlalchemy import func, select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award, Milestone, Report
from foerdercall.awards.operations import (
    accept_milestone,
    record_payment,
    report_milestone,
    submit_interim_report,
)
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.outcomes.models import IndicatorValue
from foerdercall.outcomes.operations import confirm_value, correct_value
from foerdercall.outcomes.queries import measure_progress
from foerdercall.outcomes.values import read_values
from foerdercall.proposals.models import Attachment, Proposal
from foerdercall.proposals.operations import save_draft

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "workflows"))

from test_transitions import advance, new_draft  # noqa: E402

TARGETS = {"participants": 200, "events": 4, "jobs": "1.5"}


def _measure(world, clock, place="ot51", targets=TARGETS):
    """A measure in implementation whose proposal planned ``targets`` in Plagwitz (Ortsteil 51)."""
    p = new_draft(world)
    save_draft(p, world.applicant, {"answers": {**p.answers, "place": place, "targets": targets}})
    db.session.commit()
    return advance(world, clock, p, "in_implementation")


def _values(p) -> dict[str, Decimal]:
    db.session.expire_all()
    return {
        v.indicator: v.counted
        for v in db.session.scalars(select(IndicatorValue).where(IndicatorValue.proposal_id == p.id))
    }


def test_the_proposal_plans_targets_in_a_place_and_the_reports_bring_what_was_achieved(app, world, clock):
    p = _measure(world, clock)
    assert p.place == "ot51" and p.answers["targets"] == {"participants": 200, "events": 4, "jobs": "1.5"}
    client = app.test_client()
    login(client, "app@x.test")
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Fortschritt und Wirkung" in page and "Bisher erreicht" in page
    assert "Teilnehmende (Personen)" in page and "noch nicht gemeldet" in page

    resp = client.post(
        f"/proposals/{p.id}/reports/interim",
        data={
            "narrative": "Halbzeit",
            "value-participants": "1.234",  # German: one thousand two hundred and thirty-four
            "comment-participants": "Zählung an der Tür",
            "value-jobs": "0,5",
            "evidence": (io.BytesIO(PDF), "teilnehmerliste.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _values(p) == {"participants": Decimal(1234), "jobs": Decimal("0.5")}
    v = db.session.scalar(select(IndicatorValue).where(IndicatorValue.indicator == "participants"))
    assert v.comment == "Zählung an der Tür" and v.state == "reported" and v.report.kind == "interim"
    assert v.evidence.kind == "evidence" and v.evidence.download_name == "teilnehmerliste.pdf"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "submit_interim_report").order_by(AuditEvent.id.desc())
    ).first()
    assert event.data["indicators"] == {"participants": "1234", "jobs": "0.5"}

    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "Zählung an der Tür" in page and "teilnehmerliste.pdf" in page
    progress = measure_progress(db.session.get(Proposal, p.id), db.session.scalar(select(Award)))
    shares = {i.indicator.key: i.share for i in progress.indicators}
    # more than planned counts as all of it; a target without a value as nothing yet
    assert shares == {"participants": 1.0, "events": 0.0, "jobs": pytest.approx(1 / 3)}
    assert progress.indicator_share == pytest.approx((1 + 0 + 1 / 3) / 3)


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("value-participants", "-3", "Bitte eine Zahl ab 0."),
        ("value-participants", "2,5", "Bitte geben Sie eine ganze Zahl ein."),
        (
            "value-participants",
            "120 Personen",
            "Bitte geben Sie nur die Zahl ein, in Personen (ohne Einheit).",
        ),
        ("value-follow_up_funding", "viel", "Bitte geben Sie nur die Zahl ein, in Euro (ohne Einheit)."),
    ],
)
def test_a_wrong_value_is_an_error_at_its_field_and_the_report_text_is_kept(
    app, world, clock, field, typed, message
):
    p = _measure(world, clock)
    client = app.test_client()
    login(client, "app@x.test")
    resp = client.post(
        f"/proposals/{p.id}/reports/interim",
        data={"narrative": "Mein langer Sachbericht", "value-events": "3", field: typed},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'id="report-interim-{field}-err">{message}' in html
    assert "Mein langer Sachbericht</textarea>" in html and 'value="3"' in html  # nothing typed is lost
    assert _values(p) == {} and db.session.scalar(select(Report.id)) is None


def test_a_value_for_an_indicator_the_call_does_not_have_is_refused(app, world, clock):
    p = _measure(world, clock)
    with pytest.raises(ActionRefused, match="Diesen Indikator hat der Aufruf nicht: visitors"):
        submit_interim_report(p, world.applicant, "Halbzeit", "", 0, values={"visitors": (Decimal(5), "")})
    db.session.rollback()
    assert _values(p) == {}


def test_evidence_without_values_is_refused_and_the_file_is_not_kept(app, world, clock):
    p = _measure(world, clock)
    client = app.test_client()
    login(client, "app@x.test")
    resp = client.post(
        f"/proposals/{p.id}/reports/interim",
        data={"narrative": "Halbzeit", "evidence": (io.BytesIO(PDF), "beleg.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert "Bitte geben Sie die Werte an, die der Nachweis belegt." in resp.get_data(as_text=True)
    assert db.session.scalar(select(Attachment.id).where(Attachment.kind == "evidence")) is None


def test_an_official_confirms_or_corrects_a_value_with_a_reason_and_both_are_audited(app, world, clock):
    p = _measure(world, clock)
    submit_interim_report(
        p,
        world.applicant,
        "Halbzeit",
        "",
        0,
        values={"participants": (Decimal(250), ""), "events": (Decimal(3), "")},
    )
    db.session.commit()
    rows = {v.indicator: v for v in db.session.scalars(select(IndicatorValue))}

    applicant = app.test_client()
    login(applicant, "app@x.test")
    assert applicant.post(f"/proposals/{p.id}/values/{rows['events'].id}/confirm").status_code == 403

    official = app.test_client()
    login(official, "ka@x.test")
    assert official.post(f"/proposals/{p.id}/values/{rows['events'].id}/confirm").status_code == 302
    resp = official.post(f"/proposals/{p.id}/values/{rows['participants'].id}/correct", data={"value": "180"})
    vid = rows["participants"].id
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422  # no reason: said at its field, the value kept, nothing changed
    assert f'id="correct-{vid}-reason-err">Bitte begründen Sie die Berichtigung.' in page
    assert f'id="correct-{vid}-value" name="value"' in page and 'value="180"' in page
    assert _values(p)["participants"] == 250
    resp = official.post(
        f"/proposals/{p.id}/values/{vid}/correct", data={"value": "17,5", "reason": "halbe Person gezählt"}
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "halbe Person gezählt</textarea>" in page
    assert f'id="correct-{vid}-value-err">Bitte geben Sie eine ganze Zahl ein.' in page
    assert _values(p)["participants"] == 250
    resp = official.post(
        f"/proposals/{p.id}/values/{rows['participants'].id}/correct",
        data={"value": "180", "reason": "Doppelt gezählte Teilnehmende laut Liste abgezogen."},
    )
    assert resp.status_code == 302
    assert _values(p) == {"participants": 180, "events": 3}
    page = official.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert (
        "Berichtigt" in page
        and "gemeldet: 250" in page
        and "Doppelt gezählte" in page
        and "Bestätigt" in page
    )
    audit = {
        e.action: e
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "indicator_values"))
    }
    assert audit["confirm_value"].to_state == "confirmed" and audit["confirm_value"].actor_id == world.ka.id
    assert (
        audit["correct_value"].data["before"] == "250" and audit["correct_value"].data["corrected"] == "180"
    )
    assert audit["correct_value"].reason == "Doppelt gezählte Teilnehmende laut Liste abgezogen."
    v = db.session.get(IndicatorValue, rows["participants"].id)
    with pytest.raises(ActionRefused, match="ganze Zahl"):
        correct_value(v, world.ka, "17,5", "halbe Person")
    db.session.rollback()
    # confirmed once: the button is gone; the same click again does nothing more
    confirm_value(db.session.get(IndicatorValue, rows["events"].id), world.ka)
    db.session.commit()
    assert (
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "confirm_value")) == 1
    )


def test_progress_counts_milestones_money_and_targets(app, world, clock):
    p = _measure(world, clock)
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    milestones = db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).all()
    assert milestones
    report_milestone(milestones[0], world.applicant, "erledigt")
    accept_milestone(milestones[0], world.ka)
    record_payment(p, world.ka, award.amount_cents // 4)
    db.session.commit()
    progress = measure_progress(db.session.get(Proposal, p.id), award)
    assert (progress.milestones_done, progress.milestones_total) == (1, len(milestones))
    assert progress.money_share == pytest.approx(0.25)
    assert progress.indicator_share == 0.0  # planned, nothing reported yet
    client = app.test_client()
    login(client, "app@x.test")
    html = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert f"1 von {len(milestones)} Meilenstein" in html and "ausgezahlt" in html and "0 % erreicht" in html


def test_the_public_register_shows_place_progress_and_indicators_without_personal_data(app, world, clock):
    p = _measure(world, clock)
    submit_interim_report(
        p, world.applicant, "Halbzeit", "", 0, values={"participants": (Decimal(50), "Liste")}
    )
    db.session.commit()
    client = app.test_client()
    (m,) = client.get("/public-register.json").get_json()["measures"]
    assert (m["place"], m["place_name"], m["district_name"]) == ("ot51", "Plagwitz", "Südwest")
    assert m["progress"] == {
        "milestones": 0.0,
        "money_paid": 0.0,
        "indicators": pytest.approx(0.25 / 3, abs=1e-4),
    }
    assert m["indicators"][0] == {
        "key": "participants",
        "name": "Teilnehmende",
        "name_en": "Participants",
        "unit": "Personen",
        "planned": "200",
        "achieved": "50",
        "checked": False,
    }
    assert "Liste" not in str(m)  # the contractor's comments stay inside
    html = client.get("/public-register").get_data(as_text=True)
    assert "Plagwitz" in html and "Teilnehmende: 50 von 200 Personen" in html
    csv_text = client.get("/public-register.csv").get_data(as_text=True)
    assert "Teilnehmende: 50 / 200 Personen" in csv_text and "Südwest" in csv_text


def test_an_indicator_of_a_field_of_action_is_planned_and_reported_only_in_that_field(app, world, clock):
    """An indicator with a field of action (here: trade fairs, for marketing) is not asked of a networks measure:
    a target for it is an error at the question, the report form does not ask it, a value sent is refused."""
    import copy

    from sqlalchemy import update

    from foerdercall.calls.models import Call

    form = copy.deepcopy(db.session.get(Call, world.call.id).application_form)
    question = next(q for s in form["sections"] for q in s["questions"] if q["type"] == "indicators")
    question["indicators"].append(
        {
            "key": "fairs",
            "label": {"de": "Messeauftritte", "en": "Trade fairs"},
            "unit": "",
            "field": "marketing",
        }
    )
    db.session.execute(update(Call).where(Call.id == world.call.id).values(application_form=form))
    db.session.commit()
    p = new_draft(world)  # networks
    client = app.test_client()
    login(client, "app@x.test")
    draft = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert "Messeauftritte – nur im Handlungsfeld Marketing" in draft  # the form says whose it is
    with pytest.raises(ActionRefused, match="gehören zu einem anderen Handlungsfeld: Messeauftritte"):
        save_draft(p, world.applicant, {"answers": {**p.answers, "targets": {"fairs": 3, "events": 2}}})
    db.session.rollback()
    p = _measure(world, clock, targets={"events": 2})
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "value-events" in page and "value-fairs" not in page  # the report asks only its field's
    resp = client.post(
        f"/proposals/{p.id}/reports/interim", data={"narrative": "Halbzeit", "value-fairs": "1"}
    )
    assert resp.status_code == 302 and _values(p) == {}  # a field the form does not have: not read
    entry = read_values(p.call.form_definition, {"fairs": "1"}, {}, "en", p.field_of_action)  # the API's way
    assert entry.errors == {"fairs": "Dieser Indikator gehört zu einem anderen Handlungsfeld."}
